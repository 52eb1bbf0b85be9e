"""The journal: an append-only list of dated events in SQLite, the tool's memory.

What was sent is proof the accountant may need: events are never rewritten. A run adds an
``executions`` row (export, fingerprint, the balances it saw in ``soldes``) and its events
(``evenements``: a letter issued, a hand-over to collection; later a cancellation, an
exchange…) with the invoices each one names (``evenement_factures``). State (each
invoice's level, each client's last letter) is computed from the events by ``history.py``;
nothing here stores it.

A re-run of a date supersedes that run: the earlier execution is marked
``remplacee_par`` (its events stay, and stop counting); nothing another run wrote is
touched. A cancellation is an event that names the letter it cancels.

The views ``courriers`` and ``relances`` show the letters and reminders in force, with the
columns journals of version 1 had as tables: scripts that queried them keep working.
Journals of version 1 are migrated on the first run that writes, after a backup copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from .errors import RelanceError
from .files import is_writable
from .migration import backup_name, migrate_v1, table_names

VERSION = 2
BUSY_SECONDS = 10  # how long a reader waits for another run's transaction to end

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (cle TEXT PRIMARY KEY, valeur TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY,
    horodatage TEXT NOT NULL,
    date TEXT NOT NULL,
    export TEXT NOT NULL,
    empreinte TEXT NOT NULL DEFAULT '',
    factures INTEGER NOT NULL DEFAULT 0,
    courriers INTEGER NOT NULL DEFAULT 0,
    erreurs INTEGER NOT NULL DEFAULT 0,
    remplacee_par INTEGER REFERENCES executions(id),
    dossier TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS executions_date ON executions(date);
CREATE TABLE IF NOT EXISTS soldes (
    execution INTEGER NOT NULL REFERENCES executions(id),
    cle_facture TEXT NOT NULL,
    cle_client TEXT NOT NULL,
    numero_facture TEXT NOT NULL,
    reste_du REAL
);
CREATE INDEX IF NOT EXISTS soldes_execution ON soldes(execution);
CREATE INDEX IF NOT EXISTS soldes_facture ON soldes(cle_facture);
CREATE TABLE IF NOT EXISTS evenements (
    id INTEGER PRIMARY KEY,
    execution INTEGER REFERENCES executions(id),
    horodatage TEXT NOT NULL,
    date TEXT NOT NULL,
    type TEXT NOT NULL,
    cle_client TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    niveau INTEGER NOT NULL DEFAULT 0,
    fichier TEXT NOT NULL DEFAULT '',
    total REAL,
    vise INTEGER REFERENCES evenements(id),
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS evenements_client ON evenements(cle_client);
CREATE INDEX IF NOT EXISTS evenements_vise ON evenements(vise);
CREATE TABLE IF NOT EXISTS evenement_factures (
    evenement INTEGER NOT NULL REFERENCES evenements(id),
    cle_facture TEXT NOT NULL,
    numero_facture TEXT NOT NULL,
    niveau INTEGER NOT NULL,
    etape INTEGER NOT NULL DEFAULT 0,
    reste_du REAL,
    interets REAL,
    indemnite REAL
);
CREATE INDEX IF NOT EXISTS evenement_factures_evenement ON evenement_factures(evenement);
CREATE VIEW IF NOT EXISTS evenements_en_vigueur AS
    SELECT e.*, COALESCE(x.export, '') AS export FROM evenements e
    LEFT JOIN executions x ON x.id = e.execution
    WHERE x.remplacee_par IS NULL AND e.type != 'annulation'
      AND NOT EXISTS (SELECT 1 FROM evenements a WHERE a.type = 'annulation' AND a.vise = e.id);
CREATE VIEW IF NOT EXISTS courriers AS
    SELECT e.cle_client, e.client, e.niveau, e.date, e.fichier,
           (SELECT group_concat(f.numero_facture, ', ') FROM evenement_factures f
             WHERE f.evenement = e.id) AS factures,
           e.total, e.export
    FROM evenements_en_vigueur e WHERE e.type = 'courrier';
CREATE VIEW IF NOT EXISTS relances AS
    SELECT f.cle_facture, e.cle_client, f.numero_facture, e.client, f.niveau, e.date,
           e.fichier AS courrier, f.reste_du
    FROM evenement_factures f JOIN evenements_en_vigueur e ON e.id = f.evenement
    WHERE e.type = 'courrier' AND f.etape = 1;
"""



