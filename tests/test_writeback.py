"""Write-back keeps the user's workbook intact: only the status column changes."""

from __future__ import annotations

import functools
import os
import random
import re
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from relance_xlsx.errors import InputError, RelanceError, WorkbookLockedError
from relance_xlsx.writeback import (
    WriteBackResult,
    check_writable,
    clean_text,
    column_index,
    column_letter,
    status_copy_path,
    write_copy_with_status,
    write_status_column,
)

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
C = f"{{{NS}}}c"
ROW = f"{{{NS}}}row"
HEADER = "Statut relance"
NOW = datetime(2026, 3, 16, 9, 5, 7)
SHEET1 = "xl/worksheets/sheet1.xml"

# --------------------------------------------------------------------------- fixtures


def _rezip(path: Path, replace: dict[str, bytes], extra: dict[str, bytes] | None = None) -> None:
    """Rewrite a zip with some entries replaced (same order), plus extra entries at the end."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as out:
        for info, data in entries:
            out.writestr(info, replace.get(info.filename, data))
        for name, data in (extra or {}).items():
            out.writestr(zipfile.ZipInfo(name, (2026, 1, 2, 3, 4, 6)), data, zipfile.ZIP_STORED)


def _make_workbook(path: Path, *, skip_rows: tuple[int, ...] = ()) -> Path:
    """A realistic export: merged title, header on row 3, formulas with cached values, extras."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Échéancier"
    ws["A1"] = "Balance âgée au 15/03/2026"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:G1")
    headers = ["N° facture", "Client", "Date", "Échéance", "Montant TTC", "Réglé", "Reste dû"]
    fill = PatternFill("solid", fgColor="FFDDEBF7")
    border = Border(bottom=Side(style="thin"))
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=3, column=col, value=text)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.border = border
    for i in range(10):
        r = 4 + i
        if r in skip_rows:
            continue
        ws.cell(row=r, column=1, value=f"F2026-{i + 1:03d}")
        ws.cell(row=r, column=2, value=f"Client {'ABC'[i % 3]} & Fils <SARL>")
        ws.cell(row=r, column=3, value=datetime(2026, 1, 1 + i)).number_format = "dd/mm/yyyy"
        ws.cell(row=r, column=4, value=datetime(2026, 2, 1 + i)).number_format = "dd/mm/yyyy"
        ws.cell(row=r, column=5, value=1000 + 100.5 * i).number_format = "#,##0.00 €"
        ws.cell(row=r, column=6, value=50 * (i % 2)).number_format = "#,##0.00 €"
        ws.cell(row=r, column=7, value=f"=E{r}-F{r}").number_format = "#,##0.00 €"
    for letter, width in zip("ABCDEFG", (14, 30, 12, 12, 14, 12, 14), strict=True):
        ws.column_dimensions[letter].width = width
    validation = DataValidation(type="list", formula1='"oui,non"', allow_blank=True)
    ws.add_data_validation(validation)
    validation.add("B4:B13")
    ws.conditional_formatting.add(
        "G4:G13", CellIsRule(operator="greaterThan", formula=["1500"], fill=fill)
    )
    ws["A4"].comment = Comment("Facture contestée puis réglée", "Compta")
    ws.freeze_panes = "A4"
    ws.auto_filter.ref = "A3:G13"
    wb.defined_names["Total_du"] = DefinedName("Total_du", attr_text="'Échéancier'!$G$4:$G$13")
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Total"
    notes["B1"] = "=SUM('Échéancier'!G4:G13)"
    wb.save(path)
    _inject_cached_values(path)
    return path


