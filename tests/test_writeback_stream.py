"""The streamed write-back: shapes of rows the byte path must hand to the parser, the two
paths agreeing, and memory that does not grow with the rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from relance_xlsx.errors import InputError
from relance_xlsx.writeback import write_status_column

ROOT = Path(__file__).resolve().parent.parent
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
HEADER = "Statut relance"

_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    "</Types>"
)  # fmt: skip
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)  # fmt: skip
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<workbook xmlns="{NS}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Factures" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)  # fmt: skip


def _book(path: Path, rows: str, *, dimension: str = "A1:C3", extra: str = "") -> Path:
    """A minimal workbook whose one sheet has ``rows`` (the inside of ``sheetData``)."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{NS}" xmlns:x14ac="http://schemas.microsoft.com/office/'
        f'spreadsheetml/2009/9/ac"><dimension ref="{dimension}"/>'
        f"<sheetData>{rows}</sheetData>{extra}</worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", _CONTENT_TYPES)
        out.writestr("_rels/.rels", _ROOT_RELS)
        out.writestr("xl/workbook.xml", _WORKBOOK)
        out.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        out.writestr(SHEET, sheet)
    return path


def _s(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _n(ref: str, value: float) -> str:
    return f'<c r="{ref}"><v>{value}</v></c>'


def _values(path: Path) -> dict[str, object]:
    """Every non-empty cell of the sheet, as openpyxl reads it (what Excel shows)."""
    ws = openpyxl.load_workbook(path)["Factures"]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _write(path: Path, statuses: dict[int, str], header_row: int = 1):
    return write_status_column(path, "Factures", header_row, statuses, HEADER, path.parent / "s")


def _sheet(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(SHEET)


HEAD = f'<row r="1">{_s("A1", "N° facture")}{_s("B1", "Montant")}</row>'


# --------------------------------------------------------------------------- shapes of rows


def test_rows_without_r_are_counted_like_excel(tmp_path: Path) -> None:
    rows = HEAD + f"<row>{_s('A2', 'F1')}{_n('B2', 10)}</row>"
    rows += "<row><c><v>7</v></c><c><v>8</v></c></row>"
    path = _book(tmp_path / "a.xlsx", rows)
    result = _write(path, {2: "Relance 1", 3: "À jour"})
    assert result.column_letter == "C"
    values = _values(path)
    assert values["C1"] == HEADER and values["C2"] == "Relance 1" and values["C3"] == "À jour"
    assert values["A3"] == 7 and values["B3"] == 8  # the implicit cells kept their places


def test_self_closed_and_missing_rows_get_their_status(tmp_path: Path) -> None:
    rows = HEAD + f'<row r="2"/><row r="3" spans="1:2">{_s("A3", "F2")}</row>'
    path = _book(tmp_path / "a.xlsx", rows)
    _write(path, {2: "Relance 1", 3: "Relance 2", 5: "Contentieux"})
    values = _values(path)
    assert (values["C2"], values["C3"], values["C5"]) == ("Relance 1", "Relance 2", "Contentieux")
    xml = _sheet(path)
    assert b'<row r="3" spans="1:3">' in xml  # the hint covers the new cell
    numbers = [int(r.get("r")) for r in etree.fromstring(xml).iter(f"{{{NS}}}row")]
    assert numbers == sorted(numbers) == [1, 2, 3, 5]  # the new row in its place


def test_cells_out_of_order_are_all_kept(tmp_path: Path) -> None:
    rows = HEAD + f'<row r="2">{_n("B2", 5)}{_s("A2", "F1")}</row>'
    path = _book(tmp_path / "a.xlsx", rows)
    _write(path, {2: "Relance 1"})
    assert _values(path) == {
        "A1": "N° facture", "B1": "Montant", "C1": HEADER,
        "A2": "F1", "B2": 5, "C2": "Relance 1",
    }  # fmt: skip


def test_status_column_inside_the_rows_is_replaced_in_place(tmp_path: Path) -> None:
    """A status column reused between data columns: every row spans it, so each one is
    parsed; the cells after it stay, the old status (shared or inline) is replaced."""
    head = f'<row r="1">{_s("A1", "N°")}{_s("B1", HEADER)}{_s("C1", "Montant")}</row>'
    rows = head + "".join(
        f'<row r="{n}" spans="1:3">{_s(f"A{n}", f"F{n}")}{_s(f"B{n}", "vieux")}'
        f'{_n(f"C{n}", n)}</row>'
        for n in range(2, 5)
    )  # fmt: skip
    path = _book(tmp_path / "a.xlsx", rows)
    result = _write(path, {2: "Relance 1", 3: "", 4: "Relance 2"})
    assert result.reused and result.column_letter == "B"
    values = _values(path)
    assert (values["B2"], values["B4"]) == ("Relance 1", "Relance 2") and "B3" not in values
    assert [values[f"C{n}"] for n in range(2, 5)] == [2, 3, 4]


def test_replaced_status_keeps_its_style_and_drops_its_old_type(tmp_path: Path) -> None:
    """The usual weekly case, on the byte path: last cell of each row is last week's status,
    saved by Excel as a shared string with a style."""
    head = f'<row r="1">{_s("A1", "N°")}{_s("B1", HEADER)}</row>'
    rows = head + f'<row r="2">{_s("A2", "F1")}<c r="B2" s="3" t="s" cm="1"><v>0</v></c></row>'
    rows += f'<row r="3">{_s("A3", "F2")}<c r="B3" s="3" t="s"><v>0</v></c></row>'
    path = _book(tmp_path / "a.xlsx", rows)
    _write(path, {2: "Relance 1 & <2>", 3: ""})
    xml = _sheet(path)
    assert b'<c r="B2" s="3" t="inlineStr"><is><t>Relance 1 &amp; &lt;2&gt;</t></is></c>' in xml
    assert b'<c r="B3" s="3"/>' in xml  # emptied, its style kept


def test_formula_in_status_column_refused_on_byte_path(tmp_path: Path) -> None:
    head = f'<row r="1">{_s("A1", "N°")}{_s("B1", HEADER)}</row>'
    rows = head + f'<row r="2">{_s("A2", "F1")}<c r="B2"><f>1+1</f><v>2</v></c></row>'
    path = _book(tmp_path / "a.xlsx", rows)
    before = path.read_bytes()
    with pytest.raises(InputError, match="B2 .*contient une formule"):
        _write(path, {2: "Relance 1"})
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*relance-tmp"))


def test_byte_path_and_parsed_path_agree(tmp_path: Path) -> None:
    """A comment in sheetData sends the whole sheet through lxml: same cells either way."""
    body = HEAD + "".join(
        f'<row r="{n}" spans="1:2" x14ac:dyDescent="0.25">{_s(f"A{n}", f"F{n} &amp; fils")}'
        f'{_n(f"B{n}", n * 1.5)}</row>'
        for n in range(2, 40)
    )  # fmt: skip
    statuses = {n: ("" if n % 7 == 0 else f"Relance {n % 3}  ") for n in range(2, 45)}
    plain = _book(tmp_path / "plain.xlsx", body)
    parsed = _book(tmp_path / "parsed.xlsx", "<!-- export -->" + body)
    _write(plain, statuses)
    _write(parsed, statuses)
    assert _values(plain) == _values(parsed)
    xml = _sheet(plain)
    assert xml.count(b"xmlns=") == 1  # no namespace declarations repeated on rows
    assert b'<row r="2" spans="1:3" x14ac:dyDescent="0.25">' in xml


# --------------------------------------------------------------------------- bounded


def test_million_rows_declared_is_quick(tmp_path: Path) -> None:
    rows = HEAD + f'<row r="2">{_s("A2", "F1")}</row><row r="1048576">{_n("A1048576", 1)}</row>'
    path = _book(tmp_path / "a.xlsx", rows, dimension="A1:C1048576")
    started = time.process_time()
    _write(path, {2: "Relance 1"})
    assert time.process_time() - started < 2
    values = _values_by_xml(path)
    assert values["C2"] == "Relance 1" and values["A1048576"] == "1" and "C1048576" not in values


def _values_by_xml(path: Path) -> dict[str, str]:
    """Cells as text straight from the XML (openpyxl would build a million rows)."""
    found = {}
    for cell in etree.fromstring(_sheet(path)).iter(f"{{{NS}}}c"):
        found[cell.get("r")] = "".join(cell.itertext())
    return found


def test_stray_value_in_last_column_refused_fast_and_unchanged(tmp_path: Path) -> None:
    """20,000 rows and one value in XFD20001: the old tree took 31 s and 12.6 GB to refuse."""
    body = HEAD + "".join(f'<row r="{n}">{_s(f"A{n}", f"F{n}")}{_n(f"B{n}", n)}</row>'
                          for n in range(2, 20001))  # fmt: skip
    body += f'<row r="20001">{_n("XFD20001", 1)}</row>'
    path = _book(tmp_path / "a.xlsx", body, dimension="A1:XFD20001")
    before = path.read_bytes()
    started = time.process_time()
    with pytest.raises(InputError, match="n'a plus de colonne libre pour « Statut relance »"):
        _write(path, dict.fromkeys(range(2, 20001), "Relance 1"))
    assert time.process_time() - started < 10
    assert path.read_bytes() == before


# VmHWM, not ru_maxrss: Linux keeps the forking parent's (pytest's) peak in the latter.
_MEASURE = """
import sys
from pathlib import Path
from relance_xlsx.writeback import write_status_column
path, rows = Path(sys.argv[1]), int(sys.argv[2])
statuses = {n: "Relance 1 à envoyer" for n in range(2, rows + 2)}
write_status_column(path, "Factures", 1, statuses, "Statut relance", path.parent / "s")
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM")))
"""


def test_write_back_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    """20,000 rows of 8 cells: the whole-sheet tree peaked near 200 MB; streamed, the
    process stays near its start (about 30 MB)."""
    cells = "".join(f'<c r="{c}{{n}}" s="1"><v>{{n}}</v></c>' for c in "ABCDEFGH")
    rows = 20_000
    body = HEAD + "".join(f'<row r="{n}">' + cells.format(n=n) + "</row>"
                          for n in range(2, rows + 2))  # fmt: skip
    path = _book(tmp_path / "big.xlsx", body, dimension=f"A1:H{rows + 1}")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(rows)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) < 100
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET)
    assert xml.count(b"Relance 1 \xc3\xa0 envoyer") == rows


def test_empty_sheet_gets_header_and_rows(tmp_path: Path) -> None:
    """``<sheetData/>``: the header row and the status rows are created, in order."""
    path = _book(tmp_path / "a.xlsx", "", dimension="A1")
    sheet = _sheet(path).replace(b"<sheetData></sheetData>", b"<sheetData/>")
    with zipfile.ZipFile(path, "w") as out:  # rebuilt with the self-closed sheetData
        out.writestr("[Content_Types].xml", _CONTENT_TYPES)
        out.writestr("_rels/.rels", _ROOT_RELS)
        out.writestr("xl/workbook.xml", _WORKBOOK)
        out.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        out.writestr(SHEET, sheet)
    _write(path, {3: "Relance 1", 2: "À jour"})
    assert _values(path) == {"A1": HEADER, "A2": "À jour", "A3": "Relance 1"}
