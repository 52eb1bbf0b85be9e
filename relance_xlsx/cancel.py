"""``relance-xlsx annuler``: cancel the letters of a date that were not posted.

A cancellation is an event in the journal naming the letter; the letter event stays (the
journal is proof, never rewritten). Its invoices go back to the step they had before it,
since state is computed from the events in force. The files move to
``courriers/AAAA-MM-JJ/annulés/`` so nobody posts them by mistake; nothing is deleted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .config import workspace
from .errors import InputError, RelanceError
from .journal import (
    CANCELLATION,
    LETTER,
    Event,
    JournalWriter,
    insert_event,
    reading,
    unreadable,
)
from .parsing import normalise

CANCELLED_DIRNAME = "annulés"


@dataclass(frozen=True)
class CancelOptions:
    """What the user asked for (the CLI's options, with ``run``'s defaults)."""

    day: date
    client: str = ""
    config: Path | None = None
    journal: Path | None = None
    out: Path | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class CancelResult:
    letters: tuple[IssuedLetter, ...]
    moved: tuple[Path, ...]  # files now in the « annulés » folder
    missing: tuple[str, ...]  # letters whose file was not found (moved or deleted by hand)
    folder: Path
    dry_run: bool
    batches: tuple[str, ...] = ()  # what became of the date's print batches


def _paths(options: CancelOptions) -> tuple[Path, Path]:
    """Journal and letters folder, found as ``run`` finds them (beside relance.toml)."""
    found = workspace(options.config, options.journal, options.out)
    return found.journal, found.out


def _matches(letter: IssuedLetter, wanted: str) -> bool:
    key = normalise(wanted)
    return key in {normalise(letter.client), normalise(letter.cle_client.split(":", 1)[-1])}


def select(options: CancelOptions) -> tuple[list[IssuedLetter], Path, Path]:
    journal, out = _paths(options)
    if not journal.exists():
        raise InputError(
            f"Journal des relances introuvable : « {journal} ».\nLancez la commande depuis le "
            "dossier de travail, ou indiquez le journal avec --journal."
        )
    letters = letters_of(journal, options.day)
    if options.client:
        letters = [x for x in letters if _matches(x, options.client)]
    if not letters:
        who = f" pour « {options.client} »" if options.client else ""
        raise InputError(
            f"Aucun courrier du {options.day:%d/%m/%Y}{who} à annuler dans le journal "
            f"« {journal} » (déjà annulé, ou jamais produit ?)."
        )
    return letters, journal, out


def _companions(folder: Path, name: str) -> list[Path]:
    """The letter's files under the date's folder: .docx, and its .pdf and .eml drafts."""
    stem = Path(name).stem
    found = []
    for path in folder.rglob(f"{stem}*"):
        if CANCELLED_DIRNAME in path.parts or not path.is_file():
            continue
        if path.name == name or path.name in (f"{stem}.pdf", f"{stem}.eml", f"{name}.eml"):
            found.append(path)
    return found


def cancel(options: CancelOptions) -> CancelResult:
    """Record the cancellations, then move the files aside; undo the moves on failure."""
    letters, journal, out = select(options)
    day_dir = out / options.day.isoformat()
    target = day_dir / CANCELLED_DIRNAME
    if options.dry_run:
        return CancelResult(tuple(letters), (), (), target, True)
    writer = JournalWriter(journal)
    moved: list[tuple[Path, Path]] = []
    rewritten: list[tuple[Path, bytes]] = []  # print batches, as they were
    missing: list[str] = []
    writer.begin()
    try:
        record_cancellations(writer, letters, options.day)
        for letter in letters:
            files = _companions(day_dir, letter.fichier) if day_dir.exists() else []
            if not files:
                missing.append(letter.fichier)
            for f in files:
                target.mkdir(parents=True, exist_ok=True)
                _move(f, target / f.name, moved, " dans Word")
        batches = _take_out_of_batches(day_dir, letters, target, moved, rewritten)
        writer.commit()
    except BaseException:
        writer.rollback()
        for batch, content in rewritten:
            batch.write_bytes(content)
        for original, dest in reversed(moved):
            dest.replace(original)
        raise
    return CancelResult(tuple(letters), tuple(d for _, d in moved), tuple(missing), target,
                        False, batches)  # fmt: skip


def _move(source: Path, dest: Path, moved: list[tuple[Path, Path]], where: str = "") -> None:
    """Move a file into the cancelled folder, recorded so a failure can put it back."""
    try:
        source.replace(dest)
    except PermissionError as exc:
        raise _still_open("déplacer", source, where) from exc
    moved.append((source, dest))


def _still_open(action: str, path: Path, where: str = "") -> RelanceError:
    """A file ``annuler`` must change is held by another program: nothing is cancelled."""
    return RelanceError(f"Impossible de {action} « {path} » : il est sans doute ouvert{where}. "
                        "Fermez-le, puis relancez (rien n'a été annulé).")  # fmt: skip


def _take_out_of_batches(day_dir: Path, letters: list[IssuedLetter], target: Path,
                         moved: list[tuple[Path, Path]],
                         rewritten: list[tuple[Path, bytes]]) -> tuple[str, ...]:  # fmt: skip
    """The cancelled letters leave the date's print batches (« a_imprimer – … .pdf »), with
    their invoice copies: a batch printed after ``annuler`` must not post them. A batch
    with only cancelled letters, or written by an earlier version (no bookmarks to find
    the letters), goes to the « annulés » folder too. Returns what is said to the user."""
    from .printing import batch_letters, batch_name, remove_from_batch

    stems = {Path(x.fichier).stem for x in letters}
    said = []
    batches = sorted(p for p in day_dir.rglob(batch_name(None))
                     if CANCELLED_DIRNAME not in p.relative_to(day_dir).parts)  # fmt: skip
    for batch in batches:
        try:
            inside = batch_letters(batch)
        except Exception:  # noqa: BLE001 - a damaged batch is set aside like an old one
            inside = None
        if inside is not None and not stems & set(inside):
            continue
        if inside is not None and not set(inside) <= stems:
            rewritten.append((batch, batch.read_bytes()))
            try:
                remove_from_batch(batch, stems)
            except PermissionError as exc:
                raise _still_open("modifier", batch) from exc
            said.append(f"Retiré(s) du PDF à imprimer, avec leurs duplicata : « {batch.name} »")
            continue
        dest = target / (batch.parent.name + " – " + batch.name if batch.parent != day_dir
                         else batch.name)  # fmt: skip
        target.mkdir(parents=True, exist_ok=True)
        _move(batch, dest, moved)
        said.append(
            f"PDF à imprimer « {batch.name} » déplacé dans « {CANCELLED_DIRNAME} » : "
            + ("il ne contenait que des courriers annulés." if inside is not None else
               "il contenait ces courriers ; imprimez les autres un par un (leur PDF).")
        )
    return tuple(said)


# --- the journal's side: the letters of a date, and their cancellation -------------------


@dataclass(frozen=True)
class IssuedLetter:
    """A letter in force, as ``annuler`` lists it."""

    id: int
    date: date
    cle_client: str
    client: str
    niveau: int
    fichier: str
    export: str
    factures: str


def letters_of(path: Path, day: date) -> list[IssuedLetter]:
    """The letters in force issued on ``day`` (not cancelled, not superseded)."""
    try:
        with reading(path) as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT e.id, e.date, e.cle_client, e.client, e.niveau, e.fichier, e.export, "
                "(SELECT group_concat(f.numero_facture, ', ') FROM evenement_factures f "
                " WHERE f.evenement = e.id) FROM evenements_en_vigueur e "
                "WHERE e.type = ? AND e.date = ? ORDER BY e.client, e.id",
                (LETTER, day.isoformat()),
            ).fetchall()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc
    return [IssuedLetter(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6], r[7] or "")
            for r in rows]  # fmt: skip


def record_cancellations(writer: JournalWriter, letters: Iterable[IssuedLetter],
                         day: date) -> None:  # fmt: skip
    """One ``annulation`` event per letter, naming it: the letter stays in the journal."""
    assert writer.con is not None, "begin() first"
    now = datetime.now().isoformat(timespec="seconds")
    for letter in letters:
        event = Event(CANCELLATION, letter.cle_client, letter.client, letter.niveau, (),
                      letter.fichier)  # fmt: skip
        insert_event(writer.con, None, now, day.isoformat(), event, target=letter.id)


