"""Columns recognised by their content when the header names too little (issue #11).

Each export below is shaped like a real one (generic English titles, French house words, a
ledger, an aged balance, addresses over several columns, a CSV) and must read without
``[colonnes]``: the mapping, how each column was found and a few parsed values are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from conftest import digest, run_cli, write_xlsx
from relance_xlsx.columns import CONTENT, HEADER, map_headers, match_field, recognise
from relance_xlsx.config import Settings
from relance_xlsx.errors import InputError
from relance_xlsx.model import RunResult
from relance_xlsx.reader import read_export
from relance_xlsx.report import DOUBTFUL, column_rows

RUN = "2026-11-23"
CLIENTS = [("411ALPHA", "Alpha SARL"), ("411BETA", "Beta SAS"),
           ("411GAMMA", "Gamma Industries SA"), ("411DELTA", "Delta EURL")]  # fmt: skip


@dataclass(frozen=True)
class Inv:
    k: int
    code: str
    client: str
    issued: date
    due: date
    ttc: float
    paid: float

    @property
    def rest(self) -> float:
        return round(self.ttc - self.paid, 2)


def book(n: int = 8) -> list[Inv]:
    """``n`` invoices: clients on several rows, terms of 30 or 45 days, two part-paid."""
    out = []
    for k in range(n):
        code, name = CLIENTS[k % len(CLIENTS)]
        issued = date(2026, 9, 1) + timedelta(days=3 * k)
        due = issued + timedelta(days=30 if k % 2 else 45)
        out.append(Inv(k, code, name, issued, due, 1000.0 + 137.5 * k, 400.0 * (k in (2, 5))))
    return out


def fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def fa(k: int) -> str:
    return f"FA2026-{142 + k:04d}"


@dataclass(frozen=True)
class Case:
    """An export's layout: its headers, a row per invoice, what must be recognised."""

    name: str
    headers: Sequence[str | None]
    row: Callable[[Inv], list[object]]
    by_header: dict[str, str]  # field -> header found by its title
    by_content: dict[str, str]  # field -> header found by its content
    number: Callable[[int], str] = fa


def bucket(i: Inv, k: int) -> object:
    """An aged balance's bucket: the balance in the bucket of the invoice's age, else
    blank or zero as packages print them."""
    return i.rest if i.k % 4 == k else (None if i.k % 2 else 0.0)


STREETS = ["12 rue des Lilas", "Platz der Republik 1", "3 avenue Foch", "8 chemin du Moulin"]
TOWNS = [("75008", "Paris", "France"), ("10115", "Berlin", "Allemagne"),
         ("69002", "Lyon", "France"), ("13001", "Marseille", "France")]  # fmt: skip

