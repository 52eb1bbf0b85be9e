"""Publishing a run as one unit of work: letters folder, workbook, journal.

Each part prepares (work nobody sees yet: letters rendered into a staging folder, the
journal transaction opened and filled), commits (puts its result in place) and can roll
back. ``publish`` prepares every part, then commits them in order; when anything fails,
every part is rolled back, in reverse order, and the user's files are as they were. A full
disk is said in French, naming the disk of the part that failed and the room it needs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .errors import RelanceError
from .files import disk_full_words, is_disk_full, remove_leftovers
from .journal import JournalWriter, RunRecord


class Part(Protocol):
    folder: Path  # where it writes (a full disk is named by it)
    room: int  # about how many bytes it needs there

    def prepare(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def finish(self) -> list[str]: ...  # after every commit: clean-up; returns warnings


def publish(parts: Sequence[Part]) -> list[str]:
    """Prepare all, commit all in order; on failure roll everything back and re-raise (a
    full disk as a French ``RelanceError``)."""
    current = None
    try:
        for current in parts:
            current.prepare()
        for current in parts:
            current.commit()
    except BaseException as exc:
        for part in reversed(parts):
            part.rollback()
        if current is not None and _disk_full(exc):
            raise RelanceError(
                f"{disk_full_words(current.folder, current.room)}. Rien n'a été modifié "
                "(classeur, journal et courriers sont comme avant) : libérez de la place, "
                "puis relancez."
            ) from exc
        raise
    warnings: list[str] = []
    for part in parts:
        warnings += part.finish()
    return warnings


@dataclass(frozen=True)
class Room:
    """About how many bytes each output of a run needs on its disk, to say « il faut
    environ N Mo » when one is full (generous: a letter is some 25 KB, a PDF some 60 KB)."""

    letters: int
    workbook: int  # the new workbook beside the export, and its backup
    followup: int
    journal: int
    pdf: int  # each letter's PDF and the print batch
    emails: int
    report: int

    @classmethod
    def estimate(cls, letters: int, rows: int, export: Path) -> Room:
        try:
            size = export.stat().st_size
        except OSError:
            size = 0
        return cls(letters=letters * 64_000, workbook=2 * size + rows * 100 + 100_000,
                   followup=200_000 + rows * 200, journal=1_000_000 + rows * 600,
                   pdf=letters * 2 * 100_000, emails=letters * 100_000,
                   report=200_000 + rows * 400)  # fmt: skip


def not_written(what: str, folder: Path, needed: int, exc: BaseException) -> str | None:
    """The warning for an output the journal's commit leaves unwritten on a full disk (None:
    another failure, said by the caller): the letters are done, the exit stays 0."""
    if not is_disk_full(exc):
        return None
    return f"Relances faites, mais {what} n'a pas pu être écrit : " + (
        f"{disk_full_words(folder, needed)}.")


def _disk_full(exc: BaseException | None) -> bool:
    """The error, or the one it was raised from (a French error wrapping a full disk)."""
    while exc is not None:
        if is_disk_full(exc):
            return True
        exc = exc.__cause__
    return False


@dataclass
class LettersPart:
    """Letters rendered into a staging folder, then moved into the run's folder.

    What they displace (a same-date run's letters) is kept in the staging folder until the
    end, so a rollback can put it back. ``stale`` names earlier letters of the same date
    that this run does not write again: removed once everything is committed.
    """

    root: Path
    run_dir: Path
    render: Callable[[Path], list[Path]]  # renders into the staging folder, returns files
    room: int = 0
    stale: Callable[[], list[str]] = list
    batch: str = ""  # the day's print batch (« a_imprimer – … .pdf »), stale with them
    # where the run writes beside its letters (the follow-up workbook's and the export's
    # folders, the backups): a killed run's half-written files there go too
    elsewhere: tuple[Path, ...] = ()
    staging: Path | None = None
    files: list[Path] = field(default_factory=list)
    final: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)  # a killed run's, removed
    _moved: list[tuple[Path, Path | None]] = field(default_factory=list)
    _created_root: bool = False

    @property
    def folder(self) -> Path:
        return self.root

    def prepare(self) -> None:
        import tempfile

        self._created_root = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RelanceError(
                f"Impossible de créer le dossier des courriers « {self.root} » ({exc}).\n"
                "Choisissez un autre dossier avec --out."
            ) from exc
        self.leftovers = remove_leftovers(*dict.fromkeys((self.root, self.run_dir,
                                                          *self.elsewhere)))
        self.staging = Path(tempfile.mkdtemp(prefix=f".relance-{os.getpid()}-", dir=self.root))
        self.files = self.render(self.staging)

    def commit(self) -> None:
        if not self.files:
            return
        assert self.staging is not None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for f in self.files:
            target = self.run_dir / f.name
            displaced = None
            try:
                if target.exists():
                    displaced = self.staging / f"ancien – {f.name}"
                    target.replace(displaced)
                f.replace(target)
            except PermissionError as exc:
                if displaced is not None and displaced.exists() and not target.exists():
                    displaced.replace(target)
                raise RelanceError(
                    f"Impossible de remplacer le courrier « {target} » : il est sans doute "
                    "ouvert dans Word. Fermez-le, puis relancez (rien n'a été modifié)."
                ) from exc
            self._moved.append((target, displaced))
            self.final.append(target)

    def rollback(self) -> None:
        for target, displaced in reversed(self._moved):
            try:
                target.unlink(missing_ok=True)
                if displaced is not None and displaced.exists():
                    displaced.replace(target)
            except OSError:
                pass
        if self._moved:
            try:
                self.run_dir.rmdir()  # only when empty: a folder this run created
            except OSError:
                pass
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._created_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def finish(self) -> list[str]:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        written = {f.name for f in self.final}
        warnings = []
        if self.leftovers:
            names = ", ".join(p.name for p in self.leftovers[:3])
            more = f" et {len(self.leftovers) - 3} autre(s)" if len(self.leftovers) > 3 else ""
            warnings.append(f"Restes d'une exécution interrompue supprimés ({names}{more}) : "
                            "rien n'y manquait, cette exécution a tout refait.")
        stale = self.stale()
        withdrawn = [Path(n).stem for n in stale if n not in written]
        if withdrawn:  # the accountant may have printed them after the replaced run
            shown = ", ".join(f"« {n} »" for n in withdrawn[:5])
            more = f" et {len(withdrawn) - 5} autre(s)" if len(withdrawn) > 5 else ""
            warnings.append(
                f"Cette exécution remplace celle du même jour : {len(withdrawn)} courrier(s) "
                f"qu'elle avait produit(s) ne sont plus à envoyer et ont été retirés "
                f"({shown}{more}). S'ils ont déjà été imprimés, ne les postez pas."
            )
        for name in stale:
            # a replaced run's PDF and e-mail draft went with its letter: they told what
            # that run wrote (a client who has paid since, old amounts); --pdf and
            # --emails, if asked for again, write them anew after this
            doomed = [] if name in written else [name]
            doomed += [Path(name).stem + ".pdf", Path(name).stem + ".eml"]
            for each in doomed:
                try:
                    (self.run_dir / each).unlink(missing_ok=True)
                except OSError:
                    warnings.append(
                        f"Le fichier « {each} » d'une exécution précédente du même jour n'a "
                        "pas pu être supprimé (ouvert ?) : il n'est plus à envoyer, "
                        "supprimez-le vous-même."
                    )
        if stale and self.batch:  # the day's print batch held the replaced run's letters
            try:
                (self.run_dir / self.batch).unlink(missing_ok=True)
            except OSError:
                warnings.append(
                    f"« {self.batch} » d'une exécution précédente du même jour n'a pas pu "
                    "être supprimé (ouvert ?) : ne l'imprimez pas, supprimez-le vous-même."
                )
        return warnings


@dataclass
class WorkbookPart:
    """The status column written into the user's workbook (or its « avec statut » copy)."""

    write: Callable[[], tuple[Path, Path | None]]  # returns (written file, backup)
    folder: Path
    room: int = 0
    written: Path | None = None
    backup: Path | None = None
    _in_place: bool = True

    def prepare(self) -> None:
        return None

    def commit(self) -> None:
        self.written, self.backup = self.write()

    def rollback(self) -> None:
        if self.written is not None and self.backup is not None and self.backup.exists():
            shutil.copyfile(self.backup, self.written)  # written, then something failed

    def finish(self) -> list[str]:
        return []


@dataclass
class FollowUpPart:
    """The follow-up workbook, created or refreshed in place (atomic replace, after a
    backup) before the journal commits; a rollback puts the backup back, or removes the
    workbook this run created."""

    path: Path
    write: Callable[[], Path | None]  # returns the backup (None: created)
    room: int = 0
    backup: Path | None = None
    _done: bool = False
    _created: bool = False

    @property
    def folder(self) -> Path:
        return self.path.parent

    def prepare(self) -> None:
        return None

    def commit(self) -> None:
        self._created = not self.path.exists()
        self.backup = self.write()
        self._done = True

    def rollback(self) -> None:
        if not self._done:
            return
        if self._created:
            self.path.unlink(missing_ok=True)
        elif self.backup is not None and self.backup.exists():
            shutil.copyfile(self.backup, self.path)

    def finish(self) -> list[str]:
        return []


@dataclass
class JournalPart:
    """The run's events, in one transaction opened (and locked) before anything is put in
    place and committed last, with the fingerprint of the file as the run left it."""

    writer: JournalWriter
    record: Callable[[], RunRecord]  # built once the letters are rendered
    fingerprint: Callable[[], str]
    room: int = 0
    stale: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.writer.path.parent

    def prepare(self) -> None:
        self.writer.begin()
        self.stale = self.writer.record(self.record())

    def commit(self) -> None:
        self.writer.set_fingerprint(self.fingerprint())
        self.writer.commit()

    def rollback(self) -> None:
        self.writer.rollback()

    def finish(self) -> list[str]:
        return []