def _inject_cached_values(path: Path) -> None:
    """openpyxl writes formulas without results; give them cached values as Excel would."""
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read(SHEET1))
    values: dict[str, float] = {}
    for cell in root.iter(C):
        v = cell.find(f"{{{NS}}}v")
        if v is not None and cell.find(f"{{{NS}}}f") is None and v.text:
            values[cell.get("r")] = float(v.text)
    for cell in root.iter(C):
        formula = cell.find(f"{{{NS}}}f")
        if formula is not None:
            left, right = formula.text.split("-")
            v = cell.find(f"{{{NS}}}v")
            if v is None:
                v = etree.SubElement(cell, f"{{{NS}}}v")
            v.text = repr(values.get(left, 0.0) - values.get(right, 0.0))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    _rezip(path, {SHEET1: data})


# A hand-written workbook shaped like Excel's own output: shared strings, mc:Ignorable, x14ac,
# spans, CRLF after the declaration, no <cols>, the data sheet second with an absolute target.
_CT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/worksheets/sheet2.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
<Override PartName="/xl/sharedStrings.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>\
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="Lisez-moi" sheetId="1" r:id="rId1"/>\
<sheet name="Factures" sheetId="2" r:id="rId2"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="/xl/worksheets/sheet2.xml"/>\
<Relationship Id="rId3" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/>\
<Relationship Id="rId4" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" \
Target="sharedStrings.xml"/></Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
_SHARED = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6">\
<si><t>Facture</t></si><si><t>Montant</t></si><si><t>Solde</t></si>\
<si><r><t>Statut</t></r><r><rPr><b/></rPr><t xml:space="preserve"> Relance</t></r></si>\
<si><t>Dupont &amp; Cie</t></si><si><t>Lisez-moi</t></si></sst>"""
_README_SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetData><row r="1"><c r="A1" t="s"><v>5</v></c></row></sheetData></worksheet>"""
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'mc:Ignorable="x14ac xr" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xr:uid="{00000000-0001-0000-0000-000000000000}">'
    '<dimension ref="A1:C5"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/>'
)
_SHEET_TAIL = (
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    "</worksheet>"
)


def _excel_like(path: Path, sheet_data: str, *, header_status: bool = False) -> Path:
    """Write the hand-made workbook; ``header_status`` adds a shared-string status header."""
    if header_status:
        sheet_data = sheet_data.replace(
            '<c r="C1" t="s" s="1"><v>2</v></c></row>',
            '<c r="C1" t="s" s="1"><v>2</v></c><c r="D1" t="s" s="1"><v>3</v></c></row>',
        )
    sheet = _SHEET_HEAD + f"<sheetData>{sheet_data}</sheetData>" + _SHEET_TAIL
    parts = {
        "[Content_Types].xml": _CT,
        "_rels/.rels": _RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/styles.xml": _STYLES,
        "xl/sharedStrings.xml": _SHARED,
        SHEET1: _README_SHEET,
        "xl/worksheets/sheet2.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text.encode("utf-8"))
    return path


_EXCEL_ROWS = (
    '<row r="1" spans="1:3" x14ac:dyDescent="0.25">'
    '<c r="A1" t="s" s="1"><v>0</v></c><c r="B1" t="s" s="1"><v>1</v></c>'
    '<c r="C1" t="s" s="1"><v>2</v></c></row>'
    '<row r="2" spans="1:3" x14ac:dyDescent="0.25"><c r="A2"><v>101</v></c>'
    '<c r="B2" s="2"><v>1200.5</v></c>'
    '<c r="C2" s="2"><f t="shared" ref="C2:C4" si="0">B2*1</f><v>1200.5</v></c>'
    '<c r="D2" s="2"/></row>'
    '<row r="4" spans="1:3" x14ac:dyDescent="0.25"><c r="A4"><v>102</v></c>'
    '<c r="B4" s="2"><v>80</v></c><c r="C4" s="2"><f t="shared" si="0"/><v>80</v></c></row>'
    '<row r="5" spans="1:3" x14ac:dyDescent="0.25"><c r="A5" t="s"><v>4</v></c></row>'
)


# --------------------------------------------------------------------------- helpers


def _entries(path: Path) -> list[tuple[str, int, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, zf.read(i)) for i in zf.infolist()]


def _cells(xml: bytes) -> dict[str, bytes]:
    """Serialised ``<c>`` by reference (implicit positions counted like Excel does)."""
    found: dict[str, bytes] = {}
    row_number = 0
    for row in etree.fromstring(xml).iter(ROW):
        row_number = int(row.get("r") or row_number + 1)
        col = 0
        for cell in row.iter(C):
            ref = cell.get("r")
            col = column_index(ref.rstrip("0123456789")) if ref else col + 1
            found[f"{column_letter(col)}{row_number}"] = etree.tostring(cell, with_tail=False)
    return found


def _read(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def _assert_only_sheet_changed(
    before: Path, after: Path, sheet: str, column: str, *, filter_ref: str | None = None
) -> None:
    """Same entries in the same order; other parts byte-identical; sheet cells unchanged.

    ``filter_ref``: the sheet's AutoFilter was widened to it, and workbook.xml's
    ``_xlnm._FilterDatabase`` name with it (the only other change allowed).
    """
    old, new = _entries(before), _entries(after)
    assert [(n, t) for n, t, _ in old] == [(n, t) for n, t, _ in new]
    changed = {sheet, "xl/workbook.xml"} if filter_ref else {sheet}
    for (name, _, old_data), (_, _, new_data) in zip(old, new, strict=True):
        if name not in changed:
            assert old_data == new_data, name
    old_cells = _cells(dict((n, d) for n, _, d in old)[sheet])
    new_cells = _cells(dict((n, d) for n, _, d in new)[sheet])
    kept = {ref: xml for ref, xml in new_cells.items() if ref.rstrip("0123456789") != column}
    assert {r: x for r, x in old_cells.items() if r.rstrip("0123456789") != column} == kept
    # Everything outside sheetData/dimension/cols is serialised identically too.
    old_root = etree.fromstring(dict((n, d) for n, _, d in old)[sheet])
    new_root = etree.fromstring(dict((n, d) for n, _, d in new)[sheet])
    skip = {f"{{{NS}}}{tag}" for tag in ("sheetData", "dimension", "cols")}

    if filter_ref:
        widened = new_root.find(f"{{{NS}}}autoFilter")
        assert widened.get("ref") == filter_ref
        widened.set("ref", old_root.find(f"{{{NS}}}autoFilter").get("ref"))
        _assert_filter_database(before, after, filter_ref)

    def others(root: etree._Element) -> list[bytes]:
        return [etree.tostring(el, with_tail=False) for el in root if el.tag not in skip]

    assert others(old_root) == others(new_root)
    assert old_root.nsmap == new_root.nsmap
    assert old_root.attrib == new_root.attrib


def _assert_filter_database(before: Path, after: Path, filter_ref: str) -> None:
    """workbook.xml differs only by the sheet's ``_xlnm._FilterDatabase`` range."""
    old_xml, new_xml = _read(before, "xl/workbook.xml"), _read(after, "xl/workbook.xml")
    names = [
        el
        for el in etree.fromstring(new_xml).iter(f"{{{NS}}}definedName")
        if el.get("name") == "_xlnm._FilterDatabase"
    ]
    assert len(names) == 1
    start, end = filter_ref.split(":")
    expected = "$" + "$".join(re.match(r"([A-Z]+)(\d+)", start).groups())
    expected += ":$" + "$".join(re.match(r"([A-Z]+)(\d+)", end).groups())
    assert names[0].text.endswith("!" + expected)
    old_text = next(
        el.text
        for el in etree.fromstring(old_xml).iter(f"{{{NS}}}definedName")
        if el.get("name") == "_xlnm._FilterDatabase"
    )
    assert new_xml == old_xml.replace(_xml_text(old_text), _xml_text(names[0].text))


