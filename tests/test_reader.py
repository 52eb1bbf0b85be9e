"""Reading exports: formats, header detection, column mapping, blank and total rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import invoice, write_xlsx
from relance_xlsx.columns import map_headers, match_field
from relance_xlsx.config import Settings
from relance_xlsx.errors import InputError
from relance_xlsx.reader import read_export

DATA = Path(__file__).parent / "data"
CSV_HEADER = "Code client;Raison sociale;N° pièce;Date pièce;Date d'éch.;Montant TTC;Solde"
CSV_ROWS = [
    "C001;Société Générale d'Équipement;F1;01/09/2026;15/10/2026;1 234,56 €;1 234,56 €",
    "C002;Brasserie du Ça Va;F2;02/09/2026;16-10-26;500;250,50",
    ";Total;;;;1 734,56;1 485,06",
]


def check_csv_rows(result):
    inv = result.invoices.set_index("numero_facture")
    assert list(inv.index) == ["F1", "F2"]
    assert inv.loc["F1", "client"] == "Société Générale d'Équipement"
    assert inv.loc["F1", "reste_du"] == pytest.approx(1234.56)
    assert inv.loc["F2", "date_echeance"].date() == date(2026, 10, 16)
    assert inv.loc["F2", "reste_du"] == pytest.approx(250.50)
    assert result.dropped_total_rows == 1


@pytest.mark.parametrize(
    "encoding, bom, sep",
    [("utf-8", False, ";"), ("utf-8", True, ";"), ("cp1252", False, ";"), ("utf-8", False, ",")],
)
def test_csv_variants(tmp_path, encoding, bom, sep):
    lines = [CSV_HEADER, *CSV_ROWS]
    if sep == ",":
        lines = [
            ",".join(f'"{c}"' if "," in c else c for c in line.split(";")) for line in lines
        ]
    data = "\r\n".join(lines).encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    result = read_export(path, Settings())
    assert result.kind == "csv" and not result.in_place
    check_csv_rows(result)


@pytest.mark.parametrize("name", ["export.xls", "export.ods"])
def test_xls_and_ods(name):
    result = read_export(DATA / name, Settings())
    assert result.header_row == 3
    inv = result.invoices.set_index("numero_facture")
    assert list(inv.index) == ["F1", "F2", "F3"]
    assert inv.loc["F2", "reste_du"] == pytest.approx(1234.56)
    assert inv.loc["F2", "date_echeance"].date() == date(2026, 10, 15)
    assert result.dropped_total_rows == 1


def test_xlsx_and_xlsm(tmp_path):
    rows = [invoice("F1", date(2026, 9, 1), 1000.0), invoice("F2", "15/10/2026", "1 234,56 €",
            rest="1 234,56 €")]  # fmt: skip
    for suffix in (".xlsx", ".xlsm"):
        path = write_xlsx(tmp_path / f"export{suffix}", rows)
        result = read_export(path, Settings())
        assert result.in_place and result.header_row == 3
        assert list(result.invoices["numero_facture"]) == ["F1", "F2"]
        assert list(result.invoices["ligne"]) == [4, 5]


def test_title_rows_blank_rows_and_totals(tmp_path):
    rows = [
        invoice("F1", date(2026, 9, 1), 100.0),
        [None] * 8,
        invoice("F2", date(2026, 9, 2), 200.0),
        ["", "Sous-total Alpha", "", "", "", 300.0, None, 300.0],
        invoice("F3", date(2026, 9, 3), 50.0, client="Beta", code="C002"),
        ["", "", "", "", "", 350.0, None, 350.0],  # unlabelled total
        ["Total général", "", "", "", "", 350.0, None, 350.0],
    ]
    path = write_xlsx(tmp_path / "e.xlsx", rows, title_rows=("Balance âgée", "au 20/11/2026", ""))
    result = read_export(path, Settings())
    assert result.header_row == 4
    assert list(result.invoices["numero_facture"]) == ["F1", "F2", "F3"]
    assert list(result.invoices["ligne"]) == [5, 7, 9]
    assert result.dropped_total_rows == 3


@pytest.mark.parametrize(
    "header, field",
    [
        ("N° pièce", "numero_facture"), ("Numéro de facture", "numero_facture"),
        ("Invoice No", "numero_facture"), ("Raison sociale", "client"),
        ("Customer", "client"), ("Date d'éch.", "date_echeance"),
        ("Échéance", "date_echeance"), ("Due Date", "date_echeance"),
        ("Solde", "reste_du"), ("Reste à payer", "reste_du"), ("Amount Due", "reste_du"),
        ("Montant TTC", "montant_ttc"), ("Mt TTC", "montant_ttc"), ("Réglé", "montant_regle"),
        ("Code client", "code_client"), ("Compte", "code_client"), ("E-mail", "email"),
        ("Tél.", "telephone"), ("CP", "code_postal"), ("Litige", "litige"),
        ("Niveau de relance", "niveau_relance"), ("Date dernière relance", "date_derniere_relance"),
        ("Date pièce", "date_facture"), ("Type client", "type_client"),
    ],
)  # fmt: skip
def test_header_synonyms(header, field):
    assert match_field(header)[0] == field


def test_settings_columns_override_detection():
    headers = ["Tiers", "Pièce", "Ma date limite", "Total"]
    mapping = map_headers(headers, {"date_echeance": "Ma date limite"})
    assert mapping["date_echeance"] == 2
    assert mapping["client"] == 0 and mapping["numero_facture"] == 1


def test_english_export(tmp_path):
    headers = ["Customer", "Invoice No", "Invoice Date", "Due Date", "Amount", "Amount Due"]
    rows = [["Acme Ltd", "INV-1", date(2026, 9, 1), date(2026, 10, 1), 100.0, 100.0]]
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.columns["reste_du"] == "Amount Due"
    assert result.invoices.loc[0, "client"] == "Acme Ltd"


def test_row_errors_do_not_stop_the_read(tmp_path):
    rows = [
        invoice("F1", "31/02/2026", 100.0, issued=date(2026, 1, 1)),
        invoice("F2", date(2026, 9, 1), "douze euros", rest="douze euros"),
        invoice("", date(2026, 9, 1), 100.0),
        invoice("F4", date(2026, 9, 1), 100.0),
    ]
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    errors = dict(zip(result.invoices["ligne"], result.invoices["erreur"], strict=True))
    assert errors[4] == "date d'échéance illisible : « 31/02/2026 »"
    assert "montant TTC illisible : « douze euros »" in errors[5]
    assert errors[6] == "numéro de facture manquant"
    assert errors[7] == ""


def test_sheet_choice_and_client_key(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active["A1"] = "Rien ici"
    ws = wb.create_sheet("Factures")
    ws.append(["Client", "N° facture", "Échéance", "Solde"])
    ws.append(["Alpha  sarl", "F1", date(2026, 9, 1), 10])
    ws.append(["ALPHA SARL", "F1", date(2026, 10, 1), 20])  # same number, two instalments
    path = tmp_path / "e.xlsx"
    wb.save(path)
    result = read_export(path, Settings())
    assert result.sheet == "Factures"
    keys = list(result.invoices["cle_facture"])
    assert keys[0] != keys[1] and keys[0].startswith("nom:alpha sarl|F1")


def test_missing_required_column_lists_headers(tmp_path):
    headers = ["Client", "N° facture", "Montant TTC"]
    path = write_xlsx(tmp_path / "e.xlsx", [["A", "F1", 10.0]], headers)
    with pytest.raises(InputError) as err:
        read_export(path, Settings())
    msg = err.value.message
    assert "date d'échéance" in msg and "« Client », « N° facture », « Montant TTC »" in msg
    assert "[colonnes]" in msg and 'date_echeance = "…"' in msg


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "est vide"), (b"%PDF-1.4 \x00\x01binary", "n'est pas un classeur"),
     (b"PK\x03\x04garbage-zip", "endommagé")],
)  # fmt: skip
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / ("e.pdf" if b"PDF" in content else "e.xlsx")
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        read_export(path, Settings())


def test_postcode_and_consumer_from_settings(tmp_path):
    headers = ["Code client", "Client", "N° facture", "Échéance", "Solde", "CP"]
    rows = [["C9", "M. Durand", "F1", date(2026, 9, 1), 10.0, 8000]]
    settings = Settings(clients_particuliers=("c9",))
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), settings)
    assert result.invoices.loc[0, "code_postal"] == "08000"
    assert bool(result.invoices.loc[0, "particulier"])


# --- messy exports met in the field ---------------------------------------------------------


def test_collective_account_is_not_a_client_key(tmp_path):
    headers = ["Compte", "Auxiliaire", "Raison sociale", "Référence", "Échéance", "Solde"]
    rows = [["411000", "ALPHA", "Alpha SA", "FA10", date(2026, 9, 1), 100.0],
            ["411000", "BETA", "Beta SARL", "FA11", date(2026, 9, 1), 200.0]]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.columns["code_client"] == "Auxiliaire"
    assert result.invoices["cle_client"].nunique() == 2


def test_code_shared_by_several_names_splits_clients_and_warns(tmp_path):
    headers = ["Code client", "Client", "N° facture", "Échéance", "Solde"]
    rows = [["C1", "Alpha SA", "F1", date(2026, 9, 1), 100.0],
            ["C1", "Beta SARL", "F2", date(2026, 9, 1), 200.0]]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.invoices["cle_client"].nunique() == 2
    assert any("partagé par plusieurs noms" in w for w in result.warnings)


def test_quickbooks_open_balance(tmp_path):
    headers = ["Date", "Transaction Type", "Num", "Name", "Due Date", "Amount", "Open Balance"]
    rows = [[date(2026, 8, 1), "Invoice", "1001", "Acme", date(2026, 9, 1), 1000.0, 400.0]]
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.columns["reste_du"] == "Open Balance"
    assert result.columns["client"] == "Name"
    assert result.invoices.loc[0, "reste_du"] == pytest.approx(400.0)


def test_ledger_credit_without_debit_is_a_credit_note(tmp_path):
    headers = ["N° pièce", "Date", "Compte", "Intitulé", "Échéance", "Débit", "Crédit"]
    rows = [["FA1", date(2026, 8, 1), "C1", "Dupont", date(2026, 9, 1), 1200.0, None],
            ["AV2", date(2026, 8, 5), "C1", "Dupont", date(2026, 8, 5), None, 150.0]]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    rest = dict(zip(result.invoices["numero_facture"], result.invoices["reste_du"], strict=True))
    assert rest == {"FA1": 1200.0, "AV2": -150.0}


def test_comma_csv_with_a_semicolon_inside_a_field(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text('Client,N° facture,Échéance,Solde\n"Café; Bar ""Le Zinc""",F2,15/10/2026,'
                    '"1 234,56"\nAlpha,F3,16/10/2026,10\n', encoding="utf-8")  # fmt: skip
    result = read_export(path, Settings())
    assert list(result.invoices["client"]) == ['Café; Bar "Le Zinc"', "Alpha"]
    assert result.invoices.loc[0, "reste_du"] == pytest.approx(1234.56)


