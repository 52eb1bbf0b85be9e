"""The xlsx/xlsm file as a zip package: cell references, the checks that refuse a workbook we
could not safely replace, reading its parts, and rewriting it without losing anything.

Rewriting copies every zip entry unchanged (same order, name, date, attributes, compression)
except the parts a caller patched; the original is backed up first and replaced atomically
(temporary file in the same folder, fsync, ``os.replace``), so a failure leaves it untouched.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from relance_xlsx.errors import InputError, RelanceError, WorkbookLockedError
from relance_xlsx.files import (
    OLE_MAGIC,
    atomic_target,
    is_encrypted_workbook,
    is_writable,
    remove_leftovers,
    zip_bomb_message,
)

INPLACE_SUFFIXES = frozenset({".xlsx", ".xlsm"})
MAX_COLUMN = 16384  # XFD
MAX_ROW = 1_048_576

_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?(<\?xml[^>]*\?>\s*)")


# --------------------------------------------------------------------------- cell references


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


def split_ref(ref: str) -> tuple[int, int]:
    """``"AB12"`` -> ``(28, 12)``; ``$`` signs are ignored."""
    letters = ref.rstrip("0123456789")
    return column_index(letters.replace("$", "")), int(ref[len(letters) :])


def ref_column(ref: str) -> int:
    """``"AB12"`` -> 28, without parsing the row (hot path: every cell visited)."""
    return column_index(ref.rstrip("0123456789").replace("$", ""))


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells, 1-based and inclusive, as in ``ref="A3:H120"``."""

    first_col: int
    first_row: int
    last_col: int
    last_row: int

    @classmethod
    def parse(cls, ref: str) -> CellRange:
        """``"A3:H120"`` or a single cell ``"B2"``; raises ValueError when malformed."""
        parts = ref.strip().split(":")
        if len(parts) not in (1, 2) or not all(parts):
            raise ValueError(f"not a cell range: {ref!r}")
        (c1, r1), (c2, r2) = split_ref(parts[0]), split_ref(parts[-1])
        return cls(min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))

    @property
    def ref(self) -> str:
        start = f"{column_letter(self.first_col)}{self.first_row}"
        return f"{start}:{column_letter(self.last_col)}{self.last_row}"

    @property
    def absolute(self) -> str:
        """``$A$3:$H$120``, as defined names write it."""
        return (
            f"${column_letter(self.first_col)}${self.first_row}:"
            f"${column_letter(self.last_col)}${self.last_row}"
        )

    def to_column(self, column: int) -> CellRange:
        """The same rows, stretched right to ``column``."""
        return CellRange(self.first_col, self.first_row, column, self.last_row)

    def holds(self, column: int, row: int) -> bool:
        return self.first_col <= column <= self.last_col and self.first_row <= row <= self.last_row

    def crosses(self, column: int, first_row: int, last_row: int) -> bool:
        """Some cell of ``column`` between ``first_row`` and ``last_row`` is in the range."""
        return (
            self.first_col <= column <= self.last_col
            and self.first_row <= last_row
            and first_row <= self.last_row
        )


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
        check_not_locked(path)
        _check_folder_writable(path)
        _check_valid_xlsx(path)
    else:
        target = status_copy_path(path)
        if target.exists():
            check_not_locked(target)
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


def check_not_locked(path: Path) -> None:
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


def corrupt(path: Path, detail: str) -> InputError:
    """One wording for every way a workbook can be unreadable."""
    return InputError(
        f"Le classeur « {path.name} » (dossier « {path.parent} ») est endommagé ou n'est pas un "
        f"classeur Excel valide ({detail}). Ouvrez-le dans Excel, enregistrez-le à nouveau au "
        f"format .xlsx, puis relancez."
    )


_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ValueError,
    NotImplementedError,
    etree.XMLSyntaxError,
)


def _refuse_zip_bomb(path: Path, zf: zipfile.ZipFile) -> None:
    """Checked before any part is decompressed (testzip alone would take minutes)."""
    message = zip_bomb_message(path, zf)
    if message:
        raise InputError(message)


def _check_valid_xlsx(path: Path) -> None:
    """A readable zip whose entries pass their CRC and that contains a workbook part."""
    try:
        with zipfile.ZipFile(path) as zf:
            _refuse_zip_bomb(path, zf)
            bad = zf.testzip()
            if bad is not None:
                raise corrupt(path, f"élément « {bad} » illisible")
            workbook_part(zf, path)
    except InputError:
        raise
    except _UNREADABLE as exc:
        raise corrupt(path, "archive zip illisible") from exc
    except OSError as exc:
        raise InputError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc


# --------------------------------------------------------------------------- package parts


def xml_parser() -> etree.XMLParser:
    """Keep everything (CDATA, comments, whitespace); never resolve entities."""
    return etree.XMLParser(
        huge_tree=True, strip_cdata=False, resolve_entities=False, remove_blank_text=False
    )


def parse_xml(data: bytes) -> etree._ElementTree:
    return etree.parse(BytesIO(data), xml_parser())