def _xml_text(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").encode()


def _copy(path: Path, name: str) -> Path:
    target = path.with_name(name)
    target.write_bytes(path.read_bytes())
    return target


STATUSES = {
    4: "Relance 1 – le 16/03/2026",
    5: "En attente – relance 2 le 30/03/2026",
    6: "Payée",
    13: "Erreur – date d'échéance illisible : « 31/02/2026 »",
}


# --------------------------------------------------------------------------- in place


def test_status_column_added_and_everything_else_kept(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "Échéancier clients.xlsx")
    original = _copy(book, "original.xlsx")
    result = write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "sauv", NOW)

    assert result == WriteBackResult(book, result.backup, "H", 8, False)
    assert result.backup.name == "Échéancier clients – sauvegarde 2026-03-16 09h05m07.xlsx"
    assert result.backup.read_bytes() == original.read_bytes()
    _assert_only_sheet_changed(original, book, SHEET1, "H", filter_ref="A3:H13")

    xml = _read(book, SHEET1)
    root = etree.fromstring(xml)
    assert root.find(f"{{{NS}}}dimension").get("ref") == "A1:H13"
    cells = {c.get("r"): c for c in root.iter(C)}
    assert cells["H3"].get("s") == cells["G3"].get("s") is not None
    assert cells["H3"].get("t") == "inlineStr"
    assert all(c.get("t") == "inlineStr" for r, c in cells.items() if r.startswith("H"))
    assert cells["G4"].findtext(f"{{{NS}}}v") == "1000.0"  # cached formula result kept
    cols = root.find(f"{{{NS}}}cols")
    assert [c.get("min") for c in cols] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert float(cols[-1].get("width")) == 48
    assert root.index(cols) + 1 == root.index(root.find(f"{{{NS}}}sheetData"))

    wb = openpyxl.load_workbook(book)
    ws = wb["Échéancier"]
    assert ws["H3"].value == HEADER
    for row, text in STATUSES.items():
        assert ws.cell(row=row, column=8).value == text
    assert ws["H7"].value is None
    assert ws["G4"].value == "=E4-F4"
    assert ws["B4"].value == "Client A & Fils <SARL>"
    assert ws["H3"].font.b and ws["H3"].fill.fgColor.rgb == "FFDDEBF7"
    assert "A1:G1" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.data_validations.dataValidation and ws.conditional_formatting
    assert ws["A4"].comment.text == "Facture contestée puis réglée"
    assert "Total_du" in wb.defined_names
    cached = openpyxl.load_workbook(book, data_only=True)["Échéancier"]
    assert cached["G5"].value == pytest.approx(1100.5 - 50)