def test_header_only_export_reads_no_invoice(tmp_path):
    result = read_export(write_xlsx(tmp_path / "e.xlsx", [["", "Total", "", "", "", 0, 0, 0]]),
                         Settings())  # fmt: skip
    assert result.invoices.empty
    assert any("Aucune facture" in w for w in result.warnings)


def test_non_invoice_lines_are_skipped(tmp_path):
    rows = [
        ["411ALPHA - Alpha SA"],
        invoice("F1", date(2026, 9, 1), 100.0),
        ["Code client", "Client", "N° facture", "Date facture", "Échéance", "Montant TTC",
         "Réglé", "Reste dû"],  # header repeated on the next printed page
        invoice("F2", date(2026, 9, 2), 100.0),
        ["Édité le 23/11/2026 par Mme Durand"],
    ]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    assert list(result.invoices["numero_facture"]) == ["F1", "F2"]
    assert (result.invoices["erreur"] == "").all()


def test_client_printed_once_per_group_is_carried_down(tmp_path):
    rows = [invoice("F1", date(2026, 9, 1), 100.0, client="Alpha", code="C1"),
            invoice("F2", date(2026, 9, 2), 100.0, client="", code=""),
            invoice("F3", date(2026, 9, 2), 100.0, client="Beta", code="C2")]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    assert list(result.invoices["client"]) == ["Alpha", "Alpha", "Beta"]
    assert any("ligne au-dessus" in w for w in result.warnings)