CASES = [
    Case("anglais, titres nus", ["Num", "Name", "Date", "Due", "Open"],
         lambda i: [fa(i.k), i.client, i.issued, i.due, i.rest],
         {"numero_facture": "Num", "client": "Name", "date_facture": "Date",
          "date_echeance": "Due"},
         {"reste_du": "Open"}),
    Case("anglais, dates sans titre connu",
         ["Reference", "Customer", "Issued", "Payable", "Amount", "Paid", "Balance"],
         lambda i: [fa(i.k), i.client, i.issued, i.due, i.ttc, i.paid, i.rest],
         {"numero_facture": "Reference", "montant_ttc": "Amount", "reste_du": "Balance"},
         {"date_facture": "Issued", "date_echeance": "Payable"}),
    Case("mots maison français",
         ["Compte", "Tiers", "Pièce", "Libellé", "Date", "Éch. prévue", "Solde"],
         lambda i: [i.code, i.client, fa(i.k), f"Facture {fa(i.k)}", fr(i.issued), fr(i.due),
                    i.rest],
         {"code_client": "Compte", "client": "Tiers", "numero_facture": "Pièce",
          "reste_du": "Solde"},
         {"date_echeance": "Éch. prévue"}),
    Case("logiciel anglais, numéros entiers",
         ["No.", "Customer", "Posting Date", "Due Date", "Original Amount", "Remaining Amount"],
         lambda i: [100230 + i.k, i.client, i.issued, i.due, i.ttc, i.rest],
         {"numero_facture": "No.", "date_echeance": "Due Date", "reste_du": "Remaining Amount"},
         {"date_facture": "Posting Date", "montant_ttc": "Original Amount"},
         number=lambda k: str(100230 + k)),
    Case("balance âgée détaillée",
         ["Tiers", "Nom", "Doc", "Date doc", "Date éch", "Non échu", "1-30 j", "31-60 j",
          "> 60 j", "Total dû"],
         lambda i: [i.code, i.client, fa(i.k), i.issued, i.due,
                    *(bucket(i, k) for k in range(4)), i.rest],
         {"client": "Nom", "date_echeance": "Date éch", "numero_facture": "Doc"},
         {"code_client": "Tiers", "reste_du": "Total dû"}),
    Case("adresse sur plusieurs colonnes, client étranger",
         ["Customer", "Invoice", "Due date", "Balance", "Addr. 1", "Addr. 2", "Postcode",
          "Town", "Country"],
         lambda i: [i.client, fa(i.k), i.due, i.rest, STREETS[i.k % 4],
                    "Bâtiment B" if i.k % 2 else None, *TOWNS[i.k % 4]],
         {"client": "Customer", "ville": "Town", "pays": "Country"},
         {"adresse": "Addr. 1", "code_postal": "Postcode"}),
    Case("anglais, TTC − réglé = solde",
         ["Account", "Company", "Invoice #", "Invoice date", "Terms date", "Currency", "Total",
          "Paid", "Open", "E-mail", "Phone"],
         lambda i: [i.code, i.client, fa(i.k), i.issued, i.due, "EUR", i.ttc, i.paid, i.rest,
                    f"compta@{i.code.lower()}.fr", "01 23 45 67 89"],
         {"montant_ttc": "Total", "montant_regle": "Paid", "email": "E-mail"},
         {"date_echeance": "Terms date", "reste_du": "Open"}),
    Case("anglais, contact et montant ouvert",
         ["Reference", "Name", "Contact", "Date", "Due", "Amount", "Open"],
         lambda i: [f"INV/2025/{17 + i.k:05d}", i.client, "Mme Durand", i.issued, i.due,
                    i.ttc, i.rest],
         {"numero_facture": "Reference", "contact": "Contact", "montant_ttc": "Amount"},
         {"reste_du": "Open"},
         number=lambda k: f"INV/2025/{17 + k:05d}"),
    Case("colonne d'échéance sans titre", ["N° facture", "Client", "Date", None, "Montant"],
         lambda i: [fa(i.k), i.client, i.issued, i.due, i.rest],
         {"numero_facture": "N° facture", "montant_ttc": "Montant"},
         {"date_echeance": ""}),
    Case("écritures Sage, numéros par le contenu",
         ["Compte tiers", "Intitulé", "Journal", "Date", "Écriture", "Échéance", "Solde"],
         lambda i: [i.code, i.client, "VT", i.issued, f"F{123 + i.k:06d}", i.due, i.rest],
         {"code_client": "Compte tiers", "client": "Intitulé"},
         {"numero_facture": "Écriture"},
         number=lambda k: f"F{123 + k:06d}"),
    Case("grand livre client : débit, crédit, lettrage",
         ["Date", "Jnl", "Cpte", "Pièce", "Libellé", "Échéance", "Débit", "Crédit", "Lettrage"],
         lambda i: [i.issued, "VT", i.code, fa(i.k), i.client, i.due, i.rest, None,
                    "AA" if i.k in (1, 4) else None],
         {"numero_facture": "Pièce", "date_echeance": "Échéance", "montant_ttc": "Débit"},
         {"client": "Libellé", "code_client": "Cpte"}),
]


