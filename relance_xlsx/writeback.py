"""Write the status column back into the user's workbook without losing anything.

openpyxl's load-and-save drops parts of a workbook (cached formula results, some charts,
extensions, VBA signatures…), so for .xlsx/.xlsm we patch the one worksheet's XML inside the
zip with lxml and copy every other zip entry unchanged. Strings are written inline so that
``xl/sharedStrings.xml`` stays untouched. The original is backed up first and replaced
atomically (temporary file in the same folder, fsync, ``os.replace``).

Formats that cannot take a column in place (csv, xls, ods) get a new ``… – avec statut.xlsx``
beside the source, built with openpyxl; the source itself is never modified.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import shutil
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from relance_xlsx.errors import InputError, RelanceError, WorkbookLockedError
from relance_xlsx.files import OLE_MAGIC, is_encrypted_workbook, is_writable
from relance_xlsx.parsing import header_key

__all__ = [
    "WriteBackResult",
    "check_writable",
    "column_index",
    "column_letter",
    "status_copy_path",
    "write_copy_with_status",
    "write_status_column",
]

INPLACE_SUFFIXES = frozenset({".xlsx", ".xlsm"})
MAX_COLUMN = 16384  # XFD
MAX_ROW = 1_048_576
MAX_CELL_CHARS = 32_767  # Excel refuses longer cell texts
STATUS_COLUMN_WIDTH = 48.0


_XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_SPACE = f"{{{_XML_NS}}}space"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# Characters XML 1.0 forbids (and the two non-characters Excel chokes on).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel decodes "_x0041_" as "A" inside strings; a literal one must be escaped as "_x005F_x0041_".
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?(<\?xml[^>]*\?>\s*)")


@dataclass(frozen=True)
class WriteBackResult:
    """Where the status column went, and where the untouched original was saved."""

    path: Path
    backup: Path
    column_letter: str
    column_index: int
    reused: bool


# --------------------------------------------------------------------------- column letters


def column_letter(index: int) -> str:
    """1 -> "A", 27 -> "AA" (Excel's bijective base 26)."""
    if not 1 <= index <= MAX_COLUMN:
        raise ValueError(f"column index out of range: {index}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_COLUMN_CACHE: dict[str, int] = {}


def column_index(letters: str) -> int:
    """``"A"`` -> 1, ``"AA"`` -> 27; cached because every cell reference goes through it."""
    cached = _COLUMN_CACHE.get(letters)
    if cached is None:
        cached = 0
        for char in letters.upper():
            if not "A" <= char <= "Z":
                raise ValueError(f"not a column: {letters!r}")
            cached = cached * 26 + ord(char) - 64
        _COLUMN_CACHE[letters] = cached
    return cached


def _split_ref(ref: str) -> tuple[int, int]:
    """``"AB12"`` -> ``(28, 12)``; ``$`` signs are ignored."""
    letters = ref.rstrip("0123456789")
    return column_index(letters.replace("$", "")), int(ref[len(letters) :])


def _ref_column(ref: str) -> int:
    """``"AB12"`` -> 28, without parsing the row (hot path: every cell visited)."""
    return column_index(ref.rstrip("0123456789").replace("$", ""))


# --------------------------------------------------------------------------- checks


def status_copy_path(source: Path) -> Path:
    """The new workbook written beside a csv/xls/ods export."""
    return source.with_name(f"{source.stem} – avec statut.xlsx")


def check_writable(path: Path) -> None:
    """Refuse early, before anything is written, a workbook we could not safely replace.

    For .xlsx/.xlsm the workbook itself is checked (open in Excel, read-only, folder not
    writable, corrupt, password-protected). For other formats the source is only read, so the
    checks apply to the ``… – avec statut.xlsx`` copy and its folder.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"Le fichier « {path} » est introuvable. "
            f"Vérifiez son nom et son dossier, puis relancez."
        )
    _check_not_encrypted(path)
    if path.suffix.lower() in INPLACE_SUFFIXES:
        _check_not_locked(path)
        _check_folder_writable(path)
        _check_valid_xlsx(path)
    else:
        target = status_copy_path(path)
        if target.exists():
            _check_not_locked(target)
        _check_folder_writable(target)


def _owner_files(path: Path) -> list[Path]:
    """Excel's lock files for ``path``: ``~$`` + name, or + name minus 2 characters."""
    candidates = [path.with_name("~$" + path.name)]
    if len(path.name) > 2:
        truncated = path.name[2:]
        # "~$" + name[2:] is also the full-name owner file of a workbook called name[2:]:
        # only count it when no such workbook sits in the folder.
        if not path.with_name(truncated).exists():
            candidates.append(path.with_name("~$" + truncated))
    return [candidate for candidate in candidates if candidate.exists()]


def _check_not_locked(path: Path) -> None:
    """Open in Excel (owner file present, or Windows share lock) or read-only."""
    owners = _owner_files(path)
    if owners:
        raise WorkbookLockedError(
            f"Le classeur « {path.name} » est ouvert dans Excel (fichier « {owners[0].name} » "
            f"présent dans « {path.parent} »). Fermez-le dans Excel puis relancez. "
            f"Si Excel n'est pas ouvert, ce fichier caché est resté après un plantage : "
            f"supprimez-le puis relancez."
        )
    try:
        writable = is_writable(path)
    except OSError as exc:
        raise InputError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc
    if not writable:
        raise WorkbookLockedError(
            f"Le classeur « {path.name} » (dossier « {path.parent} ») est en lecture seule. "
            f"Décochez « Lecture seule » dans ses propriétés (clic droit > Propriétés), "
            f"ou copiez-le dans un dossier où vous pouvez écrire, puis relancez."
        )
    try:
        # Excel on Windows holds the file open without sharing: opening it for writing fails.
        with open(path, "r+b"):
            pass
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"Le classeur « {path.name} » (dossier « {path.parent} ») est utilisé par un autre "
            f"programme, probablement Excel. Fermez-le puis relancez."
        ) from exc


def _check_folder_writable(path: Path) -> None:
    """The temporary file and the atomic replace need a writable folder."""
    folder = path.parent
    if not is_writable(folder):
        raise WorkbookLockedError(
            f"Le dossier « {folder} » n'est pas accessible en écriture : impossible d'y écrire "
            f"« {path.name} ». Copiez le fichier dans un dossier où vous pouvez écrire "
            f"(par exemple Documents) puis relancez."
        )


def _check_not_encrypted(path: Path) -> None:
    """A password-protected workbook is an OLE file holding an "EncryptedPackage" stream."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(OLE_MAGIC))
            if magic != OLE_MAGIC:
                return
            data = magic + fh.read()
    except OSError as exc:
        raise InputError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc
    if is_encrypted_workbook(data):
        raise InputError(
            f"Le classeur « {path.name} » (dossier « {path.parent} ») est protégé par un mot de "
            f"passe et ne peut pas être lu. Ouvrez-le dans Excel, enregistrez une copie sans mot "
            f"de passe (Fichier > Informations > Protéger le classeur > Chiffrer avec mot de "
            f"passe : effacez le mot de passe), puis relancez sur cette copie."
        )
    if path.suffix.lower() in INPLACE_SUFFIXES:
        raise InputError(
            f"Le fichier « {path.name} » (dossier « {path.parent} ») porte l'extension "
            f"{path.suffix} mais est un ancien classeur Excel 97-2003 (.xls). Ouvrez-le dans "
            f"Excel et enregistrez-le au format « Classeur Excel (.xlsx) », puis relancez."
        )


def _corrupt(path: Path, detail: str) -> InputError:
    """One wording for every way a workbook can be unreadable."""
    return InputError(
        f"Le classeur « {path.name} » (dossier « {path.parent} ») est endommagé ou n'est pas un "
        f"classeur Excel valide ({detail}). Ouvrez-le dans Excel, enregistrez-le à nouveau au "
        f"format .xlsx, puis relancez."
    )


def _check_valid_xlsx(path: Path) -> None:
    """A readable zip whose entries pass their CRC and that contains a workbook part."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise _corrupt(path, f"élément « {bad} » illisible")
            _workbook_part(zf, path)
    except InputError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        ValueError,
        NotImplementedError,
        etree.XMLSyntaxError,
    ) as exc:
        raise _corrupt(path, "archive zip illisible") from exc
    except OSError as exc:
        raise InputError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc


