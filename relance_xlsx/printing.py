"""PDF letters and one print batch, with LibreOffice when it is installed.

All the run's letters are converted in one ``soffice --headless --convert-to pdf`` call
(starting LibreOffice costs seconds; one process for many files is much faster), with a
private profile so it also works while the user has LibreOffice open, and a timeout. The
PDFs are then merged in letter order into ``a_imprimer – AAAA-MM-JJ.pdf``: one print job,
in the order of the report's « Courriers » sheet. Nothing here ever stops a run: problems
come back as French warnings.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .files import MB, atomic_target, disk_full_words, is_disk_full

if TYPE_CHECKING:
    from pypdf import PdfReader

INSTALL_HELP = (
    "LibreOffice est introuvable : les courriers restent au format Word, sans PDF à "
    "imprimer. Pour l'installer (gratuit) : sous Windows et macOS, "
    "https://fr.libreoffice.org/download/ ; sous Debian ou Ubuntu, "
    "« sudo apt install libreoffice-writer ». Relancez ensuite avec --pdf."
)
BASE_TIMEOUT = 120  # seconds for LibreOffice to start, then per letter below
PER_FILE_TIMEOUT = 5
MAX_COMMAND = 24_000  # characters per command line (Windows allows 32 767)

_KNOWN_PLACES = (
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    "/opt/libreoffice/program/soffice",
    "/usr/lib/libreoffice/program/soffice",
)


@dataclass(frozen=True)
class PrintResult:
    """PDFs written (aligned with the letters, ``None`` if one failed), the batch, warnings."""

    pdfs: tuple[Path | None, ...]
    batch: Path | None
    warnings: tuple[str, ...]


def batch_name(day: date | None) -> str:
    """The day's print batch: « a_imprimer – AAAA-MM-JJ.pdf »; without a day, the glob
    pattern of every day's."""
    return f"a_imprimer – {day.isoformat() if day else '*'}.pdf"


def find_soffice() -> str | None:
    """LibreOffice's command: on the PATH, else where its installers put it."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for place in _KNOWN_PLACES:
        if Path(place).is_file():
            return place
    return None


def _batches(files: Sequence[Path]) -> list[list[Path]]:
    """Split long lists so no command line gets too long for Windows."""
    out: list[list[Path]] = [[]]
    size = 0
    for f in files:
        length = len(str(f)) + 3
        if out[-1] and size + length > MAX_COMMAND:
            out.append([])
            size = 0
        out[-1].append(f)
        size += length
    return [b for b in out if b]


def convert_to_pdf(
    files: Sequence[Path], out_dir: Path, soffice: str, timeout: float | None = None
) -> tuple[list[Path | None], list[str]]:
    """Convert .docx files to PDF in ``out_dir``; returns the PDFs (None if missing), warnings."""
    out_dir.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    for f in files:  # a PDF left by an earlier run must not pass for a fresh one
        try:
            (out_dir / (f.stem + ".pdf")).unlink(missing_ok=True)
        except OSError:
            pass
    profile = Path(tempfile.mkdtemp(prefix="relance-libreoffice-"))
    try:
        for batch in _batches(files):
            limit = timeout or BASE_TIMEOUT + PER_FILE_TIMEOUT * len(batch)
            command = [
                soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, batch),
            ]  # fmt: skip
            try:
                subprocess.run(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, timeout=limit, check=False,
                    creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                warnings.append(
                    f"LibreOffice n'a pas fini la conversion en PDF après {int(limit)} s : "
                    "fermez LibreOffice s'il est bloqué, puis relancez avec --pdf."
                )
            except OSError as exc:
                warnings.append(f"LibreOffice n'a pas pu être lancé ({exc}) : pas de PDF.")
                break
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdfs: list[Path | None] = []
    missing = []
    for f in files:
        pdf = out_dir / (f.stem + ".pdf")
        if _complete_pdf(pdf):
            pdfs.append(pdf)
        else:
            pdf.unlink(missing_ok=True)  # a PDF cut short (a full disk) must not be printed
            pdfs.append(None)
            missing.append(f.name)
    if missing:
        shown = ", ".join(f"« {m} »" for m in missing[:5]) + (" …" if len(missing) > 5 else "")
        warnings.append(
            f"{len(missing)} courrier(s) non converti(s) en PDF : {shown}. "
            "Ouvrez-les dans Word pour les imprimer." + _room_words(out_dir, files)
        )
    return pdfs, warnings


def _complete_pdf(pdf: Path) -> bool:
    """A whole PDF: it ends with its « %%EOF » marker (LibreOffice leaves a PDF cut short
    when the disk fills up, and a cut PDF breaks the print batch)."""
    try:
        with open(pdf, "rb") as fh:
            fh.seek(max(0, pdf.stat().st_size - 1024))
            return b"%%EOF" in fh.read()
    except OSError:
        return False


def _room_words(out_dir: Path, files: Sequence[Path]) -> str:
    """« Cause probable : disque plein sur … » when the disk lacks room for the PDFs (about
    twice the size of the letters), else nothing."""
    needed = 2 * sum(f.stat().st_size for f in files if f.is_file()) + 10 * MB
    try:
        free = shutil.disk_usage(out_dir).free
    except OSError:
        return ""
    return f" Cause probable : {disk_full_words(out_dir, needed)}." if free < needed else ""


def merge_pdfs(pdfs: Sequence[Path], target: Path,
               copies: Sequence[Sequence[Path]] = (), warnings: list[str] | None = None) -> Path:
    """One PDF with all pages, in order, each letter followed by its invoice copies
    (``copies``, aligned with ``pdfs``); written to a temporary file, then replaced. A copy
    that cannot be read is left out, with a warning: it is the user's file, not ours."""
    import logging

    from pypdf import PdfWriter

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its English notes, on stderr
    writer = PdfWriter()
    try:
        for i, pdf in enumerate(pdfs):
            # a bookmark per letter: found again by ``annuler`` to take the letter out
            writer.append(str(pdf), outline_item=pdf.stem, import_outline=False)
            for copy in copies[i] if i < len(copies) else ():
                pages = len(writer.pages)
                try:
                    writer.append(str(copy), import_outline=False)
                except Exception as exc:  # noqa: BLE001 - a damaged copy must not stop the run
                    if is_disk_full(exc):
                        raise
                    while len(writer.pages) > pages:  # no half copy in the batch
                        writer.remove_page(len(writer.pages) - 1)
                    if warnings is not None:
                        warnings.append(f"Duplicata « {copy.name} » illisible (PDF abîmé ou "
                                        "protégé), absent du PDF à imprimer : joignez-le à la "
                                        "main.")  # fmt: skip
        with atomic_target(target) as tmp, open(tmp, "wb") as fh:
            writer.write(fh)
    finally:
        writer.close()
    return target