def _check(result, case: Case, invoices: list[Inv]) -> None:
    found = {f: result.columns[f] for f in [*case.by_header, *case.by_content]}
    assert found == {**case.by_header, **case.by_content}
    for fld in case.by_content:
        assert result.column_uses[fld].source == CONTENT, fld
    for fld in case.by_header:
        assert result.column_uses[fld].source == HEADER, fld
    inv = result.invoices
    assert list(inv["numero_facture"]) == [case.number(i.k) for i in invoices]
    assert [d.date() for d in inv["date_echeance"]] == [i.due for i in invoices]
    assert list(inv["reste_du"]) == pytest.approx([i.rest for i in invoices])
    assert set(inv["client"]) == {i.client for i in invoices}
    assert not any(inv["erreur"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generic_headers_read_by_content(tmp_path, case):
    invoices = book()
    path = write_xlsx(tmp_path / "e.xlsx", [case.row(i) for i in invoices], case.headers)
    result = read_export(path, Settings())
    _check(result, case, invoices)
    assert not [w for w in result.warnings if "colonnes" in w], result.warnings


def test_addresses_keep_every_line_and_the_foreign_country(tmp_path):
    case = next(c for c in CASES if c.name.startswith("adresse"))
    path = write_xlsx(tmp_path / "e.xlsx", [case.row(i) for i in book()], case.headers)
    inv = read_export(path, Settings()).invoices.set_index("numero_facture")
    assert inv.loc[fa(1), "adresse"] == "Platz der Republik 1\nBâtiment B"
    assert (inv.loc[fa(1), "code_postal"], inv.loc[fa(1), "ville"]) == ("10115", "Berlin")
    assert inv.loc[fa(1), "pays"] == "Allemagne"


def test_client_titled_column_of_codes_gives_way_to_the_names(tmp_path):
    invoices = book()
    rows = [[i.code, i.client, fa(i.k), i.due, i.rest] for i in invoices]
    headers = ["Tiers", "Libellé", "Pièce", "Échéance", "Solde"]  # Sage: "Tiers" holds codes
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert (read.columns["client"], read.columns["code_client"]) == ("Libellé", "Tiers")
    assert read.column_uses["client"].source == CONTENT
    assert list(read.invoices["client"]) == [i.client for i in invoices]
    # no names anywhere: the codes stay the client, and the summary's doubt is said
    rows = [[i.code, fa(i.k), i.due, i.rest] for i in invoices]
    read = read_export(write_xlsx(tmp_path / "f.xlsx", rows, ["Tiers", "Pièce", "Échéance",
                                                                "Solde"]), Settings())  # fmt: skip
    assert read.columns["client"] == "Tiers" and "code_client" not in read.columns
    assert any("« Tiers » (colonne A) est lue comme client" in w for w in read.warnings)


def test_csv_export_with_house_titles(tmp_path):
    invoices = book()
    lines = ["Document;Tiers;Émis le;À payer le;TTC;Restant"] + [
        f"{fa(i.k)};{i.client};{fr(i.issued)};{fr(i.due)};"
        f"{i.ttc:.2f};{i.rest:.2f}".replace(".", ",")
        for i in invoices
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    case = Case("csv", [], lambda i: [], {"date_facture": "Émis le", "montant_ttc": "TTC"},
                {"date_echeance": "À payer le", "reste_du": "Restant"})
    _check(read_export(path, Settings()), case, invoices)


def test_summary_and_report_say_which_column_and_how(runner_cwd):
    case = CASES[0]
    export = write_xlsx(runner_cwd / "e.xlsx", [case.row(i) for i in book(3)], case.headers)
    result = run_cli("run", export, "--date", "2026-09-15")  # nothing due yet: no letter
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Colonnes lues :" in out
    assert "Reste dû : « Open » (colonne E), reconnue par son contenu" in out
    assert "Date d'échéance : « Due » (colonne D)\n" in out
    report = next((runner_cwd / "courriers").rglob("rapport*.xlsx"))
    ws = load_workbook(report)["Synthèse"]
    rows = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0] and r[1]}
    assert rows["Reste dû"] == "« Open » (colonne E), reconnue par son contenu"
    assert rows["Numéro de facture"] == "« Num » (colonne A)"


def test_a_lone_letter_abbreviates_no_header():
    # seen in a public spreadsheet corpus: « (C) », « e » read as client and due date
    assert match_field("(C)") is None and match_field("e") is None
    assert match_field("Éch.")[0] == "date_echeance"
    assert match_field("N")[0] == "numero_facture"  # « N » alone is written as a synonym


# --- ambiguous or contradicted choices ------------------------------------------------------


def test_two_possible_due_dates_are_named_in_a_warning(tmp_path):
    headers = ["N° facture", "Client", "Date", "Prévue le", "Limite", "Solde"]
    rows = [[fa(i.k), i.client, i.issued, i.due, i.due + timedelta(days=2), i.rest]
            for i in book()]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.columns["date_echeance"] == "Prévue le"
    assert result.column_uses["date_echeance"].confidence <= DOUBTFUL
    assert (
        "Deux colonnes peuvent être la colonne « date d'échéance » : « Prévue le » (colonne D) "
        "et « Limite » (colonne E) ; « Prévue le » (colonne D) a été utilisée."
    ) in " ".join(result.warnings)


def test_a_doubtful_column_is_marked_in_the_columns_read(tmp_path):
    headers = ["N° facture", "Client", "Date", "Prévue le", "Limite", "Solde"]
    rows = [[fa(i.k), i.client, i.issued, i.due, i.due + timedelta(days=2), i.rest]
            for i in book()]  # fmt: skip
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    run = RunResult(run_date=date(2026, 11, 23), source=read.source, sheet=read.sheet,
                    invoices=read.invoices, columns=read.columns,
                    column_index=read.column_index, column_uses=read.column_uses)  # fmt: skip
    rows_read = dict(column_rows(run))
    assert rows_read["Date d'échéance"] == (
        "« Prévue le » (colonne D), reconnue par son contenu — à vérifier")
    assert rows_read["Client"] == "« Client » (colonne B)"


def test_swapped_date_columns_are_decided_by_content_and_said(runner_cwd):
    invoices = book()
    headers = ["N° facture", "Client", "Échéance", "Date facture", "Solde"]
    rows = [[fa(i.k), i.client, i.issued, i.due, i.rest] for i in invoices]
    export = write_xlsx(runner_cwd / "e.xlsx", rows, headers)
    read = read_export(export, Settings())
    assert read.columns["date_echeance"] == "Date facture"
    assert read.columns["date_facture"] == "Échéance"
    assert [d.date() for d in read.invoices["date_echeance"]] == [i.due for i in invoices]
    warning = next(w for w in read.warnings if w.startswith("Colonnes de dates inversées"))
    assert "les dates de « Échéance » (colonne C) sont antérieures à celles de « Date " \
        "facture » (colonne D) sur 8 des 8 premières lignes" in warning  # fmt: skip
    assert "« Date facture » (colonne D) a été lue comme date d'échéance" in warning
    # consistent with the per-row check: no row left with its due date before its date
    assert not [w for w in read.warnings if w.startswith("Échéance antérieure")]
    out = run_cli("run", export, "--date", RUN, "--dry-run").output
    assert "Date d'échéance : « Date facture » (colonne D), reconnue par son contenu" in out


def test_a_plain_date_later_than_the_other_dates_is_the_due_date(tmp_path):
    headers = ["N° facture", "Client", "Créée", "Date", "Solde"]
    invoices = book()
    rows = [[fa(i.k), i.client, i.issued, i.due, i.rest] for i in invoices]
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert (read.columns["date_echeance"], read.columns["date_facture"]) == ("Date", "Créée")
    assert [d.date() for d in read.invoices["date_echeance"]] == [i.due for i in invoices]
    assert ("« Date » (colonne D) contient des dates postérieures à celles de « Créée » "
            "(colonne C) : « Date » (colonne D) est lue comme date d'échéance") in " ".join(
        read.warnings)  # fmt: skip


def test_swap_is_left_to_the_settings_when_they_name_the_columns(tmp_path):
    headers = ["N° facture", "Client", "Échéance", "Date facture", "Solde"]
    rows = [[fa(i.k), i.client, i.issued, i.due, i.rest] for i in book()]
    settings = Settings(colonnes={"date_echeance": "Échéance"})
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), settings)
    assert read.columns["date_echeance"] == "Échéance"
    assert any(w.startswith("Échéance antérieure à la date de facture") for w in read.warnings)