# --------------------------------------------------------------------------- package parts


def _parser() -> etree.XMLParser:
    """Keep everything (CDATA, comments, whitespace); never resolve entities."""
    return etree.XMLParser(
        huge_tree=True, strip_cdata=False, resolve_entities=False, remove_blank_text=False
    )


def _parse(data: bytes) -> etree._ElementTree:
    return etree.parse(BytesIO(data), _parser())


def _names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part names by lower case: OPC part names are case-insensitive."""
    return {name.lower(): name for name in zf.namelist()}


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _relationships(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved part name) of the internal relationships of ``part``."""
    names = _names(zf)
    rels_name = names.get(_rels_path(part).lower())
    if rels_name is None:
        return []
    root = _parse(zf.read(rels_name)).getroot()
    base = posixpath.dirname(part)
    result = []
    for rel in root.iter(f"{{{_PKG_REL_NS}}}Relationship", "Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(base, target))
        result.append((rel.get("Id", ""), rel.get("Type", ""), resolved))
    return result


def _workbook_part(zf: zipfile.ZipFile, path: Path) -> str:
    """The workbook part, from the package relationships (usually xl/workbook.xml)."""
    names = _names(zf)
    for _id, rel_type, target in _relationships(zf, ""):
        if rel_type.endswith("/officeDocument") and target.lower() in names:
            return names[target.lower()]
    if "xl/workbook.xml" in names:
        return names["xl/workbook.xml"]
    raise _corrupt(path, "partie « xl/workbook.xml » absente")


def _locate_sheet(zf: zipfile.ZipFile, path: Path, sheet_name: str) -> tuple[str, str | None]:
    """(worksheet part, shared strings part or None) for the sheet called ``sheet_name``."""
    workbook = _workbook_part(zf, path)
    root = _parse(zf.read(workbook)).getroot()
    sheets: list[tuple[str, str]] = []
    for sheet in root.iter("{*}sheet"):
        rel_id = ""
        for key, value in sheet.attrib.items():
            qname = etree.QName(key)
            if qname.localname == "id" and qname.namespace:
                rel_id = value
        sheets.append((sheet.get("name", ""), rel_id))
    chosen = next((rid for name, rid in sheets if name == sheet_name), None)
    if chosen is None:
        wanted = sheet_name.casefold()
        chosen = next((rid for name, rid in sheets if name.casefold() == wanted), None)
    if chosen is None:
        listed = ", ".join(f"« {name} »" for name, _ in sheets) or "aucune"
        raise InputError(
            f"La feuille « {sheet_name} » est introuvable dans le classeur « {path.name} » "
            f"(feuilles présentes : {listed}). Vérifiez le nom de la feuille dans les réglages."
        )
    names = _names(zf)
    sheet_part = shared_part = None
    for rel_id, rel_type, target in _relationships(zf, workbook):
        if rel_id == chosen:
            sheet_part = names.get(target.lower())
        elif rel_type.endswith("/sharedStrings"):
            shared_part = names.get(target.lower())
    if sheet_part is None:
        raise _corrupt(path, f"la feuille « {sheet_name} » n'a pas de contenu")
    return sheet_part, shared_part


def _shared_strings(zf: zipfile.ZipFile, part: str | None, wanted: set[int]) -> dict[int, str]:
    """Only the shared strings the header row needs."""
    if part is None or not wanted:
        return {}
    root = _parse(zf.read(part)).getroot()
    ns = etree.QName(root).namespace
    t_tag, rph_tag = f"{{{ns}}}t", f"{{{ns}}}rPh"
    found: dict[int, str] = {}
    last = max(wanted)
    for index, item in enumerate(root.iterchildren(f"{{{ns}}}si")):
        if index > last:
            break
        if index in wanted:
            found[index] = "".join(
                t.text or "" for t in item.iter(t_tag) if t.getparent().tag != rph_tag
            )
    return found


# --------------------------------------------------------------------------- sheet patching


@lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """Drop characters XML 1.0 forbids, escape Excel's ``_xHHHH_`` and cap the length.

    Cached: a run writes the same few status texts on thousands of rows.
    """
    text = _ILLEGAL_XML.sub("", text)
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    return text[:MAX_CELL_CHARS]


@lru_cache(maxsize=4096)
def _needs_preserve(text: str) -> bool:
    """XML parsers may drop leading/trailing or repeated whitespace without xml:space."""
    return text != text.strip() or "\n" in text or "\t" in text or "  " in text


class _Sheet:
    """One worksheet's XML and the few lookups the patch needs, built in one pass."""

    def __init__(self, tree: etree._ElementTree, path: Path, sheet_name: str) -> None:
        self.tree = tree
        self.root = tree.getroot()
        qname = etree.QName(self.root)
        if qname.localname != "worksheet":
            raise InputError(
                f"La feuille « {sheet_name} » du classeur « {path.name} » n'est pas une feuille "
                f"de calcul (graphique ou macro) : choisissez la feuille qui contient le tableau."
            )
        ns = qname.namespace
        self.ns = ns
        self.c_tag, self.row_tag = f"{{{ns}}}c", f"{{{ns}}}row"
        self.v_tag, self.f_tag, self.is_tag = f"{{{ns}}}v", f"{{{ns}}}f", f"{{{ns}}}is"
        self.t_tag = f"{{{ns}}}t"
        sheet_data = self.root.find(f"{{{ns}}}sheetData")
        if sheet_data is None:
            raise _corrupt(path, f"la feuille « {sheet_name} » n'a pas de données")
        self.sheet_data = sheet_data
        self.rows: dict[int, etree._Element] = {}
        previous = 0
        for row in sheet_data.iterchildren(self.row_tag):
            ref = row.get("r")
            number = int(ref) if ref else previous + 1
            previous = number
            self.rows.setdefault(number, row)
        self.row_numbers = sorted(self.rows)

    # ---- cells

    def cells(self, row: etree._Element) -> Iterator[tuple[int, etree._Element]]:
        """(column, cell) in document order; a cell without ``r`` follows its predecessor."""
        column = 0
        for cell in row.iterchildren(self.c_tag):
            ref = cell.get("r")
            column = _ref_column(ref) if ref else column + 1
            yield column, cell

    def has_value(self, cell: etree._Element) -> bool:
        """A formula, a value or a non-empty inline string; a bare styled cell is empty."""
        for child in cell:
            tag = child.tag
            if tag == self.f_tag:
                return True
            if tag == self.v_tag and child.text:
                return True
            if tag == self.is_tag and "".join(child.itertext()):
                return True
        return False

    def last_value_column(self, row: etree._Element) -> int:
        """Rightmost column holding a value; reads from the end, the usual case is 1 cell."""
        for cell in row.iterchildren(self.c_tag, reversed=True):
            if self.has_value(cell):
                ref = cell.get("r")
                if ref:
                    return _ref_column(ref)
                break  # implicit positions: count from the start
        else:
            return 0
        return max((col for col, cell in self.cells(row) if self.has_value(cell)), default=0)

    def last_used_column(self, first_row: int) -> int:
        start = bisect_right(self.row_numbers, first_row - 1)
        return max(
            (self.last_value_column(self.rows[n]) for n in self.row_numbers[start:]), default=0
        )

    def cell_text(self, cell: etree._Element, shared: Mapping[int, str]) -> str:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            node = cell.find(self.is_tag)
            if node is None:
                return ""
            rph = f"{{{self.ns}}}rPh"
            return "".join(t.text or "" for t in node.iter(self.t_tag) if t.getparent().tag != rph)
        value = cell.findtext(self.v_tag) or ""
        if kind == "s":
            try:
                return shared.get(int(value), "")
            except ValueError:
                return ""
        return value

    # ---- edits

    def row(self, number: int) -> etree._Element:
        """The ``<row>`` for ``number``, created in sorted position when missing."""
        existing = self.rows.get(number)
        if existing is not None:
            return existing
        new = self.sheet_data.makeelement(self.row_tag, {"r": str(number)})
        position = bisect_right(self.row_numbers, number)
        if position < len(self.row_numbers):
            self.rows[self.row_numbers[position]].addprevious(new)
        else:
            self.sheet_data.append(new)
        self.rows[number] = new
        self.row_numbers.insert(position, number)
        return new

    def cell(self, row: etree._Element, row_number: int, column: int) -> etree._Element:
        """The ``<c>`` at ``column``, created in sorted position when missing.

        Scans from the end of the row: the status column is usually the last one.
        """
        if len(row):
            last = row[-1]
            ref = last.get("r") if last.tag == self.c_tag else None
            if ref and _ref_column(ref) < column:  # the usual case: append
                return etree.SubElement(row, self.c_tag, r=f"{column_letter(column)}{row_number}")
        after = None
        for cell in row.iterchildren(self.c_tag, reversed=True):
            ref = cell.get("r")
            if not ref:  # implicit positions: only a scan from the start knows them
                return self._cell_forward(row, row_number, column)
            col = _ref_column(ref)
            if col == column:
                return cell
            if col < column:
                after = cell
                break
        new = row.makeelement(self.c_tag, {"r": f"{column_letter(column)}{row_number}"})
        if after is not None:
            after.addnext(new)
        else:
            row.insert(0, new)  # before any cell, and before the row's extLst
        return new

    def _cell_forward(self, row: etree._Element, row_number: int, column: int) -> etree._Element:
        last = None
        for col, cell in self.cells(row):
            if col == column:
                return cell
            if col > column:
                break
            last = cell
        new = row.makeelement(self.c_tag, {"r": f"{column_letter(column)}{row_number}"})
        if last is not None:
            last.addnext(new)
        else:
            row.insert(0, new)
        return new

    def set_text(self, cell: etree._Element, text: str) -> None:
        """Make ``cell`` an inline string (its style ``s`` is kept)."""
        if len(cell):
            for child in list(cell):
                cell.remove(child)
        keys = cell.keys()
        for attribute in ("t", "cm", "vm", "ph"):  # type and metadata of the old value
            if attribute in keys:
                del cell.attrib[attribute]
        if not text:
            return
        cell.set("t", "inlineStr")
        node = etree.SubElement(etree.SubElement(cell, self.is_tag), self.t_tag)
        node.text = text
        if _needs_preserve(text):
            node.set(_XML_SPACE, "preserve")

    def widen_dimension(self, column: int, first_row: int, last_row: int) -> None:
        dimension = self.root.find(f"{{{self.ns}}}dimension")
        if dimension is None:
            return
        ref = dimension.get("ref", "")
        try:
            parts = [_split_ref(part) for part in ref.split(":")]
        except ValueError:
            return
        cols = [c for c, _ in parts] + [column]
        rows = [r for _, r in parts] + [first_row, last_row]
        dimension.set(
            "ref",
            f"{column_letter(min(cols))}{min(rows)}:{column_letter(max(cols))}{max(rows)}",
        )

    def ensure_width(self, column: int, width: float) -> None:
        """Give the new column a width, unless a ``<col>`` range already covers it."""
        col_tag = f"{{{self.ns}}}col"
        cols = self.root.find(f"{{{self.ns}}}cols")
        if cols is None:
            cols = self.root.makeelement(f"{{{self.ns}}}cols", {})
            self.sheet_data.addprevious(cols)  # CT_Worksheet order: cols right before sheetData
        after = None
        for col in cols.iterchildren(col_tag):
            low, high = int(col.get("min", "0")), int(col.get("max", "0"))
            if low <= column <= high:
                return
            if high < column:
                after = col
        new = cols.makeelement(
            col_tag,
            {"min": str(column), "max": str(column), "width": f"{width:g}", "customWidth": "1"},
        )
        if after is None:
            cols.insert(0, new)
        else:
            after.addnext(new)

    def serialise(self, original: bytes) -> bytes:
        """The patched XML, keeping the original XML declaration byte for byte."""
        match = _DECLARATION.match(original)
        if match and re.search(rb"""encoding\s*=\s*["'](?!utf-?8["'])""", match.group(2), re.I):
            match = None  # not UTF-8: let lxml write a matching declaration
        if match is None:
            return etree.tostring(
                self.tree,
                encoding="UTF-8",
                xml_declaration=True,
                standalone=self.tree.docinfo.standalone,
            )
        body = etree.tostring(self.tree, encoding="UTF-8", xml_declaration=False)
        return (match.group(1) or b"") + match.group(2) + body


def _widen_spans(row: etree._Element, column: int) -> None:
    """Keep the optional ``spans`` hint covering the new cell."""
    spans = row.get("spans")
    if not spans:
        return
    widened = _widened_spans(spans, column)
    if widened is None:
        del row.attrib["spans"]  # a broken hint is worse than none
    elif widened != spans:
        row.set("spans", widened)


@lru_cache(maxsize=1024)
def _widened_spans(spans: str, column: int) -> str | None:
    """``"1:12"`` (or several ranges ``"1:3 5:12"``) stretched to ``column``; None if broken."""
    try:
        ranges = [[int(x) for x in part.split(":")] for part in spans.split()]
        low, high = ranges[0][0], ranges[-1][-1]
    except (ValueError, IndexError):
        return None
    if low <= column <= high:
        return spans
    if column < low:
        ranges[0][0] = column
    else:
        ranges[-1][-1] = column
    return " ".join(":".join(map(str, r)) for r in ranges)


def _patch_sheet(
    sheet: _Sheet,
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    column: int,
    reused: bool,
    path: Path,
) -> None:
    """Write the header (new column only) and the statuses; nothing else changes."""
    letter = column_letter(column)
    if not reused:  # a reused header stays as the user typed it
        row = sheet.row(header_row)
        cell = sheet.cell(row, header_row, column)
        left = [c for col, c in sheet.cells(row) if col < column]
        if left and left[-1].get("s"):
            cell.set("s", left[-1].get("s", "0"))  # look like the neighbouring headers
        sheet.set_text(cell, clean_text(header))
        _widen_spans(row, column)
        sheet.ensure_width(column, STATUS_COLUMN_WIDTH)
    last_row = header_row
    for number in sorted(statuses):
        text = clean_text(statuses[number])
        if not text and number not in sheet.rows:
            continue
        row = sheet.row(number)
        cell = sheet.cell(row, number, column)
        if cell.find(sheet.f_tag) is not None:
            # Overwriting a formula would leave a stale xl/calcChain.xml entry (Excel "repair").
            raise InputError(
                f"La cellule {letter}{number} de la colonne « {header} » du classeur "
                f"« {path.name} » contient une formule : le statut ne peut pas la remplacer. "
                f"Videz cette colonne dans Excel (ou renommez son en-tête), puis relancez."
            )
        sheet.set_text(cell, text)
        if len(cell):
            _widen_spans(row, column)
        elif not cell.get("s"):
            row.remove(cell)
        last_row = max(last_row, number)
    sheet.widen_dimension(column, header_row, last_row)


def _choose_column(
    sheet: _Sheet,
    shared_loader: Callable[[set[int]], dict[int, str]],
    header_row: int,
    header: str,
) -> tuple[int, bool]:
    """Reuse the column whose header matches ``header``, else the one after the last used."""
    row = sheet.rows.get(header_row)
    header_cells = list(sheet.cells(row)) if row is not None else []
    wanted: set[int] = set()
    for _col, cell in header_cells:
        if cell.get("t") == "s":
            try:
                wanted.add(int(cell.findtext(sheet.v_tag) or ""))
            except ValueError:
                pass
    shared = shared_loader(wanted)
    target = header_key(header)  # the reader's key too: both must pick the same column
    for col, cell in header_cells:
        if header_key(sheet.cell_text(cell, shared)) == target:
            return col, True
    return sheet.last_used_column(header_row) + 1, False


# --------------------------------------------------------------------------- write in place


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def _temp_path(path: Path) -> Path:
    """Hidden temporary file in the same folder (``~$`` names belong to Excel)."""
    return path.with_name(f".{path.name}.relance-tmp")


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the OS allows it (POSIX only)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_zip(source: zipfile.ZipFile, target: BinaryIO, replaced: Mapping[str, bytes]) -> None:
    """Every entry in the same order with the same name, date, attributes and compression."""
    with zipfile.ZipFile(target, "w", allowZip64=True) as out:
        out.comment = source.comment
        for info in source.infolist():
            data = replaced[info.filename] if info.filename in replaced else source.read(info)
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            new.comment = info.comment
            out.writestr(new, data)


def write_status_column(
    path: Path,
    sheet_name: str,
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    backup_dir: Path,
    now: datetime | None = None,
) -> WriteBackResult:
    """Put ``statuses`` (sheet row -> text) in the status column of an .xlsx/.xlsm in place.

    Only the worksheet's XML changes; the original is copied to ``backup_dir`` first and
    replaced atomically. On any failure the original is left untouched.
    """
    path = Path(path)
    if path.suffix.lower() not in INPLACE_SUFFIXES:
        raise ValueError(f"write_status_column needs an .xlsx/.xlsm workbook, not {path.name}")
    if not 1 <= header_row < MAX_ROW:
        raise ValueError(f"header_row out of range: {header_row}")
    bad_rows = [n for n in statuses if not header_row < n <= MAX_ROW]
    if bad_rows:
        raise ValueError(f"status rows must be below the header row {header_row}: {bad_rows[:5]}")
    if not header_key(header):
        raise ValueError("the status column header must not be blank")
    _check_not_locked(path)  # Excel may have opened it since check_writable

    try:
        with zipfile.ZipFile(path) as zf:
            sheet_part, shared_part = _locate_sheet(zf, path, sheet_name)
            original = zf.read(sheet_part)
            try:
                tree = _parse(original)
            except etree.XMLSyntaxError as exc:
                raise _corrupt(path, f"feuille « {sheet_name} » illisible") from exc
            sheet = _Sheet(tree, path, sheet_name)
            column, reused = _choose_column(
                sheet, lambda wanted: _shared_strings(zf, shared_part, wanted), header_row, header
            )
            if column > MAX_COLUMN:
                raise InputError(
                    f"La feuille « {sheet_name} » du classeur « {path.name} » n'a plus de "
                    f"colonne libre pour « {header} ». Supprimez une colonne inutile puis relancez."
                )
            _patch_sheet(sheet, header_row, statuses, header, column, reused, path)
            patched = sheet.serialise(original)

            temp = _temp_path(path)
            try:
                with open(temp, "wb") as fh:
                    _copy_zip(zf, fh, {sheet_part: patched})
                    fh.flush()
                    os.fsync(fh.fileno())
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
    except RelanceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, etree.XMLSyntaxError) as exc:
        raise _corrupt(path, "archive zip ou XML illisible") from exc
    except OSError as exc:
        _temp_path(path).unlink(missing_ok=True)
        raise RelanceError(
            f"Impossible d'écrire le statut dans « {path.name} » (dossier « {path.parent} ») : "
            f"{exc.strerror or exc}. Le classeur n'a pas été modifié."
        ) from exc

    try:
        shutil.copymode(path, temp)
        backup = _backup(path, backup_dir, now or datetime.now())
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RelanceError(
                f"Impossible de sauvegarder le classeur « {path.name} » dans le dossier "
                f"« {backup_dir} » : {exc.strerror or exc}. Vérifiez ce dossier (réglages) puis "
                f"relancez. Le classeur n'a pas été modifié."
            ) from exc
        raise
    try:
        os.replace(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        backup.unlink(missing_ok=True)  # identical to the untouched original: no clutter
        if isinstance(exc, PermissionError):
            raise WorkbookLockedError(
                f"Le classeur « {path.name} » (dossier « {path.parent} ») n'a pas pu être "
                f"remplacé : il est sans doute ouvert dans Excel. Fermez-le puis relancez. "
                f"Il n'a pas été modifié."
            ) from exc
        if isinstance(exc, OSError):
            raise RelanceError(
                f"Impossible d'enregistrer « {path.name} » (dossier « {path.parent} ») : "
                f"{exc.strerror or exc}. Le classeur n'a pas été modifié."
            ) from exc
        raise
    _fsync_folder(path.parent)
    return WriteBackResult(
        path=path,
        backup=backup,
        column_letter=column_letter(column),
        column_index=column,
        reused=reused,
    )


def _backup(path: Path, backup_dir: Path, now: datetime) -> Path:
    """Byte-for-byte copy of the original, named with the date and time of the run."""
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = _unique(backup_dir / f"{path.stem} – sauvegarde {now:%Y-%m-%d %Hh%Mm%S}{path.suffix}")
    try:
        shutil.copyfile(path, target)
        shutil.copystat(path, target)
        with open(target, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- copy for csv/xls/ods


_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _cell_value(value: object) -> object:
    """What openpyxl can store: numpy scalars unwrapped, NaN/NaT/NA blank, text cleaned."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, Decimal):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes | datetime | date):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | datetime | date | time):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    return clean_text(str(value))


def _display_width(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return 10
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def write_copy_with_status(
    source: Path,
    rows: list[list[object]],
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    sheet_title: str = "Factures",
) -> Path:
    """Build ``<stem> – avec statut.xlsx`` beside a csv/xls/ods export; the source is untouched.

    ``rows`` are the sheet's rows as read (row 1 first); the status column goes after the last
    used column of the table, with a bold header, filter and frozen header row.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    source = Path(source)
    target = status_copy_path(source)
    bad_rows = [n for n in statuses if not header_row < n <= MAX_ROW]
    if bad_rows:
        raise ValueError(f"status rows must be below the header row {header_row}: {bad_rows[:5]}")

    def used(values: list[object]) -> int:
        for i in range(len(values), 0, -1):
            if _cell_value(values[i - 1]) not in (None, ""):
                return i
        return 0

    table_rows = rows[header_row - 1 :]
    last_col = max((used(r) for r in table_rows), default=0)
    status_col = last_col + 1
    last_row = max([len(rows), header_row, *statuses])

    wb = Workbook()
    ws = wb.active
    title = _SHEET_TITLE_FORBIDDEN.sub(" ", sheet_title).strip("' ")[:31] or "Factures"
    ws.title = title
    widths: dict[int, int] = {}
    bold = Font(bold=True)
    for r, values in enumerate(rows, start=1):
        for c, raw in enumerate(values, start=1):
            value = _cell_value(raw)
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # "=…" from a csv stays text, never a formula
            elif isinstance(value, datetime):
                has_time = value.time() != time(0)
                cell.number_format = "dd/mm/yyyy hh:mm" if has_time else "dd/mm/yyyy"
            elif isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
            elif isinstance(value, float):
                cell.number_format = "#,##0.00"
            if r == header_row:
                cell.font = bold
            if r >= header_row and r <= header_row + 2000:  # widths from a sample is enough
                widths[c] = max(widths.get(c, 0), _display_width(value))

    head = ws.cell(row=header_row, column=status_col, value=clean_text(header))
    head.data_type = "s"
    head.font = bold
    status_width = len(header)
    for number, text in statuses.items():
        cell = ws.cell(row=number, column=status_col, value=clean_text(text) or None)
        if cell.value is not None:
            cell.data_type = "s"
            status_width = max(status_width, len(cell.value))

    for c, width in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 50)
    ws.column_dimensions[get_column_letter(status_col)].width = min(max(status_width + 2, 20), 60)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(status_col)}{last_row}"

    temp = _temp_path(target)
    try:
        wb.save(temp)
        with open(temp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except PermissionError as exc:
        temp.unlink(missing_ok=True)
        raise WorkbookLockedError(
            f"Impossible d'écrire « {target.name} » (dossier « {target.parent} ») : le fichier "
            f"est sans doute ouvert dans Excel ou le dossier est protégé. Fermez-le puis relancez."
        ) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target
