"""The status column goes inside the user's Excel table or AutoFilter, so that a sort from the
filter arrows moves each status with its invoice; only those ranges change.

Each scenario checks: the column is inside the right range, every other zip part is
byte-identical, openpyxl loads the result with tables whose ref and columns agree, and
LibreOffice opens it (skipped when LibreOffice Calc is not installed).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.workbook import Workbook
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from relance_xlsx.writeback import write_status_column
from relance_xlsx.xlsx_package import CellRange

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADERS = ["N° facture", "Client", "Échéance", "Reste dû"]
STATUS = "Statut relance"
NOW = datetime(2026, 3, 16, 9, 5, 7)
SHEET1 = "xl/worksheets/sheet1.xml"
TABLE1 = "xl/tables/table1.xml"
STATUSES = {
    4: "Relance 1 – le 16/03/2026",
    5: "Payée",
    6: "En attente – relance 2 le 30/03/2026",
    7: "Mise en demeure – le 16/03/2026",
    8: "Non échue – échéance le 01/04/2026",
    9: "Erreur – date d'échéance illisible : « 31/02/2026 »",
}


# --------------------------------------------------------------------------- builders


def _invoices(ws, first_col: int = 1, header_row: int = 3) -> None:
    """A title, then the header row and six invoices (rows 4 to 9 with the defaults)."""
    ws.cell(1, 1, "Balance âgée au 16/03/2026")
    for offset, text in enumerate(HEADERS):
        ws.cell(header_row, first_col + offset, text)
    for i in range(6):
        row = header_row + 1 + i
        values = [f"F2026-{i + 1:03d}", "Alpha SARL" if i % 2 else "Beta SAS",
                  datetime(2026, 2, 1 + i), 100.0 * (i + 1)]  # fmt: skip
        for offset, value in enumerate(values):
            ws.cell(row, first_col + offset, value)


def _invoice_book(title: str, first_col: int = 1) -> tuple[Workbook, Worksheet]:
    """A new workbook whose one sheet, ``title``, holds the invoices."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    _invoices(ws, first_col)
    return wb, ws


def _table(name: str, ref: str, names: list[str], *, totals: bool = False) -> Table:
    """A table as Excel writes it: named columns, style, filter over the data rows."""
    columns = [TableColumn(id=i + 1, name=n) for i, n in enumerate(names)]
    area = CellRange.parse(ref)
    data = CellRange(area.first_col, area.first_row, area.last_col, area.last_row - totals)
    table = Table(
        displayName=name,
        name=name,
        ref=ref,
        tableColumns=columns,
        autoFilter=openpyxl.worksheet.filters.AutoFilter(ref=data.ref),
        tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True),
    )
    if totals:
        table.totalsRowCount = 1
        columns[0].totalsRowLabel = "Total"
        columns[-1].totalsRowFunction = "sum"
    return table


def _book_with_totals(path: Path) -> Path:
    wb, ws = _invoice_book("Échéancier")
    ws["A10"] = "Total"
    ws["D10"] = "=SUBTOTAL(109,Factures[Reste dû])"
    ws.add_table(_table("Factures", "A3:D10", HEADERS, totals=True))
    wb.save(path)
    return path


def _parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _changed(before: list[tuple[str, bytes]], after: Path) -> set[str]:
    """The parts whose bytes differ; the entries themselves stay the same, in order."""
    new = _parts(after)
    assert [name for name, _ in before] == [name for name, _ in new]
    return {name for (name, old), (_, data) in zip(before, new, strict=True) if old != data}


def _xml(path: Path, part: str) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read(part))