def test_a_vague_header_its_content_contradicts_is_warned(tmp_path):
    headers = ["N° facture", "Client", "Échéance", "Montant"]
    rows = [[fa(i.k), i.client, i.due, "voir détail"] for i in book()]
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert read.column_uses["montant_ttc"].confidence < 0.5
    assert ("« Montant » (colonne D) est lue comme montant TTC d'après son titre, mais son "
            "contenu n'y ressemble pas") in " ".join(read.warnings)  # fmt: skip


def test_missing_columns_still_stop_when_content_cannot_tell(tmp_path):
    headers = ["Num", "Date", "Open"]  # no client: neither by header nor by content
    rows = [[fa(i.k), i.issued, i.rest] for i in book()]
    path = write_xlsx(tmp_path / "e.xlsx", rows, headers)
    before = digest(path)
    with pytest.raises(InputError) as err:
        read_export(path, Settings())
    msg = err.value.message
    assert "Colonne obligatoire introuvable" in msg and "client (raison sociale)" in msg
    assert 'client = "…"' in msg and "[colonnes]" in msg
    assert digest(path) == before


# --- property: the order of the columns does not change what they are -----------------------

SHUFFLED = ["Ref", "Customer", "Issued", "Payable", "Amount", "Paid", "Open", "Mail"]