def create_schema(con: sqlite3.Connection) -> None:
    """Create what is missing, statement by statement (``executescript`` would commit the
    transaction the run holds), and stamp the version."""
    for statement in SCHEMA.split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.execute("INSERT OR IGNORE INTO meta (cle, valeur) VALUES ('version', ?)", (str(VERSION),))


LETTER = "courrier"
HANDOVER = "transmission"
CANCELLATION = "annulation"
EXCHANGE = "echange"  # a row of the follow-up workbook's « Échanges » sheet
PROMISE = "promesse"  # a promise of payment (« Clients » or « Échanges »); total: balance then


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)  # one per invoice of each letter: slots, no dict
class InvoiceEntry:
    """One invoice named by an event: the level the event brings it to."""

    cle_facture: str
    numero_facture: str
    niveau: int
    etape: bool  # it took a step in this event (False: listed beside the others)
    reste_du: float
    interets: float = 0.0
    indemnite: float = 0.0


@dataclass(frozen=True)
class Event:
    """One event of a run: a letter issued (``courrier``) or a hand-over (``transmission``)."""

    type: str
    cle_client: str
    client: str
    niveau: int
    factures: tuple[InvoiceEntry, ...]
    fichier: str = ""
    total: float | None = None
    detail: str = ""  # follow-up events: the entry's key (sheet and content)


@dataclass(frozen=True, slots=True)  # one per invoice of the export: slots, no dict
class Balance:
    """An invoice line as the run saw it: the proof of what the export said that day."""

    cle_facture: str
    cle_client: str
    numero_facture: str
    reste_du: float


@dataclass(frozen=True)
class RunRecord:
    """Everything one run adds to the journal."""

    date: date
    export: str  # export_key() of the export
    balances: tuple[Balance, ...]
    events: tuple[Event, ...]
    errors: int
    supersedes: tuple[int, ...]  # ids of the same-date executions this run replaces
    dossier: str = ""  # the letters' subfolder in the day's folder ("": the day's folder)
    withdrawn: tuple[int, ...] = ()  # follow-up events whose row is gone or was edited


@dataclass(frozen=True)
class SameDayRun:
    """An execution of the run's date still in force: is this run a re-run of it, and where
    did it put its letters?"""

    id: int
    export: str
    seen: frozenset[str]  # the invoice keys it recorded
    dossier: str = ""


@dataclass(frozen=True)
class JournalData:
    """The journal's events in force, as tables for the pure history stage.

    ``runs``: id, date, export (non-superseded executions, for same-date re-runs);
    ``events``: id, execution, date, type, cle_client, niveau, fichier, export;
    ``invoices``: evenement, cle_facture, niveau, etape; ``seen``: every invoice key a run
    recorded (the status column is read back only for the others).
    """

    runs: pd.DataFrame
    events: pd.DataFrame
    invoices: pd.DataFrame
    seen: frozenset[str]
    version: int = VERSION

    @classmethod
    def empty(cls) -> JournalData:
        return cls(_empty(RUN_COLUMNS), _empty(EVENT_COLUMNS), _empty(INVOICE_COLUMNS),
                   frozenset())  # fmt: skip


RUN_COLUMNS = {"id": "int64", "date": "datetime64[ns]", "export": "object"}
EVENT_COLUMNS = {"id": "int64", "execution": "int64", "date": "datetime64[ns]",
                 "type": "object", "cle_client": "object", "niveau": "int64",
                 "fichier": "object", "export": "object"}  # fmt: skip