def _tables_agree(path: Path) -> dict[str, dict[str, str]]:
    """openpyxl loads it; each table's columns match its ref and its header cells; no two
    tables overlap. Returns {sheet: {table: ref}}."""
    wb = openpyxl.load_workbook(path)
    found: dict[str, dict[str, str]] = {}
    for ws in wb.worksheets:
        areas = []
        for table in ws.tables.values():
            area = CellRange.parse(table.ref)
            names = [c.name for c in table.tableColumns]
            assert len(names) == area.last_col - area.first_col + 1, table.name
            columns = range(area.first_col, area.last_col + 1)
            header = [ws.cell(area.first_row, c).value for c in columns]
            assert header == names, table.name
            ids = [c.id for c in table.tableColumns]
            assert len(set(ids)) == len(ids)
            for other in areas:
                assert not (
                    area.first_col <= other.last_col
                    and other.first_col <= area.last_col
                    and area.first_row <= other.last_row
                    and other.first_row <= area.last_row
                ), "tables overlap"
            areas.append(area)
            found.setdefault(ws.title, {})[table.name] = table.ref
    return found


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    """Convert with LibreOffice Calc to csv; skipped when it is absent (or has no Calc)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice absent")
    profile = tmp_path_factory.mktemp("lo-profile")

    def convert(book: Path) -> dict[str, str]:
        """Sheet name -> its csv text, every sheet of ``book``."""
        out = book.parent / f"csv-{book.stem}"
        options = "44,34,76,1,,0,false,true,false,false,false,-1"  # utf-8, all sheets
        done = subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}",
             "--convert-to", f"csv:Text - txt - csv (StarCalc):{options}",
             "--outdir", str(out), str(book)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        files = sorted(out.glob("*.csv")) if out.exists() else []
        assert done.returncode == 0 and files, done.stdout + done.stderr
        prefix = f"{book.stem}-"
        return {f.stem.removeprefix(prefix): f.read_text(encoding="utf-8") for f in files}

    probe = tmp_path_factory.mktemp("lo-probe") / "probe.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "ok"
    wb.save(probe)
    try:
        convert(probe)
    except AssertionError:
        pytest.skip("LibreOffice Calc absent: soffice cannot open an xlsx")
    return convert


def _csv_column(text: str, column: int) -> list[str]:
    import csv
    import io

    return [row[column - 1] if len(row) >= column else "" for row in csv.reader(io.StringIO(text))]


# --------------------------------------------------------------------------- a table


def test_table_with_totals_row_takes_the_column(tmp_path: Path, libreoffice) -> None:
    book = _book_with_totals(tmp_path / "échéancier.xlsx")
    before = _parts(book)
    statuses = {**STATUSES, 10: "Erreur – ligne de total"}  # the totals row: not written
    result = write_status_column(book, "Échéancier", 3, statuses, STATUS, tmp_path / "b", NOW)

    assert (result.column_letter, result.reused, result.warnings) == ("E", False, ())
    assert _changed(before, book) == {SHEET1, TABLE1}
    table = _xml(book, TABLE1)
    assert table.get("ref") == "A3:E10" and table.get("totalsRowCount") == "1"
    assert table.find(f"{{{NS}}}autoFilter").get("ref") == "A3:E9"
    columns = table.find(f"{{{NS}}}tableColumns")
    assert columns.get("count") == "5" and len(columns) == 5
    assert dict(columns[-1].attrib) == {"id": "5", "name": STATUS}  # no totalsRowFunction
    assert columns[-2].get("totalsRowFunction") == "sum"  # the others untouched

    assert _tables_agree(book) == {"Échéancier": {"Factures": "A3:E10"}}
    ws = openpyxl.load_workbook(book)["Échéancier"]
    assert [ws.cell(r, 5).value for r in range(3, 11)] == [STATUS, *STATUSES.values(), None]
    assert ws["D10"].value == "=SUBTOTAL(109,Factures[Reste dû])"  # totals row in place
    csv = libreoffice(book)["Échéancier"]
    assert _csv_column(csv, 5)[2:9] == [STATUS, *STATUSES.values()]

    # A second run reuses the column, already inside the table: the table stays as it is.
    after_first = _parts(book)
    again = write_status_column(book, "échéancier", 3, {4: "Payée"}, STATUS, tmp_path / "b", NOW)
    assert (again.column_letter, again.reused, again.warnings) == ("E", True, ())
    assert _changed(after_first, book) == {SHEET1}


def test_status_column_left_outside_by_an_earlier_run_is_taken_in(tmp_path: Path) -> None:
    """Reused right after the table (typed "Statut relance :"): the table grows to it and its
    new column carries the header as typed."""
    wb, ws = _invoice_book("Factures")
    ws["E3"] = "Statut relance :"
    ws["E4"] = "Relance 1 – le 02/03/2026"
    ws.add_table(_table("T_Factures", "A3:D9", HEADERS))
    book = tmp_path / "ancien.xlsx"
    wb.save(book)
    result = write_status_column(book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert (result.column_letter, result.reused, result.warnings) == ("E", True, ())
    assert _tables_agree(book) == {"Factures": {"T_Factures": "A3:E9"}}
    assert _xml(book, TABLE1).find(f"{{{NS}}}tableColumns")[-1].get("name") == "Statut relance :"


def test_table_header_row_elsewhere_is_not_widened(tmp_path: Path) -> None:
    """The table starts one row above the export's header row: say so, change nothing else."""
    wb, ws = _invoice_book("Factures")
    for col, text in enumerate(["Col1", "Col2", "Col3", "Col4"], start=1):
        ws.cell(2, col, text)
    ws.add_table(_table("Décalé", "A2:D9", ["Col1", "Col2", "Col3", "Col4"]))
    book = tmp_path / "décalé.xlsx"
    wb.save(book)
    before = _parts(book)
    result = write_status_column(book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert _changed(before, book) == {SHEET1}
    assert result.column_letter == "F"  # one empty column apart from the table
    (warning,) = result.warnings
    assert "« Décalé » (A2:D9)" in warning and "ligne 2" in warning and "ligne 3" in warning
    assert _tables_agree(book) == {"Factures": {"Décalé": "A2:D9"}}


def test_linked_table_is_not_widened(tmp_path: Path) -> None:
    book = _book_with_totals(tmp_path / "requête.xlsx")
    with zipfile.ZipFile(book) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(book, "w") as out:
        for info, data in entries:
            if info.filename == TABLE1:
                data = data.replace(b'<table ', b'<table tableType="queryTable" ', 1)
            out.writestr(info, data)
    before = _parts(book)
    result = write_status_column(book, "Échéancier", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert _changed(before, book) == {SHEET1}
    assert "source de données externe" in result.warnings[0]


# --------------------------------------------------------------------------- a sheet filter


def _book_with_filters(path: Path, invoice_filter: str = "A3:D9") -> Path:
    """The invoices on the second sheet, each sheet with its own AutoFilter."""
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Clé", "Valeur"])
    notes.append(["a", 1])
    notes.auto_filter.ref = "A1:B2"
    ws = wb.create_sheet("Échéancier")
    _invoices(ws)
    ws.auto_filter.ref = invoice_filter
    wb.save(path)
    return path


def _filter_database(path: Path) -> dict[str, str]:
    return {
        el.get("localSheetId"): el.text
        for el in _xml(path, "xl/workbook.xml").iter(f"{{{NS}}}definedName")
        if el.get("name") == "_xlnm._FilterDatabase"
    }


def test_sheet_autofilter_and_its_filter_database_are_widened(tmp_path: Path, libreoffice) -> None:
    book = _book_with_filters(tmp_path / "filtre.xlsx")
    before = _parts(book)
    assert _filter_database(book) == {"0": "'Notes'!$A$1:$B$2", "1": "'Échéancier'!$A$3:$D$9"}
    result = write_status_column(book, "Échéancier", 3, STATUSES, STATUS, tmp_path / "b", NOW)

    assert (result.column_letter, result.warnings) == ("E", ())
    sheet = "xl/worksheets/sheet2.xml"
    assert _changed(before, book) == {sheet, "xl/workbook.xml"}
    assert _xml(book, sheet).find(f"{{{NS}}}autoFilter").get("ref") == "A3:E9"
    assert _filter_database(book) == {"0": "'Notes'!$A$1:$B$2", "1": "'Échéancier'!$A$3:$E$9"}
    old_workbook = dict(before)["xl/workbook.xml"]
    with zipfile.ZipFile(book) as zf:  # only the one defined name's text differs
        assert zf.read("xl/workbook.xml") == old_workbook.replace(b"$D$9", b"$E$9")
    wb = openpyxl.load_workbook(book)
    assert wb["Échéancier"].auto_filter.ref == "A3:E9"
    assert wb["Notes"].auto_filter.ref == "A1:B2"
    csv = libreoffice(book)["Échéancier"]
    assert _csv_column(csv, 5)[2:9] == [STATUS, *STATUSES.values()]


def test_sheet_filter_on_another_header_row_is_left(tmp_path: Path) -> None:
    book = _book_with_filters(tmp_path / "filtre.xlsx", invoice_filter="A2:D9")
    before = _parts(book)
    result = write_status_column(book, "Échéancier", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert _changed(before, book) == {"xl/worksheets/sheet2.xml"}
    assert result.column_letter == "E" and "filtre automatique" in result.warnings[0]


# --------------------------------------------------------------------------- two tables


def _two_tables(path: Path, *, gap: bool, invoices_right: bool = False) -> Path:
    """Invoices in one table, a per-client summary in another on the same header row."""
    wb, ws = _invoice_book("Factures", first_col=4 if invoices_right else 1)
    summary_names = ["Code", "Encours"]
    if invoices_right:  # summary in A:B, invoices in D:G
        invoices, summary_ref = "D3:G9", "A3:B5"
        summary_cols = (1, 2)
    else:
        first = 6 if gap else 5
        invoices = "A3:D9"
        summary_cols = (first, first + 1)
        summary_ref = CellRange(first, 3, first + 1, 5).ref
    for col, text in zip(summary_cols, summary_names, strict=True):
        ws.cell(3, col, text)
    for row, (code, amount) in enumerate([("C1", 600.0), ("C2", 1500.0)], start=4):
        ws.cell(row, summary_cols[0], code)
        ws.cell(row, summary_cols[1], amount)
    ws.add_table(_table("Factures", invoices, HEADERS))
    ws.add_table(_table("Clients", summary_ref, summary_names))
    wb.save(path)
    return path


def _table_parts(path: Path) -> dict[str, str]:
    """Table display name -> its part."""
    with zipfile.ZipFile(path) as zf:
        return {
            etree.fromstring(zf.read(n)).get("displayName"): n
            for n in zf.namelist()
            if n.startswith("xl/tables/")
        }


def test_two_tables_side_by_side_free_column(tmp_path: Path, libreoffice) -> None:
    book = _two_tables(tmp_path / "deux.xlsx", gap=True)
    parts = _table_parts(book)
    before = _parts(book)
    result = write_status_column(
        book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW, data_columns=[1, 2, 3, 4]
    )
    assert (result.column_letter, result.warnings) == ("E", ())
    assert _changed(before, book) == {SHEET1, parts["Factures"]}
    assert _tables_agree(book) == {"Factures": {"Factures": "A3:E9", "Clients": "F3:G5"}}
    csv = libreoffice(book)["Factures"]
    assert _csv_column(csv, 5)[2:9] == [STATUS, *STATUSES.values()]
    assert _csv_column(csv, 6)[2:5] == ["Code", "C1", "C2"]


def test_two_tables_without_data_columns_take_the_leftmost(tmp_path: Path) -> None:
    book = _two_tables(tmp_path / "deux.xlsx", gap=True)
    result = write_status_column(book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert result.column_letter == "E"
    assert _tables_agree(book)["Factures"]["Factures"] == "A3:E9"


def test_invoice_table_on_the_right_is_the_one_widened(tmp_path: Path) -> None:
    book = _two_tables(tmp_path / "droite.xlsx", gap=True, invoices_right=True)
    result = write_status_column(
        book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW, data_columns=[4, 5, 6, 7]
    )
    assert (result.column_letter, result.warnings) == ("H", ())
    assert _tables_agree(book) == {"Factures": {"Factures": "D3:H9", "Clients": "A3:B5"}}


def test_next_column_taken_by_another_table(tmp_path: Path, libreoffice) -> None:
    """Clients sits right after the invoices: no widening, the status goes after everything
    (one column apart from Clients) and the user is told why, in French."""
    book = _two_tables(tmp_path / "collés.xlsx", gap=False)
    before = _parts(book)
    result = write_status_column(
        book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW, data_columns=[1, 2, 3, 4]
    )
    assert result.column_letter == "H"
    (warning,) = result.warnings
    assert warning.startswith("La colonne « Statut relance » a été ajoutée en H, hors du tableau")
    assert "la colonne E est occupée par le tableau « Clients »" in warning
    assert "libérez la colonne E" in warning
    assert _changed(before, book) == {SHEET1}
    assert _tables_agree(book) == {"Factures": {"Factures": "A3:D9", "Clients": "E3:F5"}}
    assert _csv_column(libreoffice(book)["Factures"], 8)[2:4] == [STATUS, STATUSES[4]]
    # The next run reuses H and still says what blocks the table.
    again = write_status_column(book, "Factures", 3, {4: "Payée"}, STATUS, tmp_path / "b", NOW)
    assert (again.column_letter, again.reused) == ("H", True)
    assert again.warnings[0].startswith("La colonne « Statut relance » est en H, hors du")
    assert "la colonne E est occupée par le tableau « Clients »" in again.warnings[0]


def test_reused_column_away_from_the_table_stays_and_is_reported(tmp_path: Path) -> None:
    wb, ws = _invoice_book("Factures")
    ws["G3"] = STATUS  # placed by the user, two columns right of the table
    ws.add_table(_table("Factures", "A3:D9", HEADERS))
    book = tmp_path / "loin.xlsx"
    wb.save(book)
    before = _parts(book)
    result = write_status_column(book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert (result.column_letter, result.reused) == ("G", True)
    assert "elle n'est pas juste à sa droite" in result.warnings[0]
    assert "placez la colonne « Statut relance » juste à droite du tableau" in result.warnings[0]
    assert _changed(before, book) == {SHEET1}


def test_next_column_holding_data_is_not_overwritten(tmp_path: Path) -> None:
    wb, ws = _invoice_book("Factures")
    ws["E20"] = "note de l'utilisateur"
    ws.add_table(_table("Factures", "A3:D9", HEADERS))
    book = tmp_path / "note.xlsx"
    wb.save(book)
    result = write_status_column(book, "Factures", 3, STATUSES, STATUS, tmp_path / "b", NOW)
    assert result.column_letter == "F" and "la colonne E n'est pas vide" in result.warnings[0]
    assert openpyxl.load_workbook(book)["Factures"]["E20"].value == "note de l'utilisateur"
    assert _tables_agree(book) == {"Factures": {"Factures": "A3:D9"}}


# --------------------------------------------------------------------------- a pivot table

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT_BASE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PIVOT_CACHE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pivotCacheDefinition xmlns="{NS}" xmlns:r="{_REL}" r:id="rId1" refreshedBy="Compta" \
refreshedDate="46097.5" createdVersion="6" refreshedVersion="6" minRefreshableVersion="3" \
recordCount="6"><cacheSource type="worksheet"><worksheetSource name="Factures"/></cacheSource>\
<cacheFields count="4"><cacheField name="N° facture" numFmtId="0"><sharedItems/></cacheField>\
<cacheField name="Client" numFmtId="0"><sharedItems count="2"><s v="Beta SAS"/>\
<s v="Alpha SARL"/></sharedItems></cacheField>\
<cacheField name="Échéance" numFmtId="14"><sharedItems containsSemiMixedTypes="0" \
containsNonDate="0" containsDate="1" containsString="0" minDate="2026-02-01T00:00:00" \
maxDate="2026-02-07T00:00:00"/></cacheField>\
<cacheField name="Reste dû" numFmtId="0"><sharedItems containsSemiMixedTypes="0" \
containsString="0" containsNumber="1" containsInteger="1" minValue="100" maxValue="600"/>\
</cacheField></cacheFields></pivotCacheDefinition>"""
_PIVOT_RECORDS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<pivotCacheRecords xmlns="{NS}" count="6">'
    + "".join(
        f'<r><s v="F2026-{i + 1:03d}"/><x v="{i % 2}"/><d v="2026-02-0{i + 1}T00:00:00"/>'
        f'<n v="{100 * (i + 1)}"/></r>'
        for i in range(6)
    )
    + "</pivotCacheRecords>"
)
_PIVOT_TABLE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pivotTableDefinition xmlns="{NS}" name="TCD_Encours" cacheId="7" applyNumberFormats="0" \
applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" applyAlignmentFormats="0" \
applyWidthHeightFormats="1" dataCaption="Valeurs" updatedVersion="6" minRefreshableVersion="3" \
useAutoFormatting="1" itemPrintTitles="1" createdVersion="6" indent="0" outline="1" \
outlineData="1" multipleFieldFilters="0"><location ref="A3:B6" firstHeaderRow="1" \
firstDataRow="1" firstDataCol="1"/><pivotFields count="4"><pivotField showAll="0"/>\
<pivotField axis="axisRow" showAll="0"><items count="3"><item x="1"/><item x="0"/>\
<item t="default"/></items></pivotField><pivotField numFmtId="14" showAll="0"/>\
<pivotField dataField="1" showAll="0"/></pivotFields><rowFields count="1"><field x="1"/>\
</rowFields><rowItems count="3"><i><x/></i><i><x v="1"/></i><i t="grand"><x/></i></rowItems>\
<colItems count="1"><i/></colItems><dataFields count="1"><dataField name="Somme de Reste dû" \
fld="3" baseField="0" baseItem="0"/></dataFields><pivotTableStyleInfo name="PivotStyleLight16" \
showRowHeaders="1" showColHeaders="1" showRowStripes="0" showColStripes="0" \
showLastColumn="1"/></pivotTableDefinition>"""


def _rels(*relations: tuple[str, str, str]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="{_REL}/{kind}" Target="{target}"/>'
        for rid, kind, target in relations
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
        f'"http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'
    )


def _book_with_pivot(path: Path) -> Path:
    """The invoices in table « Factures »; on sheet « TCD », a pivot table built on it."""
    wb, ws = _invoice_book("Échéancier")
    ws.add_table(_table("Factures", "A3:D9", HEADERS))
    pivot = wb.create_sheet("TCD")
    for row in (["Étiquettes de lignes", "Somme de Reste dû"], ["Alpha SARL", 1200],
                ["Beta SAS", 900], ["Total général", 2100]):  # fmt: skip
        pivot.append(row)
    pivot.move_range("A1:B4", rows=2)
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries["xl/workbook.xml"] = entries["xl/workbook.xml"].replace(
        b"</workbook>",
        f'<pivotCaches><pivotCache xmlns:r="{_REL}" cacheId="7" r:id="rIdPivot"/>'
        f"</pivotCaches></workbook>".encode(),
    )
    entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdPivot" Type="{_REL}/pivotCacheDefinition" '
        f'Target="pivotCache/pivotCacheDefinition1.xml"/></Relationships>'.encode(),
    )
    overrides = "".join(
        f'<Override PartName="/xl/{part}" ContentType="{_CT_BASE}.{kind}+xml"/>'
        for part, kind in [("pivotCache/pivotCacheDefinition1.xml", "pivotCacheDefinition"),
                           ("pivotCache/pivotCacheRecords1.xml", "pivotCacheRecords"),
                           ("pivotTables/pivotTable1.xml", "pivotTable")]  # fmt: skip
    )
    entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
        b"</Types>", overrides.encode() + b"</Types>"
    )
    entries |= {
        "xl/pivotCache/pivotCacheDefinition1.xml": _PIVOT_CACHE.encode(),
        "xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels": _rels(
            ("rId1", "pivotCacheRecords", "pivotCacheRecords1.xml")
        ).encode(),
        "xl/pivotCache/pivotCacheRecords1.xml": _PIVOT_RECORDS.encode(),
        "xl/pivotTables/pivotTable1.xml": _PIVOT_TABLE.encode(),
        "xl/pivotTables/_rels/pivotTable1.xml.rels": _rels(
            ("rId1", "pivotCacheDefinition", "../pivotCache/pivotCacheDefinition1.xml")
        ).encode(),
        "xl/worksheets/_rels/sheet2.xml.rels": _rels(
            ("rId1", "pivotTable", "../pivotTables/pivotTable1.xml")
        ).encode(),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_table_feeding_a_pivot_table(tmp_path: Path, libreoffice) -> None:
    book = _book_with_pivot(tmp_path / "tcd.xlsx")
    pivots = openpyxl.load_workbook(book)["TCD"]._pivots
    assert [p.name for p in pivots] == ["TCD_Encours"]  # the fixture is a valid pivot table
    untouched = tmp_path / "avant" / book.name
    untouched.parent.mkdir()
    shutil.copyfile(book, untouched)
    before = _parts(book)
    result = write_status_column(
        book, "Échéancier", 3, STATUSES, STATUS, tmp_path / "b", NOW, data_columns=[1, 2, 3, 4]
    )
    assert (result.column_letter, result.warnings) == ("E", ())
    assert _changed(before, book) == {SHEET1, TABLE1}  # pivot parts byte-identical
    assert _tables_agree(book) == {"Échéancier": {"Factures": "A3:E9"}}
    wb = openpyxl.load_workbook(book)
    (pivot,) = wb["TCD"]._pivots
    assert pivot.cache.cacheSource.worksheetSource.name == "Factures"
    sheets = libreoffice(book)
    assert _csv_column(sheets["Échéancier"], 5)[2:9] == [STATUS, *STATUSES.values()]
    # LibreOffice rebuilds the pivot table from the widened table: same figures as before.
    assert "Alpha SARL,1200" in sheets["TCD"] and "Beta SAS,900" in sheets["TCD"]
    assert sheets["TCD"] == libreoffice(untouched)["TCD"]


# --------------------------------------------------------------------------- through the CLI


def test_run_puts_the_status_in_the_table_and_warns_when_it_cannot(runner_cwd: Path) -> None:
    """The pipeline finds the invoice table from the reader's columns (here from column B)."""
    from conftest import HEADERS as EXPORT_HEADERS
    from conftest import invoice, run_cli

    def export(name: str, notes: bool) -> Path:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Export"
        for col, text in enumerate(EXPORT_HEADERS, start=2):
            ws.cell(3, col, text)
        for row in range(4, 7):
            values = invoice(f"F{row}", datetime(2026, 8, 1), code=f"C{row}", client=f"Cl {row}")
            for col, value in enumerate(values, start=2):
                ws.cell(row, col, value)
        ws.add_table(_table("Factures", "B3:I6", EXPORT_HEADERS))
        if notes:
            ws["J3"], ws["J4"] = "Note", "à rappeler"
            ws.add_table(_table("Notes", "J3:J4", ["Note"]))
        wb.save(runner_cwd / name)
        return runner_cwd / name

    inside = export("dans.xlsx", notes=False)
    result = run_cli("run", inside, "--date", "2026-11-16")
    assert result.exit_code == 0 and "hors du tableau" not in result.output
    assert _tables_agree(inside) == {"Export": {"Factures": "B3:J6"}}

    beside = export("a-cote.xlsx", notes=True)
    result = run_cli("run", beside, "--date", "2026-11-16")
    assert result.exit_code == 0
    assert "hors du tableau Excel « Factures » (B3:I6)" in " ".join(result.output.split())
    assert _tables_agree(beside) == {"Export": {"Factures": "B3:I6", "Notes": "J3:J4"}}