def _shuffled_rows(order: Sequence[int]) -> list[list[object]]:
    rows = [[SHUFFLED[j] for j in order]]
    for i in book(12):
        cells = [fa(i.k), i.client, i.issued, i.due, i.ttc, i.paid, i.rest,
                 f"compta@{i.code.lower()}.fr"]  # fmt: skip
        rows.append([cells[j] for j in order])
    return rows


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(len(SHUFFLED))))
def test_column_order_does_not_change_the_recognised_mapping(order):
    rows = _shuffled_rows(order)
    mapping, uses, _warnings = recognise(rows, 0, map_headers(rows[0], {}), Settings())
    named = {f: rows[0][i] for f, i in mapping.items()}
    assert named == {"numero_facture": "Ref", "client": "Customer", "date_facture": "Issued",
                     "date_echeance": "Payable", "montant_ttc": "Amount",
                     "montant_regle": "Paid", "reste_du": "Open", "email": "Mail"}  # fmt: skip
    assert uses["date_echeance"].source == CONTENT and uses["reste_du"].source == CONTENT


def test_round_amounts_before_names_are_amounts_not_postcodes(tmp_path):
    headers = ["Ref", "Open", "Who", "Cur", "Issued", "Payable"]
    invoices = book()
    rows = [[fa(i.k), 1000 + 500 * i.k, i.client, "EUR", i.issued, i.due] for i in invoices]
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert {f: read.columns[f] for f in ("reste_du", "client", "date_echeance")} == {
        "reste_du": "Open", "client": "Who", "date_echeance": "Payable"}
    assert "code_postal" not in read.columns
    assert list(read.invoices["reste_du"]) == [1000 + 500 * i.k for i in invoices]


CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-10**6, 10**7),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(), st.booleans(),
    st.sampled_from(["FA2026-0142", "12/10/2026", "1 234,56 €", "Alpha SARL", "a@b.fr",
                     "75008", "01 23 45 67 89", "France", "M. Durand", "12 rue Foch"]),
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=1, max_size=7), min_size=1, max_size=12))
def test_recognition_never_fails_on_odd_cells(rows):
    headers = ["Num", "Name", "Open", *("" for _ in range(10))]
    sheet = [headers, *rows]
    mapping, uses, warnings = recognise(sheet, 0, map_headers(headers, {}), Settings())
    assert len(set(mapping.values())) == len(mapping)  # one field per column
    assert set(uses) == set(mapping) and all(0 <= u.confidence <= 1 for u in uses.values())
    assert all(isinstance(w, str) for w in warnings)


def test_sheets_from_a_public_corpus_that_broke_the_first_version():
    # a « Balance » titled column left empty: nothing to compare, no KeyError
    sheet = [["Category", "Account", "Balance", "Opening", "Ending", "Debit", "Credit"],
             *([c, "City Bank", None, 1000, 800, 200, 0] for c in ("Food", "Gas", "Rent"))]
    mapping, _uses, _w = recognise(sheet, 0, map_headers(sheet[0], {}), Settings())
    assert mapping["reste_du"] == 2
    # a hundred columns of figures: too many to tell apart, none guessed (and no cubic
    # search through them)
    wide = [[str(c) for c in range(1, 101)], *([r * c + 0.5 for c in range(100)]
                                               for r in range(40))]  # fmt: skip
    mapping, _uses, _w = recognise(wide, 0, {}, Settings())
    assert not set(mapping) & {"montant_ttc", "montant_regle", "reste_du"}