def test_due_date_column_with_dates_wins_over_payment_terms(tmp_path):
    headers = ["Client", "N° facture", "Échéance", "Date d'échéance", "Solde"]
    rows = [["A", "F1", "30 jours fin de mois", date(2026, 9, 30), 10.0],
            ["A", "F2", "45 jours", date(2026, 10, 15), 10.0]]  # fmt: skip
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    assert result.columns["date_echeance"] == "Date d'échéance"
    assert (result.invoices["erreur"] == "").all()


def test_csv_saved_as_xlsx_is_read_as_csv(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_text("Client;N° facture;Échéance;Solde\nAlpha;F1;01/09/2026;10\n",
                    encoding="utf-8")  # fmt: skip
    result = read_export(path, Settings())
    assert result.kind == "csv" and not result.in_place
    assert any("renommé" in w for w in result.warnings)
    assert result.invoices.loc[0, "numero_facture"] == "F1"


def test_html_table_saved_as_xls(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<html><body><table><tr><th>Client</th><th>N° facture</th>"
                    "<th>Échéance</th><th>Solde</th></tr><tr><td>Alpha</td><td>F1</td>"
                    "<td>01/09/2026</td><td>1 234,56 €</td></tr></table></body></html>",
                    encoding="utf-8")  # fmt: skip
    result = read_export(path, Settings())
    assert result.kind == "html"
    assert result.invoices.loc[0, "reste_du"] == pytest.approx(1234.56)


def test_listed_consumer_matches_whatever_the_case_and_accents(tmp_path):
    """[clients] particuliers is compared the same way by the reader and by the amounts."""
    from relance_xlsx.amounts import is_consumer
    from relance_xlsx.model import PlannedLetter

    settings = Settings(clients_particuliers=("Société Générale",))
    rows = [
        invoice("F1", date(2026, 9, 1), client="SOCIETE GENERALE", code="411SG"),
        invoice("F2", date(2026, 9, 1), client="Société Générale Bis", code="411SB"),
    ]
    result = read_export(write_xlsx(tmp_path / "export.xlsx", rows), settings)
    assert list(result.invoices["particulier"]) == [True, False]
    letter = PlannedLetter(
        cle_client="code:411SG", client="SOCIETE GENERALE", code_client="411SG", niveau=1,
        date=date(2026, 11, 23), lignes=(),
    )
    assert is_consumer(letter, settings)
    assert not is_consumer(letter, Settings(clients_particuliers=("Société Générale Bis",)))


def test_repeated_cells_are_read_alike_on_every_row(tmp_path):
    """Each distinct text is parsed once for the whole column: a repeated unreadable date
    still gives its reason on every row, and the cells 1, 1.0 and TRUE stay distinct."""
    rows = [
        invoice(f"F{i}", "31/02/2026", 100.0, issued="pas une date") for i in range(3)
    ] + [
        invoice("F3", "15/10/2026", True, rest=None),
        invoice("F4", "15/10/2026", 1, rest=None),
        invoice("F5", "15/10/2026", "1 234,56 €", rest=None),
    ]
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    inv = read.invoices.set_index("numero_facture")
    for n in ("F0", "F1", "F2"):  # the due date's reason first, then the invoice date's
        assert inv.loc[n, "erreur"] == (
            "date d'échéance illisible : « 31/02/2026 » ; "
            "date de facture illisible : « pas une date »"
        )
    assert inv.loc["F3", "erreur"] == "montant TTC illisible : « True »"
    assert inv.loc["F4", "erreur"] == "" and inv.loc["F4", "reste_du"] == 1.0
    assert inv.loc["F5", "reste_du"] == pytest.approx(1234.56)


def test_reasons_order_and_balance_from_debit_and_credit(tmp_path):
    """An unreadable amount keeps the balance from being worked out, a readable debit and
    credit give it."""
    headers = ["Client", "N° facture", "Échéance", "Débit", "Crédit"]
    rows = [
        ["Alpha", "F1", "15/10/2026", 500, 200],
        ["Alpha", "F2", "15/10/2026", "cinq cents", 200],
        ["", "", "15/10/2026", 300, None],
    ]
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings())
    by_row = read.invoices.set_index("ligne")
    assert by_row.loc[4, "reste_du"] == 300.0 and by_row.loc[4, "erreur"] == ""
    assert pd.isna(by_row.loc[5, "reste_du"])
    assert by_row.loc[5, "erreur"] == "montant TTC illisible : « cinq cents »"
    # no client: the one above is carried down (grouped export); no number: said
    assert by_row.loc[6, "client"] == "Alpha" and by_row.loc[6, "reste_du"] == 300.0
    assert by_row.loc[6, "erreur"] == "numéro de facture manquant"


