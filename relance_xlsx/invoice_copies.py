"""Invoice copies (duplicata): the PDFs of ``[factures] dossier`` that follow each letter.

The seeds' advice, "toujours joindre les duplicatas des factures": each invoice of a letter is
found by its number in the file names, case and separators ignored, the number standing on
its own ("FA-2026-0142.pdf", "Facture FA20260142 Dupont.pdf", but never "FA-2026-01420.pdf"
for FA-2026-0142). A wrong attachment sends one client's invoice to another, so a file that
matches two invoices, or an invoice with two files, is attached nowhere and warned about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .model import RenderedLetter

_ALNUM = re.compile(r"[0-9a-z]", re.IGNORECASE)


@dataclass(frozen=True)
class CopiesResult:
    """The letters with their copies and the invoices without one, and French warnings."""

    letters: tuple[RenderedLetter, ...]
    warnings: tuple[str, ...]


def _normal(text: str) -> tuple[str, list[int]]:
    """Letters and digits only, lower case, with each one's place in ``text``."""
    chars, places = [], []
    for i, ch in enumerate(text):
        if ch.isascii() and ch.isalnum():
            chars.append(ch.lower())
            places.append(i)
    return "".join(chars), places


def _apart(a: str, b: str) -> bool:
    """Two neighbouring characters that cannot belong to one number: a letter and a digit."""
    return a.isdigit() != b.isdigit()


def name_holds(name: str, number: str) -> bool:
    """Whether a file name (without extension) holds the invoice number, standing alone."""
    wanted, _ = _normal(number)
    if not wanted:
        return False
    text, places = _normal(name)
    start = text.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        left = (start == 0 or places[start] - places[start - 1] > 1
                or _apart(text[start - 1], text[start]))
        right = (end == len(text) or places[end] - places[end - 1] > 1
                 or _apart(text[end - 1], text[end]))  # fmt: skip
        if left and right:
            return True
        start = text.find(wanted, start + 1)
    return False


def pdf_files(folder: Path) -> list[Path]:
    """The PDFs of the folder and its subfolders, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")


def match_copies(numbers: Iterable[str], files: Sequence[Path]) -> tuple[
        dict[str, Path], list[str]]:  # fmt: skip
    """Each number's single file, and warnings for files or numbers that are ambiguous."""
    numbers = list(dict.fromkeys(n for n in numbers if n))
    found: dict[str, list[Path]] = {n: [] for n in numbers}
    warnings: list[str] = []
    for path in files:
        hits = [n for n in numbers if name_holds(path.stem, n)]
        if len(hits) > 1:
            warnings.append(
                f"Duplicata « {path.name} » non joint : son nom correspond à plusieurs factures "
                f"({', '.join(hits)}). Renommez-le avec un seul numéro de facture.")
            continue
        for n in hits:
            found[n].append(path)
    unique: dict[str, Path] = {}
    for number, paths in found.items():
        if len(paths) == 1:
            unique[number] = paths[0]
        elif len(paths) > 1:
            shown = ", ".join(f"« {p.name} »" for p in paths[:4])
            warnings.append(
                f"Facture {number} : plusieurs duplicata possibles ({shown}), aucun n'est "
                "joint. Gardez un seul fichier pour cette facture.")
    return unique, warnings


def find_copies(letters: Sequence[RenderedLetter], folder: Path | None) -> CopiesResult:
    """Each letter with its invoices' copies (in the order of its invoices) and the numbers
    without one; nothing changes when no folder is set."""
    if folder is None or not letters:
        return CopiesResult(tuple(letters), ())
    if not Path(folder).is_dir():
        return CopiesResult(tuple(letters), (
            f"Dossier des factures introuvable : « {folder} » ([factures] dossier) : "
            "courriers sans duplicata.",))
    numbers = [n for x in letters for n in x.letter.numeros]
    unique, warnings = match_copies(numbers, pdf_files(Path(folder)))
    shared = sorted({n for n in numbers if numbers.count(n) > 1} & set(unique))
    for number in shared:  # one number, two clients: whose invoice is the file?
        del unique[number]
        warnings.append(f"Facture {number} : ce numéro figure dans plusieurs courriers, son "
                        "duplicata n'est joint à aucun.")
    done = []
    without = 0
    for rendered in letters:
        mine = [n for n in dict.fromkeys(rendered.letter.numeros)]
        missing = tuple(n for n in mine if n not in unique)
        copies = tuple(dict.fromkeys(unique[n] for n in mine if n in unique))
        without += bool(missing)
        done.append(replace(rendered, copies=copies, missing_copies=missing))
    if without:
        warnings.append(f"{without} courrier(s) sans le duplicata de toutes leurs factures : "
                        "voir la colonne « Duplicata manquants » du rapport.")
    return CopiesResult(tuple(done), tuple(warnings))