def parse_fragment(data: bytes) -> etree._Element:
    """One element (a row wrapped with its namespace declarations), parsed like a part."""
    return etree.fromstring(data, xml_parser())


def serialise(tree: etree._ElementTree, original: bytes) -> bytes:
    """The patched XML, keeping the original XML declaration (or its absence) byte for byte."""
    match = _DECLARATION.match(original)
    body = etree.tostring(tree, encoding="UTF-8", xml_declaration=False)
    if match is None:
        return body  # none before, none after: UTF-8 is XML's default
    if re.search(rb"""encoding\s*=\s*["'](?!utf-?8["'])""", match.group(2), re.I):
        # not UTF-8: let lxml write a matching declaration
        return etree.tostring(
            tree, encoding="UTF-8", xml_declaration=True, standalone=tree.docinfo.standalone
        )
    return (match.group(1) or b"") + match.group(2) + body


def part_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part names by lower case: OPC part names are case-insensitive."""
    return {name.lower(): name for name in zf.namelist()}


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def relationships(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved part name) of the internal relationships of ``part``."""
    names = part_names(zf)
    rels_name = names.get(_rels_path(part).lower())
    if rels_name is None:
        return []
    root = parse_xml(zf.read(rels_name)).getroot()
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


def workbook_part(zf: zipfile.ZipFile, path: Path) -> str:
    """The workbook part, from the package relationships (usually xl/workbook.xml)."""
    names = part_names(zf)
    for _id, rel_type, target in relationships(zf, ""):
        if rel_type.endswith("/officeDocument") and target.lower() in names:
            return names[target.lower()]
    if "xl/workbook.xml" in names:
        return names["xl/workbook.xml"]
    raise corrupt(path, "partie « xl/workbook.xml » absente")


@dataclass(frozen=True)
class SheetParts:
    """Where one worksheet lives in the package."""

    sheet: str  # the worksheet part
    shared_strings: str | None
    workbook: str
    position: int  # 0-based place in <sheets>: the localSheetId of its defined names


def _sheet_entries(root: etree._Element) -> list[tuple[str, str]]:
    """(name, relationship id) of each ``<sheet>`` of workbook.xml, in order."""
    sheets: list[tuple[str, str]] = []
    for sheet in root.iter("{*}sheet"):
        rel_id = ""
        for key, value in sheet.attrib.items():
            qname = etree.QName(key)
            if qname.localname == "id" and qname.namespace:
                rel_id = value
        sheets.append((sheet.get("name", ""), rel_id))
    return sheets


def locate_sheet(zf: zipfile.ZipFile, path: Path, sheet_name: str) -> SheetParts:
    """The parts of the sheet called ``sheet_name`` (exact name first, then any case)."""
    workbook = workbook_part(zf, path)
    sheets = _sheet_entries(parse_xml(zf.read(workbook)).getroot())
    position = next((i for i, (name, _) in enumerate(sheets) if name == sheet_name), None)
    if position is None:
        wanted = sheet_name.casefold()
        position = next(
            (i for i, (name, _) in enumerate(sheets) if name.casefold() == wanted), None
        )
    if position is None:
        listed = ", ".join(f"« {name} »" for name, _ in sheets) or "aucune"
        raise InputError(
            f"La feuille « {sheet_name} » est introuvable dans le classeur « {path.name} » "
            f"(feuilles présentes : {listed}). Vérifiez le nom de la feuille dans les réglages."
        )
    names = part_names(zf)
    sheet_part = shared_part = None
    for rel_id, rel_type, target in relationships(zf, workbook):
        if rel_id == sheets[position][1]:
            sheet_part = names.get(target.lower())
        elif rel_type.endswith("/sharedStrings"):
            shared_part = names.get(target.lower())
    if sheet_part is None:
        raise corrupt(path, f"la feuille « {sheet_name} » n'a pas de contenu")
    return SheetParts(sheet_part, shared_part, workbook, position)


def iterparse(source: BinaryIO, tag: str) -> etree.iterparse:
    """Streamed parse reporting the end of each ``tag`` element, with ``xml_parser``'s options."""
    return etree.iterparse(
        source,
        events=("end",),
        tag=tag,
        huge_tree=True,
        strip_cdata=False,
        resolve_entities=False,
        remove_blank_text=False,
    )


def _shared_items(zf: zipfile.ZipFile, part: str) -> Iterator[str]:
    """The texts of the shared strings table in order, streamed: the table of a
    million-row export is hundreds of megabytes as a tree."""
    with zf.open(part) as source:
        for _event, item in iterparse(source, "{*}si"):
            ns = etree.QName(item).namespace
            t_tag, rph_tag = f"{{{ns}}}t", f"{{{ns}}}rPh"
            yield "".join(t.text or "" for t in item.iter(t_tag) if t.getparent().tag != rph_tag)
            item.clear()
            parent = item.getparent()
            if parent is not None:
                parent.remove(item)


