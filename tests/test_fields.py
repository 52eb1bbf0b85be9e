"""One declaration of the invoice table: the reader, the stages and the settings agree with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import invoice, write_xlsx
from relance_xlsx import history, ledger, pipeline, policy
from relance_xlsx.config import Settings
from relance_xlsx.fields import (
    AMOUNT,
    BY_NAME,
    CANONICAL_FIELDS,
    COLUMNS,
    DATE,
    DTYPES,
    FIELDS,
    FLAG,
    HISTORY,
    INT,
    LEDGER,
    PIPELINE,
    POLICY,
    READER_COLUMNS,
    SYNONYMS,
    TEXT,
    declared,
    invoice_table,
    require_columns,
    stage_columns,
)
from relance_xlsx.journal import JournalData
from relance_xlsx.parsing import normalise
from relance_xlsx.reader import read_export
from relance_xlsx.settings_file import default_settings_text

RUN = date(2026, 11, 23)
SAMPLE = Path(__file__).resolve().parent.parent / "sample_workbooks" / "echeancier_clients.xlsx"


def dtypes(df: pd.DataFrame) -> dict[str, object]:
    return {c: df[c].dtype for c in df.columns}


def kinds(df: pd.DataFrame) -> dict[str, str]:
    """What each column holds, whatever the string dtype or the datetime unit pandas chose."""
    out = {}
    for c in df.columns:
        dtype = df[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[c] = FLAG
        elif pd.api.types.is_integer_dtype(dtype):
            out[c] = INT
        elif pd.api.types.is_float_dtype(dtype):
            out[c] = AMOUNT
        elif pd.api.types.is_datetime64_dtype(dtype):
            out[c] = DATE
        else:
            out[c] = TEXT if pd.api.types.is_string_dtype(dtype) else str(dtype)
    return out


def test_the_reader_builds_the_declared_table():
    read = read_export(SAMPLE, Settings())
    assert list(read.invoices.columns) == list(READER_COLUMNS)
    assert dtypes(read.invoices) == {c: DTYPES[c] for c in READER_COLUMNS}
    # the builder, given the reader's own table, gives it back unchanged
    pd.testing.assert_frame_equal(invoice_table(read.invoices), read.invoices)


def test_each_stage_adds_what_it_declares():
    read = read_export(SAMPLE, Settings())
    ledger_out = ledger.settle(read.invoices)
    history_out = history.merge_history(ledger_out, JournalData.empty(), RUN)
    classified, _ = pipeline.classify_export(read, Settings(), JournalData.empty(),
                                             RUN)  # fmt: skip
    added_by_ledger = set(ledger_out.columns) - set(read.invoices.columns)
    added_by_history = set(history_out.columns) - set(ledger_out.columns)
    added_by_policy = set(classified.columns) - set(history_out.columns)
    assert added_by_ledger == set(ledger.ADDS) == set(stage_columns(LEDGER))
    assert added_by_history == set(history.ADDS) == set(stage_columns(HISTORY))
    assert added_by_policy == set(policy.ADDS) == set(stage_columns(POLICY))
    assert set(pipeline.ADDS) == set(stage_columns(PIPELINE))
    assert kinds(classified) == {c: BY_NAME[c].kind for c in classified.columns}
    for stage, needs, table in ((ledger, ledger.NEEDS, read.invoices),
                                (history, history.NEEDS, ledger_out),
                                (policy, policy.NEEDS, history_out)):  # fmt: skip
        assert set(needs) <= set(table.columns), stage.__name__


def test_in_memory_table_defaults_and_keys():
    table = invoice_table([
        {"numero_facture": "F 1", "client": "Société Générale", "date_echeance": date(2026, 9, 1),
         "montant_ttc": 100.0, "reste_du": 100.0, "niveau_export": 2},
        {"numero_facture": "F2", "client": "Beta", "code_client": " c2 ",
         "date_echeance": "2026-09-02", "reste_du": 50, "niveau": 1},
    ])  # fmt: skip
    assert list(table.columns) == [*READER_COLUMNS, "niveau"]
    assert dtypes(table) == {c: DTYPES[c] for c in table.columns}
    assert list(table["ligne"]) == [2, 3]
    assert list(table["cle_client"]) == ["nom:societe generale", "code:C2"]
    assert list(table["cle_facture"]) == ["nom:societe generale|F 1", "code:C2|F2"]
    assert table.loc[1, "date_echeance"] == pd.Timestamp("2026-09-02")
    assert table.loc[0, "email"] == "" and not table.loc[0, "litige"]
    assert pd.isna(table.loc[1, "montant_ttc"])
    # a level from the export with no date is dated at the due date, as the reader does
    assert table.loc[0, "date_relance_export"] == pd.Timestamp("2026-09-01")
    empty = invoice_table([])
    assert list(empty.columns) == list(READER_COLUMNS) and empty.empty
    assert dtypes(empty) == {c: DTYPES[c] for c in READER_COLUMNS}


def test_instalments_and_shared_codes_get_the_readers_keys(tmp_path):
    rows = [invoice("F1", date(2026, 9, 1), 500.0), invoice("F1", date(2026, 10, 1), 500.0),
            invoice("F2", date(2026, 9, 1), 500.0, client="Other")]  # fmt: skip
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    built = invoice_table(
        {"code_client": r[0], "client": r[1], "numero_facture": r[2], "date_facture": r[3],
         "date_echeance": r[4], "montant_ttc": r[5], "reste_du": r[7], "ligne": n}
        for n, r in enumerate(rows, start=4)
    )  # fmt: skip
    assert list(built["cle_facture"]) == list(read.invoices["cle_facture"]) == [
        "code:C001|nom:alpha sarl|F1|2026-09-01", "code:C001|nom:alpha sarl|F1|2026-10-01",
        "code:C001|nom:other|F2",
    ]  # fmt: skip
    # one key object per client, however many invoices (a million rows: memory)
    keys = built["cle_client"].tolist()
    assert keys[0] is keys[1] and keys[0] == "code:C001|nom:alpha sarl" != keys[2]


def test_unknown_columns_are_refused():
    with pytest.raises(ValueError, match="type_client \\(lu dans particulier\\)"):
        invoice_table([{"numero_facture": "F1", "type_client": "particulier"}])
    with pytest.raises(ValueError, match="numero"):
        invoice_table([{"numero": "F1"}])
    with pytest.raises(ValueError, match="niveau_relanse"):
        declared("niveau", "niveau_relanse")


def test_require_columns_names_the_stage_and_the_columns():
    table = invoice_table([{"numero_facture": "F1"}])
    require_columns(table, history.NEEDS, "historique")
    with pytest.raises(ValueError, match="classement.*date_niveau"):
        require_columns(table, policy.NEEDS, "classement")


def test_declarations_are_consistent():
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names)) and tuple(COLUMNS) == tuple(
        n for n in names if n in DTYPES
    )
    seen: dict[str, str] = {}
    for f in FIELDS:
        assert set(f.vague) <= set(f.synonyms), f.name
        assert not f.into or (f.in_export and f.into in DTYPES), f.name
        for s in f.synonyms:
            assert normalise(s) == s, s
            assert seen.setdefault(s, f.name) == f.name, f"{s}: {seen[s]} and {f.name}"
    assert tuple(SYNONYMS) == CANONICAL_FIELDS


def test_settings_file_lists_every_export_field():
    text = default_settings_text()
    for name in CANONICAL_FIELDS:
        assert f"#   {name} : " in text
    assert '# date_echeance = "Date d\'éch."' in text