def test_second_run_reuses_the_column_and_overwrites(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    first = write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "b", NOW)
    after_first = _copy(book, "after-first.xlsx")
    second = write_status_column(
        book,
        "échéancier",
        3,
        {4: "Relance 2 – le 30/03/2026", 7: "Payée"},
        "STATUT  RELANCE",
        tmp_path / "b",
        NOW,
    )
    assert (second.column_letter, second.reused) == ("H", True)
    assert second.backup != first.backup and second.backup.name.endswith(" (2).xlsx")
    assert second.backup.read_bytes() == after_first.read_bytes()
    _assert_only_sheet_changed(after_first, book, SHEET1, "H")
    ws = openpyxl.load_workbook(book)["Échéancier"]
    assert ws["H3"].value == HEADER  # the header as first written
    assert ws["H4"].value == "Relance 2 – le 30/03/2026"
    assert ws["H5"].value == STATUSES[5]  # rows not in this run are left alone
    assert ws["H7"].value == "Payée"
    assert ws.max_column == 8
    cols = etree.fromstring(_read(book, SHEET1)).find(f"{{{NS}}}cols")
    assert len(cols) == 8


def test_missing_rows_are_created_in_order(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "trous.xlsx", skip_rows=(8, 9))
    statuses = {9: "Payée", 20: "Erreur – ligne vide", 5: "Non échue – échéance le 01/04/2026"}
    result = write_status_column(book, "Échéancier", 3, statuses, HEADER, tmp_path / "b", NOW)
    root = etree.fromstring(_read(book, SHEET1))
    numbers = [int(row.get("r")) for row in root.iter(ROW)]
    assert numbers == sorted(numbers) and 9 in numbers and 8 not in numbers and numbers[-1] == 20
    assert root.find(f"{{{NS}}}dimension").get("ref") == "A1:H20"
    ws = openpyxl.load_workbook(book)["Échéancier"]
    assert result.column_letter == "H"
    assert [ws.cell(row=r, column=8).value for r in (5, 9, 20)] == [
        statuses[5],
        statuses[9],
        statuses[20],
    ]


