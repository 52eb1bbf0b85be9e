"""Opening an export: whatever its format, every sheet as rows of raw cells, from A1.

Exports come as xlsx, xlsm, xls, xlsb and ods (read by calamine), as csv with ``;``, ``,``
or tab in UTF-8 or Windows-1252, and as the HTML tables some web software saves with an
.xls name. A file that is missing, empty, encrypted or not a spreadsheet gets a French
message saying what to do.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .errors import InputError
from .files import OLE_MAGIC, is_encrypted_workbook

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}

Sheets = dict[str, list[list[object]]]


def read_sheets(path: Path) -> tuple[str, Sheets]:
    """All sheets as row lists, from A1. Returns (kind, {sheet name: rows})."""
    if not path.exists():
        raise InputError(
            f"Fichier introuvable : {path}\nVérifiez le nom et le dossier du fichier."
        )
    if path.is_dir():
        raise InputError(f"« {path} » est un dossier, pas un fichier d'export.")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(
            f"Le fichier « {path.name} » est vide.\n"
            "Refaites l'export depuis votre logiciel comptable, puis relancez."
        )
    suffix = path.suffix.lower()
    if is_encrypted_workbook(data):
        raise InputError(
            f"Le classeur « {path.name} » est protégé par un mot de passe.\n"
            "Ouvrez-le dans Excel, enregistrez une copie sans mot de passe "
            "(Fichier > Informations > Protéger le classeur), puis relancez sur cette copie."
        )
    if suffix not in SPREADSHEET_SUFFIXES | CSV_SUFFIXES:
        raise InputError(
            f"« {path.name} » n'est pas un classeur : formats acceptés .xlsx, .xlsm, .xls, "
            ".ods et .csv.\nExportez l'échéancier clients depuis votre logiciel dans l'un de "
            "ces formats."
        )
    if suffix in CSV_SUFFIXES or _looks_like_text(data):
        head = data[:2048].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<table" in head:
            return "html", {path.stem: _read_html(data)}
        return "csv", {path.stem: _read_csv(data, path)}
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        sheets = {
            name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in wb.sheet_names
        }
    except Exception as exc:  # calamine raises its own error types, all unreadable files
        raise InputError(
            f"Impossible de lire « {path.name} » : le fichier n'est pas un classeur valide "
            f"ou il est endommagé ({type(exc).__name__}).\n"
            "Ouvrez-le dans Excel pour vérifier, enregistrez-le de nouveau au format .xlsx, "
            "puis relancez."
        ) from exc
    return suffix.lstrip("."), sheets


def _looks_like_text(data: bytes) -> bool:
    """Plain text (a csv or html saved with a spreadsheet's name), not a zip or OLE file."""
    head = data[:4096]
    if b"\x00" in head or head.startswith((b"PK", OLE_MAGIC)):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return True


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the same number of fields, quotes
    respected (a client named "Café; Bar" must not turn a comma file into a ';' one)."""
    lines = [line for line in text.splitlines()[:60] if line.strip()]
    best, best_score = ";", (-1.0, 0)
    for delimiter in (";", ",", "\t", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        widest = max(counts)
        if widest < 2:
            continue
        mode = max(set(counts), key=counts.count)
        consistency = counts.count(mode) / len(counts)
        score = (consistency if mode > 1 else 0.0, mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_html(data: bytes) -> list[list[object]]:
    """Old web exports save an HTML table with an .xls name: read its first big table."""
    from lxml import html

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses str with an encoding decl.
    doc = html.fromstring(text)
    tables = doc.findall(".//table")
    if not tables:
        return []
    table = max(tables, key=lambda t: len(t.findall(".//tr")))
    return [
        [" ".join(cell.text_content().split()) for cell in tr if cell.tag in ("td", "th")]
        for tr in table.findall(".//tr")
    ]


def _read_csv(data: bytes, path: Path) -> list[list[object]]:
    """CSV with ';' or ',' (or tab), UTF-8 with or without BOM, or cp1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise InputError(f"Encodage du fichier « {path.name} » non reconnu.")
    delimiter = _sniff_delimiter(text)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return [[c if c.strip() else "" for c in row] for row in rows]

