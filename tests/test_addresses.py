"""Whole addresses: every address column and line, the country abroad, incomplete ones told."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from openpyxl import load_workbook

from conftest import run_cli, write_xlsx

RUN = "2026-11-23"
HEADERS = ["Code client", "Client", "N° facture", "Échéance", "Reste dû", "Adresse 1",
           "Adresse 2", "Complément", "Bâtiment", "CP", "Ville", "Pays"]  # fmt: skip


def _export(folder: Path) -> Path:
    rows = [
        ["C1", "Müller GmbH", "F1", date(2026, 9, 1), 1200.0, "Hauptstraße 5", "",
         "Hinterhaus", "", "10115", "Berlin", "Allemagne"],
        ["C2", "Dupont SARL", "F2", date(2026, 9, 1), 800.0, "12 rue des Lilas\nEntrée B",
         "ZA des Glaises", "", "Bât. C", "69003", "Lyon", "France"],
        ["C3", "Sans Ville SA", "F3", date(2026, 9, 1), 500.0, "3 place du Marché", "", "", "",
         "", "", ""],
    ]  # fmt: skip
    return write_xlsx(folder / "e.xlsx", rows, HEADERS)


def test_reader_joins_every_address_column_and_keeps_line_breaks(tmp_path):
    from relance_xlsx.config import Settings
    from relance_xlsx.reader import read_export

    inv = read_export(_export(tmp_path), Settings()).invoices.set_index("numero_facture")
    assert inv.loc["F2", "adresse"] == "12 rue des Lilas\nEntrée B\nZA des Glaises\nBât. C"
    assert inv.loc["F1", "adresse"] == "Hauptstraße 5\nHinterhaus"
    assert inv.loc["F1", "pays"] == "Allemagne"


def test_a_four_digit_postcode_is_padded_in_france_only(tmp_path):
    """Excel drops the leading zero of 08000 (France); Belgium, Switzerland, Austria,
    Denmark… have four-digit postcodes: « 01000 Bruxelles » was printed on the letter."""
    from relance_xlsx.config import Settings
    from relance_xlsx.reader import read_export

    headers = ["Code client", "Client", "N° facture", "Échéance", "Reste dû", "CP", "Ville",
               "Pays"]  # fmt: skip
    rows = [["C1", "Brasserie SPRL", "F1", date(2026, 9, 1), 10.0, 1000, "Bruxelles", "Belgique"],
            ["C2", "Fromagerie SA", "F2", date(2026, 9, 1), 10.0, "1204", "Genève", "Suisse"],
            ["C3", "Garage SARL", "F3", date(2026, 9, 1), 10.0, 8000, "Charleville", "France"],
            ["C4", "Atelier SAS", "F4", date(2026, 9, 1), 10.0, 1000, "Bourg-en-Bresse", ""]]
    inv = read_export(write_xlsx(tmp_path / "e.xlsx", rows, headers), Settings()).invoices
    assert list(inv["code_postal"]) == ["1000", "1204", "08000", "01000"]


def _docx_text(path: Path) -> str:
    """Every paragraph's text, those of the tables (the address block) included."""
    doc = Document(str(path))
    return "\n".join(Paragraph(p, doc).text for p in doc.element.body.iter(qn("w:p")))


def test_letters_print_the_whole_address_and_the_country_abroad(runner_cwd):
    export = _export(runner_cwd)
    result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert "adresse incomplète (code postal ou ville manquant) : Sans Ville SA" in result.output
    # « Colonnes lues » named « Adresse 1 » only, as if the other lines were not read
    assert ("Adresse : « Adresse 1 » (colonne F), « Adresse 2 » (colonne G), « Complément » "
            "(colonne H), « Bâtiment » (colonne I)") in result.output
    letters = {p.name.split(" ")[0]: p for p in (runner_cwd / "courriers" / RUN).glob("*.docx")}
    german = _docx_text(next(p for n, p in letters.items() if n.startswith("Müller")))
    assert "Hauptstraße 5\nHinterhaus\n10115 Berlin\nALLEMAGNE" in german
    french = _docx_text(next(p for n, p in letters.items() if n.startswith("Dupont")))
    assert "12 rue des Lilas\nEntrée B\nZA des Glaises\nBât. C\n69003 Lyon" in french
    assert "FRANCE" not in french
    report = next((runner_cwd / "courriers" / RUN).glob("rapport*.xlsx"))
    ws = load_workbook(report)["Courriers"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    header = next(r for r in rows if "Adresse incomplète" in r)
    flag, country = header.index("Adresse incomplète"), header.index("Pays")
    by_client = {r[0]: r for r in rows if r[0] in ("Müller GmbH", "Sans Ville SA", "Dupont SARL")}
    assert by_client["Sans Ville SA"][flag] == "Oui"
    assert by_client["Dupont SARL"][flag] in ("", None)
    assert by_client["Müller GmbH"][country] == "ALLEMAGNE"