def test_excel_like_sheet_with_shared_strings_not_first(tmp_path: Path) -> None:
    book = _excel_like(tmp_path / "export.xlsx", _EXCEL_ROWS)
    original = _copy(book, "orig.xlsx")
    statuses = {2: "Relance 1 – le 16/03/2026", 3: "  espaces gardés  ", 4: "Payée"}
    result = write_status_column(book, "Factures", 1, statuses, HEADER, tmp_path / "b", NOW)
    # D2 is an empty styled cell: it does not count as used, and it keeps its style.
    assert (result.column_letter, result.reused) == ("D", False)
    sheet = "xl/worksheets/sheet2.xml"
    _assert_only_sheet_changed(original, book, sheet, "D")
    xml = _read(book, sheet)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet')
    assert b'mc:Ignorable="x14ac xr"' in xml and b'x14ac:dyDescent="0.25"' in xml
    root = etree.fromstring(xml)
    rows = {row.get("r"): row for row in root.iter(ROW)}
    assert [r for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows["1"].get("spans") == rows["2"].get("spans") == "1:4"
    assert rows["5"].get("spans") == "1:3"  # untouched row
    cells = {c.get("r"): c for c in root.iter(C)}
    assert cells["D1"].get("s") == "1" and cells["D2"].get("s") == "2"
    t3 = cells["D3"].find(f"{{{NS}}}is/{{{NS}}}t")
    assert t3.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    assert root.find(f"{{{NS}}}dimension").get("ref") == "A1:D5"
    names = [el.tag.split("}")[1] for el in root]
    assert names.index("cols") == names.index("sheetFormatPr") + 1
    assert names.index("sheetData") == names.index("cols") + 1
    ws = openpyxl.load_workbook(book)["Factures"]
    assert [ws.cell(row=r, column=4).value for r in (1, 2, 3, 4)] == [HEADER, *statuses.values()]
    assert ws["A5"].value == "Dupont & Cie"


def test_reuse_header_from_shared_string_with_rich_text(tmp_path: Path) -> None:
    book = _excel_like(tmp_path / "export.xlsx", _EXCEL_ROWS, header_status=True)
    original = _copy(book, "orig.xlsx")
    result = write_status_column(book, "Factures", 1, {2: "Payée"}, "statut relance", tmp_path)
    assert (result.column_letter, result.reused) == ("D", True)
    assert _read(book, "xl/sharedStrings.xml") == _read(original, "xl/sharedStrings.xml")
    root = etree.fromstring(_read(book, "xl/worksheets/sheet2.xml"))
    assert root.find(f"{{{NS}}}cols") is None  # no width forced on a reused column
    cells = {c.get("r"): c for c in root.iter(C)}
    assert cells["D1"].findtext(f"{{{NS}}}v") == "3"  # header untouched
    assert openpyxl.load_workbook(book)["Factures"]["D2"].value == "Payée"


def test_overwritten_cell_loses_old_type_and_metadata_keeps_style(tmp_path: Path) -> None:
    rows = _EXCEL_ROWS.replace('<c r="D2" s="2"/>', '<c r="D2" s="2" t="e" vm="1"><v>#N/A</v></c>')
    book = _excel_like(tmp_path / "export.xlsx", rows, header_status=True)
    write_status_column(book, "Factures", 1, {2: "Payée"}, HEADER, tmp_path / "b", NOW)
    root = etree.fromstring(_read(book, "xl/worksheets/sheet2.xml"))
    d2 = next(c for c in root.iter(C) if c.get("r") == "D2")
    assert dict(d2.attrib) == {"r": "D2", "s": "2", "t": "inlineStr"}
    assert d2.findtext(f"{{{NS}}}is/{{{NS}}}t") == "Payée" and len(d2) == 1


def test_xlsm_keeps_its_macro_part(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "macros.xlsm")
    blob = bytes(random.Random(1).randrange(256) for _ in range(5000))
    _rezip(book, {}, {"xl/vbaProject.bin": blob})
    original = _copy(book, "orig.xlsm")
    result = write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "b", NOW)
    assert result.backup.suffix == ".xlsm"
    _assert_only_sheet_changed(original, book, SHEET1, "H", filter_ref="A3:H13")
    with zipfile.ZipFile(book) as zf:
        assert zf.read("xl/vbaProject.bin") == blob
        assert zf.getinfo("xl/vbaProject.bin").compress_type == zipfile.ZIP_STORED