def shared_strings(zf: zipfile.ZipFile, part: str | None, wanted: set[int]) -> dict[int, str]:
    """Only the shared strings the header row needs; reading stops after the last one."""
    if part is None or not wanted:
        return {}
    found: dict[int, str] = {}
    last = max(wanted)
    for index, text in enumerate(_shared_items(zf, part)):
        if index in wanted:
            found[index] = text
        if index >= last:
            break
    return found


class SharedStrings:
    """All the shared strings of a package, read once (streamed) on first use: for callers
    that look up every row, where ``shared_strings`` per row would read the table per row."""

    def __init__(self, zf: zipfile.ZipFile, part: str | None) -> None:
        self.zf, self.part = zf, part
        self.table: list[str] | None = None

    def __call__(self, wanted: set[int]) -> dict[int, str]:
        if self.table is None:
            self.table = self._read()
        table = self.table
        return {i: table[i] for i in wanted if 0 <= i < len(table)}

    def _read(self) -> list[str]:
        return [] if self.part is None else list(_shared_items(self.zf, self.part))


# --------------------------------------------------------------------------- rewrite in place


def unique_path(path: Path) -> Path:
    """``path``, or ``name (2).ext``, ``name (3).ext``… when it is taken."""
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


def fsync_folder(folder: Path) -> None:
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


PartWriter = Callable[[BinaryIO], None]
"""Writes a new part into the open zip entry, streamed (a sheet is never whole in memory)."""

_COPY_CHUNK = 1 << 20


def _copy_zip(
    source: zipfile.ZipFile, target: BinaryIO, replaced: Mapping[str, bytes | PartWriter]
) -> None:
    """Every entry in the same order with the same name, date, attributes and compression;
    unchanged entries are copied in chunks, never read whole."""
    with zipfile.ZipFile(target, "w", allowZip64=True) as out:
        out.comment = source.comment
        for info in source.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            new.comment = info.comment
            data = replaced.get(info.filename)
            if isinstance(data, bytes):
                out.writestr(new, data)
                continue
            # A rewritten sheet may outgrow its original: zip64 sizes well before the limit.
            big = info.file_size > zipfile.ZIP64_LIMIT // 2
            with out.open(new, "w", force_zip64=big) as entry:
                if data is not None:
                    data(entry)
                else:
                    with source.open(info) as original:
                        shutil.copyfileobj(original, entry, _COPY_CHUNK)


def _write_temp(
    source: zipfile.ZipFile, temp: Path, replaced: Mapping[str, bytes | PartWriter]
) -> None:
    try:
        with open(temp, "wb") as fh:
            _copy_zip(source, fh, replaced)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def update_package(
    path: Path,
    patch: Callable[[zipfile.ZipFile], Mapping[str, bytes | PartWriter]],
    backup_dir: Path,
    now: datetime,
) -> Path:
    """Rewrite ``path`` with the parts ``patch`` returns (their bytes, or a writer that
    streams them into the new entry); returns the backup of the original.

    Every other part is copied as is. The new package is written to a temporary file, the
    original backed up, then replaced atomically: on any failure the original is untouched.
    """
    path = Path(path).resolve()  # a link is written through to its target, and stays a link
    temp = _temp_path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            _refuse_zip_bomb(path, zf)
            _write_temp(zf, temp, patch(zf))
    except RelanceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, etree.XMLSyntaxError) as exc:
        raise corrupt(path, "archive zip ou XML illisible") from exc
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise RelanceError(
            f"Impossible d'écrire le statut dans « {path.name} » (dossier « {path.parent} ») : "
            f"{exc.strerror or exc}. Le classeur n'a pas été modifié."
        ) from exc
    backup = _backup_before_replace(path, temp, backup_dir, now)
    _replace(path, temp, backup)
    fsync_folder(path.parent)
    return backup


def _backup_before_replace(path: Path, temp: Path, backup_dir: Path, now: datetime) -> Path:
    """Give the new file the original's permissions, then back the original up."""
    try:
        shutil.copymode(path, temp)
        return _backup(path, backup_dir, now)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RelanceError(
                f"Impossible de sauvegarder le classeur « {path.name} » dans le dossier "
                f"« {backup_dir} » : {exc.strerror or exc}. Vérifiez ce dossier (réglages) puis "
                f"relancez. Le classeur n'a pas été modifié."
            ) from exc
        raise


def _replace(path: Path, temp: Path, backup: Path) -> None:
    """The atomic step; on failure the backup goes too (it equals the untouched original)."""
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


def _backup(path: Path, backup_dir: Path, now: datetime) -> Path:
    """Byte-for-byte copy of the original, named with the date and time of the run.

    Copied under a temporary name, then renamed: a run killed mid-copy never leaves a
    truncated file named like a good backup (the next run removes the temporary one)."""
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(backup_dir)
    name = f"{path.stem} – sauvegarde {now:%Y-%m-%d %Hh%Mm%S}{path.suffix}"
    target = unique_path(backup_dir / name)
    with atomic_target(target) as tmp:
        shutil.copyfile(path, tmp)
        shutil.copystat(path, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    return target