def test_headers_repeated_on_each_printed_page_are_skipped(tmp_path):
    from conftest import HEADERS

    rows = [invoice("F1", "15/10/2026"), list(HEADERS), invoice("F2", "16/10/2026"),
            ["", "Total client", "", "", "", 2000, None, 2000]]  # fmt: skip
    read = read_export(write_xlsx(tmp_path / "e.xlsx", rows), Settings())
    assert list(read.invoices["numero_facture"]) == ["F1", "F2"]
    assert list(read.invoices["ligne"]) == [4, 6]
    assert read.dropped_total_rows == 2
    assert read.raw_rows == () and read.title_rows[0][0] == "Échéancier clients"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Z", "S", "M")),
               max_size=14),
       st.sampled_from(["N° facture", "Échéance", "Client", "Reste dû", "Montant TTC"]))
def test_repeated_headers_are_found_as_one_header_at_a_time_would_be(text, header):
    """The C-speed filter of repeated headers keeps exactly the texts that, stripped and
    normalised, are the header (the header's first letter, accents aside, first)."""
    from relance_xlsx.parsing import normalise, strip_accents
    from relance_xlsx.reader import _header_repeats

    head = normalise(header)
    stripped = text.strip()
    first = stripped[:1]
    expected = bool(stripped) and (
        first if first.isascii() else strip_accents(first)).lower() == head[:1] and (
        normalise(stripped) == head)  # fmt: skip
    assert (text in _header_repeats(head, [text, 3.0, None])) == expected
    for again in (header, f"  {header.upper()} ", header.lower()):  # a header printed again
        assert _header_repeats(head, [again, text]) >= {again}