# read too, for the follow-up workbook's events (history does not need them)
FOLLOWUP_COLUMNS = {"total": "float64", "detail": "object"}
INVOICE_COLUMNS = {"evenement": "int64", "cle_facture": "object", "niveau": "int64",
                   "etape": "int64"}  # fmt: skip


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})


# --- errors --------------------------------------------------------------------------------


def unreadable(path: Path, exc: Exception) -> RelanceError:
    return RelanceError(
        f"Journal des relances illisible : « {path} » ({exc}).\n"
        "Ce fichier garde la mémoire des relances envoyées. S'il a été abîmé, restaurez-le "
        "depuis une sauvegarde, ou indiquez un autre fichier avec --journal."
    )


def locked(path: Path, exc: Exception) -> RelanceError:
    return RelanceError(
        f"Le journal des relances « {path} » est utilisé par un autre programme ({exc}).\n"
        "Fermez le programme qui l'a ouvert (une autre exécution en cours ?), puis relancez."
    )


def _too_new(path: Path, version: int) -> RelanceError:
    return RelanceError(
        f"Le journal des relances « {path} » a été écrit par une version plus récente de "
        f"relance-xlsx (format {version}, cette version lit le format {VERSION}).\n"
        "Mettez relance-xlsx à jour (relancez son installation), puis relancez. Le journal "
        "n'a pas été modifié."
    )


def check_journal(path: Path) -> None:
    """Fail early (before anything is written) if the journal cannot be written later."""
    target = path if path.exists() else path.parent
    if target.exists() and not is_writable(target):
        raise RelanceError(
            f"Le journal des relances « {path} » est en lecture seule.\n"
            "Retirez la lecture seule (clic droit > Propriétés) ou indiquez un autre fichier "
            "avec --journal."
        )


# --- reading -------------------------------------------------------------------------------


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that reads and never writes (a dry run writes nothing).

    Opened read-write when the file allows it, so that SQLite itself rolls back what a run
    killed inside its transaction left (the ``-journal`` file): a read-only opening cannot,
    and every later run would fail. ``query_only`` then forbids any change.
    """
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        con = sqlite3.connect(path, timeout=BUSY_SECONDS)
        con.execute("PRAGMA query_only = ON")
        return con
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True)


def _version(con: sqlite3.Connection) -> int:
    """2 and more: the event journal; 1: the tables of the first version; 0: empty file."""
    tables = table_names(con)
    if "meta" in tables:
        row = con.execute("SELECT valeur FROM meta WHERE cle = 'version'").fetchone()
        return int(row[0]) if row else VERSION
    return 1 if "relances" in tables or "courriers" in tables else 0


def load_journal(path: Path) -> JournalData:
    """The events in force, read-only (a dry run must not create or lock the file).

    A journal of version 1 is converted in memory, the way the migration writes it.
    """
    try:
        with reading(path) as con:
            return JournalData.empty() if con is None else _read(con)
    except (sqlite3.Error, pd.errors.DatabaseError, ValueError) as exc:
        raise unreadable(path, exc) from exc


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the journal in this version's format (a journal of
    version 1 converted in memory, the way the migration writes it); None when there is
    no journal yet."""
    if not path.exists():
        yield None
        return
    with closing(connect_readonly(path)) as con:
        version = _version(con)
        if version > VERSION:
            raise _too_new(path, version)
        if version == 0:
            yield None
        elif version == 1:
            with closing(sqlite3.connect(":memory:")) as mem:
                con.backup(mem)
                migrate_v1(mem)
                yield mem
        else:
            yield con