def _bookmarks(reader: PdfReader) -> list[tuple[int, str]]:
    """The batch's letters: (first page, letter name), in page order."""
    return sorted((reader.get_destination_page_number(item), str(item.title))
                  for item in reader.outline if not isinstance(item, list))  # fmt: skip


def batch_letters(batch: Path) -> list[str] | None:
    """The letters of a print batch (file names without suffix), ``None`` when it has no
    bookmarks (written by an earlier version): which pages are whose is then unknown."""
    from pypdf import PdfReader

    return [title for _, title in _bookmarks(PdfReader(str(batch)))] or None


def remove_from_batch(batch: Path, letter_stems: set[str]) -> None:
    """Take letters out of a print batch with the invoice copies that follow them (a letter
    runs from its bookmark to the next one), the others kept in order; replaced at once."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(str(batch))
    marks = _bookmarks(reader)
    ends = [page for page, _ in marks[1:]] + [len(reader.pages)]
    writer = PdfWriter()
    try:
        for (start, title), end in zip(marks, ends, strict=True):
            if title in letter_stems:
                continue
            first = len(writer.pages)
            for page in range(start, end):
                writer.add_page(reader.pages[page])
            writer.add_outline_item(title=title, page_number=first)
        with atomic_target(batch) as tmp, open(tmp, "wb") as fh:
            writer.write(fh)
    finally:
        writer.close()


def print_batch(letters: Sequence[Path], out_dir: Path, batch_name: str,
                copies: Sequence[Sequence[Path]] = ()) -> PrintResult:
    """PDF of each letter beside it, and the merged print batch ``batch_name``: each letter
    followed by its invoice copies (``copies``, aligned with ``letters``)."""
    if not letters:
        return PrintResult((), None, ())
    soffice = find_soffice()
    if soffice is None:
        return PrintResult(tuple(None for _ in letters), None, (INSTALL_HELP,))
    pdfs, warnings = convert_to_pdf(letters, out_dir, soffice)
    done = [p for p in pdfs if p is not None]
    done_copies = [list(copies[i]) if i < len(copies) else []
                   for i, p in enumerate(pdfs) if p is not None]
    batch = None
    if done:
        try:
            batch = merge_pdfs(done, out_dir / batch_name, done_copies, warnings)
        except PermissionError:
            warnings.append(
                f"« {batch_name} » n'a pas pu être remplacé : il est sans doute ouvert. "
                "Fermez-le, puis relancez avec --pdf."
            )
        except Exception as exc:  # noqa: BLE001 - a damaged PDF must not stop the run
            if is_disk_full(exc):
                raise  # the caller says where and how much room it needs
            warnings.append("Assemblage du PDF à imprimer impossible : un des PDF des "
                            "courriers est illisible. Imprimez les PDF un par un, ou relancez "
                            "avec --pdf." + _room_words(out_dir, letters))  # fmt: skip
    return PrintResult(tuple(pdfs), batch, tuple(warnings))