def test_texts_are_cleaned_and_escaped(tmp_path: Path) -> None:
    book = _excel_like(tmp_path / "export.xlsx", _EXCEL_ROWS)
    statuses = {2: "Erreur\x01 – « <b>&</b> »", 4: "code _x0041_ littéral"}
    write_status_column(book, "Factures", 1, statuses, HEADER, tmp_path / "b", NOW)
    xml = _read(book, "xl/worksheets/sheet2.xml")
    assert b"\x01" not in xml and b"&lt;b&gt;&amp;&lt;/b&gt;" in xml
    assert b"_x005F_x0041_" in xml
    assert openpyxl.load_workbook(book)["Factures"]["D2"].value == "Erreur – « <b>&</b> »"


def test_formula_in_reused_column_is_refused_untouched(tmp_path: Path) -> None:
    rows = _EXCEL_ROWS.replace('<c r="D2" s="2"/>', '<c r="D2"><f>A2</f><v>101</v></c>')
    book = _excel_like(tmp_path / "export.xlsx", rows, header_status=True)
    before = book.read_bytes()
    with pytest.raises(InputError, match="formule"):
        write_status_column(book, "Factures", 1, {2: "Payée"}, HEADER, tmp_path / "b", NOW)
    assert book.read_bytes() == before
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    book = _excel_like(tmp_path / "export.xlsx", _EXCEL_ROWS)
    with pytest.raises(InputError, match="« Lisez-moi », « Factures »"):
        write_status_column(book, "Feuil1", 1, {2: "Payée"}, HEADER, tmp_path / "b", NOW)


def test_failure_during_replace_leaves_original(tmp_path: Path, monkeypatch) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    before = book.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(Exception, match="n'a pas été modifié"):
        write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "b", NOW)
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "clients.xlsx"]
    assert not any((tmp_path / "b").iterdir())


def test_backup_failure_leaves_original(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    before = book.read_bytes()
    not_a_folder = tmp_path / "sauvegardes"
    not_a_folder.write_text("je suis un fichier")
    with pytest.raises(RelanceError, match="sauvegarder"):
        write_status_column(book, "Échéancier", 3, STATUSES, HEADER, not_a_folder, NOW)
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clients.xlsx", "sauvegardes"]


def test_rows_and_cells_without_references(tmp_path: Path) -> None:
    rows = (
        '<row><c t="s" s="1"><v>0</v></c><c t="s" s="1"><v>1</v></c></row>'
        "<row><c><v>101</v></c><c><v>12.5</v></c></row>"
        "<row><c><v>102</v></c></row>"
    )
    book = _excel_like(tmp_path / "implicite.xlsx", rows)
    original = _copy(book, "orig.xlsx")
    result = write_status_column(
        book, "Factures", 1, {2: "Payée", 3: "Relance 1"}, HEADER, tmp_path
    )
    assert result.column_letter == "C"
    _assert_only_sheet_changed(original, book, "xl/worksheets/sheet2.xml", "C")
    ws = openpyxl.load_workbook(book)["Factures"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=1, max_row=3)] == [
        ["Facture", "Montant", HEADER],
        [101, 12.5, "Payée"],
        [102, None, "Relance 1"],
    ]