def _read(con: sqlite3.Connection) -> JournalData:
    runs = pd.read_sql_query(
        "SELECT id, date, export FROM executions WHERE remplacee_par IS NULL", con
    )
    events = pd.read_sql_query(
        "SELECT id, COALESCE(execution, 0) AS execution, date, type, cle_client, niveau, "
        "fichier, export, total, detail FROM evenements_en_vigueur", con
    )
    invoices = pd.read_sql_query(
        "SELECT f.evenement, f.cle_facture, f.niveau, f.etape FROM evenement_factures f "
        "JOIN evenements_en_vigueur e ON e.id = f.evenement", con
    )
    seen = {r[0] for r in con.execute(
        "SELECT DISTINCT s.cle_facture FROM soldes s JOIN executions x ON x.id = s.execution "
        "WHERE x.remplacee_par IS NULL"
    )}  # fmt: skip
    for frame in (runs, events):
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return JournalData(
        runs.astype(RUN_COLUMNS), events.astype({**EVENT_COLUMNS, **FOLLOWUP_COLUMNS}),
        invoices.astype(INVOICE_COLUMNS), frozenset(seen),
    )  # fmt: skip


def seen_invoices(con: sqlite3.Connection, run_id: int) -> set[str]:
    """The invoice keys an execution recorded (to tell re-runs of one export apart)."""
    return {r[0] for r in con.execute(
        "SELECT cle_facture FROM soldes WHERE execution = ?", (run_id,))}  # fmt: skip


def same_date_runs(path: Path, run_date: date) -> list[SameDayRun]:
    """This date's executions in force."""
    if not path.exists():
        return []
    try:
        with closing(connect_readonly(path)) as con:
            if _version(con) < 2:
                return []  # version 1 kept no balances: re-runs matched by export only
            rows = con.execute(
                "SELECT id, export, dossier FROM executions "
                "WHERE date = ? AND remplacee_par IS NULL", (run_date.isoformat(),),
            ).fetchall()  # fmt: skip
            return [SameDayRun(i, e, frozenset(seen_invoices(con, i)), d) for i, e, d in rows]
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc


@dataclass(frozen=True)
class PastRun:
    """A run in force and the balances it saw: what the stale-export check compares with."""

    id: int
    date: date
    balances: dict[str, float]  # cle_facture -> reste_du


PROBE_KEYS = 200  # invoice keys a run is probed with: does it share invoices with the export?


