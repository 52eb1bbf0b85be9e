"""Opening an export: whatever its format, every sheet as rows of raw cells, from A1.

Exports come as xlsx, xlsm, xls, xlsb and ods (read by calamine), as csv with ``;``, ``,``
or tab in UTF-8 or Windows-1252, and as the HTML tables some web software saves with an
.xls name. A file that is missing, empty, encrypted or not a spreadsheet gets a French
message saying what to do.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

from lxml import etree

from .errors import InputError
from .far_cells import ods_far_cell, xls_far_cell
from .files import OLE_MAGIC, is_encrypted_workbook, zip_bomb_message
from .sheet_rows import sheet_rows
from .xlsx_cells import duplicated_parts, oversized, read_sparse_sheet, sheet_parts
from .xlsx_halves import read_in_halves

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
        raise _protected(path)
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
    if data.startswith(b"PK"):
        _check_zip(path)
    _refuse_far_cells(path, data)
    del data  # calamine reads the file itself: the bytes are not kept while it does
    sheets = _read_with_calamine(path)
    return suffix.lstrip("."), sheets


def _damaged(path: Path) -> InputError:
    return InputError(
        f"Impossible de lire « {path.name} » : le fichier n'est pas un classeur valide "
        "ou il est endommagé.\n"
        "Ouvrez-le dans Excel pour vérifier, enregistrez-le de nouveau au format .xlsx, "
        "puis relancez."
    )


def _protected(path: Path) -> InputError:
    return InputError(
        f"Le classeur « {path.name} » est protégé par un mot de passe.\n"
        "Ouvrez-le dans Excel, enregistrez une copie sans mot de passe "
        "(Fichier > Informations > Protéger le classeur), puis relancez sur cette copie."
    )


def _check_zip(path: Path) -> None:
    """A zip bomb is refused before anything is decompressed. A zip with two parts of the
    same name too: which one a reader takes is undefined, so the table read could differ
    from the one Excel shows."""
    try:
        with zipfile.ZipFile(path) as archive:
            bomb = zip_bomb_message(path, archive)
            twice = duplicated_parts(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _damaged(path) from exc
    if bomb:
        raise InputError(bomb)
    if twice:
        raise InputError(
            f"Impossible de lire « {path.name} » : le fichier est endommagé ou falsifié "
            f"(la partie « {twice[0]} » y figure deux fois).\n"
            "Ouvrez-le dans Excel, enregistrez-le de nouveau au format .xlsx, puis relancez."
        )


def _refuse_far_cells(path: Path, data: bytes) -> None:
    """An .xls or .ods sheet with a stray value far from its table would make calamine
    allocate the whole area (over 1 GB): it is refused, naming the cell to clear."""
    far = None
    if data.startswith(OLE_MAGIC):
        far = xls_far_cell(data)
    elif data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "content.xml" in archive.namelist():
                    far = ods_far_cell(archive)
        except (zipfile.BadZipFile, OSError, ValueError, etree.XMLSyntaxError):
            return  # calamine says "endommagé"
    if far:
        sheet, cell = far
        raise InputError(
            f"La feuille « {sheet} » de « {path.name} » contient une valeur isolée très loin "
            f"du tableau, en {cell} : la lire demanderait trop de mémoire.\n"
            "Ouvrez le fichier, allez à la dernière cellule (Ctrl+Fin), effacez-la (ou "
            "supprimez les lignes et colonnes vides jusqu'à elle), enregistrez, puis relancez."
        )


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """calamine's panics print a Rust message (and a backtrace with RUST_BACKTRACE) on the
    process's stderr: the user gets the French message instead, so that text is discarded."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, pythonw): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _read_with_calamine(path: Path) -> Sheets:
    """Every sheet through calamine, an oversized xlsx sheet cell by cell. Any failure of
    the library, a Rust panic included (a ``BaseException``), is the "endommagé" message."""
    import python_calamine

    try:
        with _quiet_stderr(), ExitStack() as stack:
            archive, parts = None, {}
            if zipfile.is_zipfile(path) and path.suffix.lower() in (".xlsx", ".xlsm"):
                archive = stack.enter_context(zipfile.ZipFile(path))
                parts = sheet_parts(archive)
            wb = python_calamine.CalamineWorkbook.from_path(str(path))
            sheets: Sheets = {}
            for name in wb.sheet_names:
                part = parts.get(name)
                whole = partial(_whole_sheet, wb, name)
                rows = read_in_halves(archive, part, name, whole=whole) if (
                    archive and part) else None  # fmt: skip
                if rows is None and archive and part and oversized(archive, part):
                    rows = read_sparse_sheet(archive, part)
                if rows is None:
                    rows = whole()
                sheets[name] = rows
            return sheets
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except python_calamine.PasswordError as exc:
        raise _protected(path) from exc
    except BaseException as exc:  # noqa: BLE001 - a panic of calamine is a damaged file too
        raise _damaged(path) from exc


def _whole_sheet(wb: object, name: str) -> list[list[object]]:
    """One read of a whole sheet by calamine (its cells checked first by the caller)."""
    return sheet_rows(wb.get_sheet_by_name(name))  # type: ignore[attr-defined]


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
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:  # a field beyond csv's limit: not this separator
            continue
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


MAX_CSV_FIELDS = 2_000  # a receivables export has tens of columns, never thousands


def _read_csv(data: bytes, path: Path) -> list[list[object]]:
    """CSV with ';' or ',' (or tab), UTF-8 with or without BOM, UTF-16 with BOM (Excel's
    « Texte Unicode »), or cp1252."""
    encodings = ("utf-16",) if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ()
    for encoding in (*encodings, "utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise InputError(f"Encodage du fichier « {path.name} » non reconnu.")
    try:
        delimiter = _sniff_delimiter(text)
        rows = []
        for n, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            if len(row) > MAX_CSV_FIELDS:
                raise InputError(
                    f"Ligne {n} de « {path.name} » : {len(row)} colonnes. Ce n'est pas un "
                    "export de factures (quelques dizaines de colonnes) : vérifiez le fichier, "
                    "ou réexportez-le depuis votre logiciel comptable."
                )
            rows.append([c if c.strip() else "" for c in row])
    except csv.Error as exc:  # a cell of more than 128 000 characters
        raise InputError(
            f"« {path.name} » n'est pas lisible comme un fichier CSV (une cellule démesurée). "
            "Vérifiez le fichier, ou réexportez-le depuis votre logiciel comptable."
        ) from exc
    return rows