def test_write_refuses_when_opened_in_excel_meanwhile(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    before = book.read_bytes()
    (tmp_path / "~$clients.xlsx").write_bytes(b"owner")
    with pytest.raises(WorkbookLockedError):
        write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "b", NOW)
    assert book.read_bytes() == before


def test_status_rows_must_be_below_header(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    with pytest.raises(ValueError):
        write_status_column(book, "Échéancier", 3, {3: "x"}, HEADER, tmp_path / "b", NOW)


@functools.cache
def _base_workbook() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return _excel_like(Path(folder) / "base.xlsx", _EXCEL_ROWS).read_bytes()


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_text_round_trips_through_openpyxl(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder) / "base.xlsx"
        book.write_bytes(_base_workbook())
        write_status_column(book, "Factures", 1, {2: text}, HEADER, Path(folder) / "b", NOW)
        value = openpyxl.load_workbook(book)["Factures"]["D2"].value
    expected = clean_text(text)
    if "_x" not in text:
        assert value == (expected or None)


# --------------------------------------------------------------------------- check_writable


def test_check_writable_accepts_a_good_workbook(tmp_path: Path) -> None:
    check_writable(_make_workbook(tmp_path / "ok.xlsx"))


@pytest.mark.parametrize("owner", ["~$Échéancier clients.xlsx", "~$héancier clients.xlsx"])
def test_open_in_excel(tmp_path: Path, owner: str) -> None:
    book = _make_workbook(tmp_path / "Échéancier clients.xlsx")
    before = book.read_bytes()
    (tmp_path / owner).write_bytes(b"\x00owner")
    with pytest.raises(WorkbookLockedError) as info:
        check_writable(book)
    assert "Excel" in info.value.message and "Fermez" in info.value.message
    assert owner in info.value.message
    assert book.read_bytes() == before


def test_truncated_owner_name_of_another_workbook_is_not_ours(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "abclients.xlsx")
    _copy(book, "clients.xlsx")
    (tmp_path / "~$clients.xlsx").write_bytes(b"owner")  # belongs to clients.xlsx
    check_writable(book)


def test_read_only_file(tmp_path: Path) -> None:
    book = _make_workbook(tmp_path / "clients.xlsx")
    before = book.read_bytes()
    book.chmod(0o444)
    try:
        with pytest.raises(WorkbookLockedError, match="lecture seule"):
            check_writable(book)
        with pytest.raises(WorkbookLockedError):
            write_status_column(book, "Échéancier", 3, STATUSES, HEADER, tmp_path / "b", NOW)
    finally:
        book.chmod(0o644)
    assert book.read_bytes() == before


def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    book = _make_workbook(folder / "clients.xlsx")
    folder.chmod(0o555)
    try:
        with pytest.raises(WorkbookLockedError, match="dossier"):
            check_writable(book)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("kind", ["random", "truncated", "not-a-workbook"])
def test_corrupt_file(tmp_path: Path, kind: str) -> None:
    book = tmp_path / "abîmé.xlsx"
    if kind == "random":
        book.write_bytes(bytes(random.Random(2).randrange(256) for _ in range(3000)))
    elif kind == "truncated":
        data = _make_workbook(tmp_path / "full.xlsx").read_bytes()
        book.write_bytes(data[: len(data) // 2])
    else:
        with zipfile.ZipFile(book, "w") as zf:
            zf.writestr("hello.txt", "bonjour")
    before = book.read_bytes()
    with pytest.raises(InputError) as info:
        check_writable(book)
    assert "endommagé" in info.value.message and "abîmé.xlsx" in info.value.message
    assert book.read_bytes() == before


def test_bad_crc_is_corrupt(tmp_path: Path) -> None:
    book = tmp_path / "crc.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("[Content_Types].xml", "x" * 200)
        zf.writestr("xl/workbook.xml", "<workbook/>")
    data = bytearray(book.read_bytes())
    data[data.index(b"x" * 200) + 10] = ord("y")
    book.write_bytes(bytes(data))
    with pytest.raises(InputError, match="endommagé"):
        check_writable(book)


def test_password_protected(tmp_path: Path) -> None:
    book = tmp_path / "protégé.xlsx"
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 1000
    book.write_bytes(ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100)
    with pytest.raises(InputError) as info:
        check_writable(book)
    assert "mot de passe" in info.value.message and "copie" in info.value.message


def test_old_xls_renamed_xlsx(tmp_path: Path) -> None:
    book = tmp_path / "ancien.xlsx"
    book.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 1000)
    with pytest.raises(InputError, match="97-2003"):
        check_writable(book)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="introuvable"):
        check_writable(tmp_path / "absent.xlsx")


def test_csv_source_checks_the_copy(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("a;b\n1;2\n", encoding="utf-8")
    check_writable(source)
    (tmp_path / "~$export – avec statut.xlsx").write_bytes(b"owner")
    status_copy_path(source).write_bytes(b"placeholder")
    with pytest.raises(WorkbookLockedError, match="Fermez"):
        check_writable(source)


# --------------------------------------------------------------------------- copy for csv/xls/ods


def test_copy_with_status(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("contenu original\n", encoding="utf-8")
    before = source.read_bytes()
    rows: list[list[object]] = [
        ["Échéancier au 15/03/2026", None, None, None],
        ["N° facture", "Client", "Échéance", "Reste dû"],
        ["F1", '=HYPERLINK("http://x")', date(2026, 2, 1), 1234.5],
        ["F2", "Durand", datetime(2026, 2, 15), float("nan")],
        ["F2b", "Petit", None, Decimal("99.90")],
        ["F3", "Martin\x02", datetime(2026, 2, 15, 14, 30), 12, None, None],
    ]
    statuses = {3: "Relance 1 – le 16/03/2026", 6: "Payée"}
    out = write_copy_with_status(source, rows, 2, statuses, HEADER)
    assert out == tmp_path / "export – avec statut.xlsx"
    assert source.read_bytes() == before
    ws = openpyxl.load_workbook(out)["Factures"]
    assert ws["E2"].value == HEADER and ws["E2"].font.b and ws["A2"].font.b
    assert ws["E3"].value == statuses[3] and ws["E4"].value is None and ws["E6"].value == "Payée"
    assert ws["B3"].value == '=HYPERLINK("http://x")' and ws["B3"].data_type == "s"
    assert ws["C3"].value == datetime(2026, 2, 1) and ws["C3"].number_format == "dd/mm/yyyy"
    assert ws["D4"].value is None and ws["D5"].value == 99.9 and ws["B6"].value == "Martin"
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:E6"
    assert ws.column_dimensions["E"].width >= 20
    # Running again overwrites our own copy.
    out2 = write_copy_with_status(source, rows, 2, {3: "Relance 2"}, HEADER)
    assert out2 == out and openpyxl.load_workbook(out)["Factures"]["E3"].value == "Relance 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export – avec statut.xlsx", "export.csv"]


def test_column_letters() -> None:
    assert [column_letter(i) for i in (1, 26, 27, 52, 703, 16384)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "AAA",
        "XFD",
    ]
    assert all(column_index(column_letter(i)) == i for i in range(1, 2000))
    with pytest.raises(ValueError):
        column_letter(0)