def recent_balances(path: Path, run_date: date, keys: Sequence[str], dates: int,
                    scan: int = 12) -> tuple[PastRun, ...]:  # fmt: skip
    """The runs in force of the last ``dates`` run dates up to ``run_date`` that share
    invoices with ``keys`` (another establishment's runs are skipped; at most ``scan`` dates
    looked at), with their balances. Same-date runs are included: a stale export run after
    the day's good one must be compared with it. Read-only; none without a journal."""
    step = max(len(keys) // PROBE_KEYS, 1)
    probe = list(dict.fromkeys(keys[::step]))[:PROBE_KEYS]
    if not probe:
        return ()
    marks = ", ".join("?" * len(probe))
    try:
        with reading(path) as con:
            if con is None:
                return ()
            runs = con.execute(
                "SELECT id, date FROM executions WHERE remplacee_par IS NULL AND date IN ("
                "SELECT DISTINCT date FROM executions WHERE remplacee_par IS NULL AND date <= ? "
                "ORDER BY date DESC LIMIT ?) ORDER BY date DESC, id DESC",
                (run_date.isoformat(), scan),
            ).fetchall()  # fmt: skip
            out: list[PastRun] = []
            for run_id, day in runs:
                if len({p.date for p in out} | {date.fromisoformat(day)}) > dates:
                    break
                shares = con.execute(
                    f"SELECT 1 FROM soldes WHERE execution = ? AND cle_facture IN ({marks}) "
                    "LIMIT 1", (run_id, *probe),
                ).fetchone()  # fmt: skip
                if shares is None:
                    continue
                rows = con.execute("SELECT cle_facture, reste_du FROM soldes WHERE execution = ?",
                                   (run_id,))  # fmt: skip
                balances = {k: float(r) if r is not None else 0.0 for k, r in rows}
                out.append(PastRun(int(run_id), date.fromisoformat(day), balances))
            return tuple(reversed(out))
    except (sqlite3.Error, ValueError) as exc:
        raise unreadable(path, exc) from exc


def previous_clients(path: Path, run_date: date, keys: Sequence[str],
                     scan: int = 12) -> frozenset[str]:  # fmt: skip
    """The clients seen by the last run in force before ``run_date`` that shares invoices
    with ``keys`` (another establishment's runs are skipped): a client of that run missing
    from this export has left it. Read-only; none without a journal."""
    step = max(len(keys) // PROBE_KEYS, 1)
    probe = list(dict.fromkeys(keys[::step]))[:PROBE_KEYS]
    if not probe:
        return frozenset()
    marks = ", ".join("?" * len(probe))
    try:
        with reading(path) as con:
            if con is None:
                return frozenset()
            runs = con.execute(
                "SELECT id FROM executions WHERE remplacee_par IS NULL AND date < ? "
                "ORDER BY date DESC, id DESC LIMIT ?", (run_date.isoformat(), scan),
            ).fetchall()  # fmt: skip
            for (run_id,) in runs:
                shares = con.execute(
                    f"SELECT 1 FROM soldes WHERE execution = ? AND cle_facture IN ({marks}) "
                    "LIMIT 1", (run_id, *probe),
                ).fetchone()  # fmt: skip
                if shares is not None:
                    return frozenset(r[0] for r in con.execute(
                        "SELECT DISTINCT cle_client FROM soldes WHERE execution = ?", (run_id,)))
            return frozenset()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc


def export_key(export: Path) -> str:
    """How an export is named in the journal: its absolute path, whatever the current folder."""
    return str(Path(export).resolve())


def fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes and its modification time: the file exactly as a run left
    it. A new export has a new time even when its bytes are the same (a CSV of the same
    open items), so only a file nobody touched since is recognised."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"{digest.hexdigest()}@{path.stat().st_mtime_ns}"


def processed_before(path: Path, export_fingerprint: str, run_date: date) -> date | None:
    """The date an earlier run left this very file (same bytes), if before ``run_date``."""
    if not path.exists() or not export_fingerprint:
        return None
    try:
        with closing(connect_readonly(path)) as con:
            columns = {row[1] for row in con.execute("PRAGMA table_info(executions)")}
            if "empreinte" not in columns:
                return None
            row = con.execute(
                "SELECT MAX(date) FROM executions WHERE empreinte = ? AND date < ?",
                (export_fingerprint, run_date.isoformat()),
            ).fetchone()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc
    return date.fromisoformat(row[0]) if row and row[0] else None


# --- writing -------------------------------------------------------------------------------


class JournalWriter:
    """This run's records, in one SQLite transaction opened before the workbook is written
    and committed only after it: a failed run leaves the journal as it was.

    A journal of version 1 is copied beside itself, then migrated inside the same
    transaction (``migrated_from`` names the copy, for the summary).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con: sqlite3.Connection | None = None
        self.migrated_from: Path | None = None
        self._execution: int | None = None

    def begin(self) -> JournalWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise locked(self.path, exc) from exc
        except sqlite3.Error as exc:
            raise unreadable(self.path, exc) from exc
        try:
            version = _version(con)
            if version > VERSION:
                raise _too_new(self.path, version)
            if version == 1:
                self.migrated_from = backup_name(self.path, datetime.now())
                con.execute("ROLLBACK")  # a consistent copy: no writer can start meanwhile
                shutil.copyfile(self.path, self.migrated_from)
                con.execute("BEGIN IMMEDIATE")
                migrate_v1(con)
            else:
                create_schema(con)
        except RelanceError:
            close_connection(con, rollback=True)
            raise
        except (sqlite3.Error, OSError) as exc:
            close_connection(con, rollback=True)
            raise RelanceError(
                f"Le journal des relances « {self.path} » n'a pas pu être mis au format de "
                f"cette version ({exc}).\nIl n'a pas été modifié. Gardez-le, et signalez le "
                "problème ; en attendant, indiquez un autre fichier avec --journal."
            ) from exc
        self.con = con
        return self

    def record(self, run: RunRecord) -> list[str]:
        """Add the run, its balances and its events; mark the runs it supersedes.

        Returns the file names of the superseded runs' letters, so the caller can remove
        the ones this run does not write again.
        """
        assert self.con is not None, "begin() first"
        con, day = self.con, run.date.isoformat()
        now = datetime.now().isoformat(timespec="seconds")
        letters = sum(1 for e in run.events if e.type == LETTER)
        cur = con.execute(
            "INSERT INTO executions (horodatage, date, export, factures, courriers, erreurs, "
            "dossier) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now, day, run.export, len(run.balances), letters, run.errors, run.dossier),
        )
        self._execution = execution = cur.lastrowid
        stale = _superseded_files(con, run.supersedes)
        con.executemany("UPDATE executions SET remplacee_par = ? WHERE id = ?",
                        [(execution, i) for i in run.supersedes])  # fmt: skip
        con.executemany(
            "INSERT INTO soldes (execution, cle_facture, cle_client, numero_facture, reste_du) "
            "VALUES (?, ?, ?, ?, ?)",
            [(execution, b.cle_facture, b.cle_client, b.numero_facture, b.reste_du)
             for b in run.balances],
        )  # fmt: skip
        for event in run.events:
            insert_event(con, execution, now, day, event)
        for target in run.withdrawn:
            withdrawal = Event(CANCELLATION, "", "", 0, (), detail="retiré du suivi")
            insert_event(con, execution, now, day, withdrawal, target=target)
        return stale

    def set_fingerprint(self, fingerprint: str) -> None:
        """The export as this run left it: next week, the same bytes mean the same file
        was left in the folder, not a new export."""
        assert self.con is not None, "begin() first"
        self.con.execute("UPDATE executions SET empreinte = ? WHERE id = ?",
                         (fingerprint, self._execution))  # fmt: skip

    def commit(self) -> None:
        if self.con is not None:
            try:
                self.con.execute("COMMIT")
            finally:
                close_connection(self.con)
                self.con = None

    def rollback(self) -> None:
        if self.con is not None:
            close_connection(self.con, rollback=True)
            self.con = None
        if self.migrated_from is not None:
            self.migrated_from.unlink(missing_ok=True)  # nothing was migrated after all
            self.migrated_from = None


def close_connection(con: sqlite3.Connection, rollback: bool = False) -> None:
    try:
        if rollback and con.in_transaction:
            con.execute("ROLLBACK")
    except sqlite3.Error:
        pass
    finally:
        con.close()


def _superseded_files(con: sqlite3.Connection, runs: Sequence[int]) -> list[str]:
    files = []
    for run in runs:
        files += [r[0] for r in con.execute(
            "SELECT fichier FROM evenements WHERE execution = ? AND type = ? AND fichier != ''",
            (run, LETTER))]  # fmt: skip
    return files


def insert_event(
    con: sqlite3.Connection, execution: int | None, now: str, day: str, event: Event,
    target: int | None = None,
) -> int:
    cur = con.execute(
        "INSERT INTO evenements (execution, horodatage, date, type, cle_client, client, niveau, "
        "fichier, total, vise, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (execution, now, day, event.type, event.cle_client, event.client, event.niveau,
         event.fichier, event.total, target, event.detail),
    )  # fmt: skip
    event_id = int(cur.lastrowid or 0)
    con.executemany(
        "INSERT INTO evenement_factures (evenement, cle_facture, numero_facture, niveau, etape, "
        "reste_du, interets, indemnite) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(event_id, f.cle_facture, f.numero_facture, f.niveau, int(f.etape), f.reste_du,
          f.interets, f.indemnite) for f in event.factures],
    )  # fmt: skip
    return event_id
