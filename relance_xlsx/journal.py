"""The journal: a SQLite file recording every reminder sent, run after run.

It is the tool's memory from week to week: the export of next week has no status column
(the accounting software made it fresh), the journal still knows relance 1 went out. A
dry run never opens it for writing (nor creates it). Re-running a date replaces that
date's records, so the same export on the same date leaves the journal as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from .errors import RelanceError
from .files import is_writable

SCHEMA = """
CREATE TABLE IF NOT EXISTS relances (
    cle_facture TEXT NOT NULL,
    cle_client TEXT NOT NULL,
    numero_facture TEXT NOT NULL,
    client TEXT NOT NULL,
    niveau INTEGER NOT NULL,
    date TEXT NOT NULL,
    courrier TEXT NOT NULL DEFAULT '',
    reste_du REAL,
    PRIMARY KEY (cle_facture, date)
);
CREATE TABLE IF NOT EXISTS courriers (
    cle_client TEXT NOT NULL,
    client TEXT NOT NULL,
    niveau INTEGER NOT NULL,
    date TEXT NOT NULL,
    fichier TEXT NOT NULL DEFAULT '',
    factures TEXT NOT NULL DEFAULT '',
    total REAL,
    export TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (cle_client, date, export)
);
CREATE TABLE IF NOT EXISTS executions (
    horodatage TEXT NOT NULL,
    date TEXT NOT NULL,
    export TEXT NOT NULL,
    factures INTEGER NOT NULL,
    courriers INTEGER NOT NULL,
    erreurs INTEGER NOT NULL,
    empreinte TEXT NOT NULL DEFAULT ''
);
"""


def _fail(path: Path, exc: Exception) -> RelanceError:
    return RelanceError(
        f"Journal des relances illisible : « {path} » ({exc}).\n"
        "Ce fichier garde la mémoire des relances envoyées. S'il a été abîmé, restaurez-le "
        "depuis une sauvegarde, ou indiquez un autre fichier avec --journal."
    )


def _read_table(path: Path, table: str, dtypes: dict[str, str]) -> pd.DataFrame:
    """A journal table, read-only (a dry run must not create or lock the file); dates
    parsed. Empty, with the right columns, when the file or the table does not exist."""
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    if not path.exists():
        return empty
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as con:
            has_table = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
            ).fetchone()
            if not has_table:
                return empty
            frame = pd.read_sql_query(f"SELECT {', '.join(dtypes)} FROM {table}", con)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise _fail(path, exc) from exc
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame.astype(dtypes)


def load_history(path: Path) -> pd.DataFrame:
    """Every reminder recorded: cle_facture, niveau, date (datetime64). Empty if no file."""
    return _read_table(
        path, "relances", {"cle_facture": "object", "niveau": "int64", "date": "datetime64[ns]"}
    )


def check_journal(path: Path) -> None:
    """Fail early (before anything is written) if the journal cannot be written later.
    A damaged journal is found by ``load_history``, which every run calls before writing."""
    target = path if path.exists() else path.parent
    if target.exists() and not is_writable(target):
        raise RelanceError(
            f"Le journal des relances « {path} » est en lecture seule.\n"
            "Retirez la lecture seule (clic droit > Propriétés) ou indiquez un autre fichier "
            "avec --journal."
        )


def load_letters(path: Path) -> pd.DataFrame:
    """Every letter recorded: cle_client, date, export. A client's letters count for the
    minimum interval even when the invoices they chased have left the export (paid since),
    and so do the letters another export of the same folder wrote to it the same day."""
    columns = {"cle_client": "object", "date": "datetime64[ns]", "export": "object"}
    try:
        return _read_table(path, "courriers", columns)
    except RelanceError:  # a journal from before the export column
        frame = _read_table(path, "courriers", {"cle_client": "object", "date": "datetime64[ns]"})
        frame["export"] = ""
        return frame


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
        uri = path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as con:
            columns = {row[1] for row in con.execute("PRAGMA table_info(executions)")}
            if "empreinte" not in columns:
                return None
            row = con.execute(
                "SELECT MAX(date) FROM executions WHERE empreinte = ? AND date < ?",
                (export_fingerprint, run_date.isoformat()),
            ).fetchone()
    except sqlite3.Error as exc:
        raise _fail(path, exc) from exc
    return date.fromisoformat(row[0]) if row and row[0] else None


def _locked(path: Path, exc: Exception) -> RelanceError:
    return RelanceError(
        f"Le journal des relances « {path} » est utilisé par un autre programme ({exc}).\n"
        "Fermez le programme qui l'a ouvert (une autre exécution en cours ?), puis relancez."
    )


class JournalWriter:
    """This run's records, in one SQLite transaction opened before the workbook is written
    and committed only after it: a failed run leaves the journal as it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con: sqlite3.Connection | None = None

    def begin(self) -> JournalWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            con.executescript(SCHEMA)
            for table, column in (("executions", "empreinte"), ("courriers", "export")):
                columns = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
                if column not in columns:  # a journal from an earlier version
                    con.execute(
                        f"ALTER TABLE {table} ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
                    )
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _locked(self.path, exc) from exc
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from exc
        self.con = con
        return self

    def record(
        self,
        run_date: date,
        export: Path,
        reminders: Iterable[tuple[str, str, str, str, int, str, float]],
        letters: Iterable[tuple[str, str, int, str, str, float]],
        counts: tuple[int, int, int],
        invoice_keys: Iterable[str],
        client_keys: Iterable[str],
    ) -> list[str]:
        """Replace this date's records for the export's invoices and clients.

        reminders: (cle_facture, cle_client, numero, client, niveau, courrier, reste_du)
        letters: (cle_client, client, niveau, fichier, factures, total)
        Returns the file names of this date's earlier letters to these clients, so the
        caller can remove the ones this run does not write again.
        """
        assert self.con is not None, "begin() first"
        con, day, source = self.con, run_date.isoformat(), export_key(export)
        clients = [(k, day, source) for k in set(client_keys)]
        previous = [
            row[0]
            for key, d, src in clients
            for row in con.execute(
                "SELECT fichier FROM courriers WHERE cle_client = ? AND date = ? AND export = ?",
                (key, d, src),
            )
        ]
        con.executemany("DELETE FROM relances WHERE cle_facture = ? AND date = ?",
                        [(k, day) for k in set(invoice_keys)])  # fmt: skip
        con.executemany(
            "DELETE FROM courriers WHERE cle_client = ? AND date = ? AND export = ?", clients
        )
        con.executemany(
            "INSERT OR REPLACE INTO relances (cle_facture, cle_client, numero_facture, "
            "client, niveau, date, courrier, reste_du) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], r[1], r[2], r[3], r[4], day, r[5], r[6]) for r in reminders],
        )
        con.executemany(
            "INSERT OR REPLACE INTO courriers (cle_client, client, niveau, date, fichier, "
            "factures, total, export) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(c[0], c[1], c[2], day, c[3], c[4], c[5], source) for c in letters],
        )
        cur = con.execute(
            "INSERT INTO executions (horodatage, date, export, factures, courriers, erreurs) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (datetime.now().isoformat(timespec="seconds"), day, str(export), *counts),
        )
        self._execution = cur.lastrowid
        return [f for f in previous if f]

    def set_fingerprint(self, fingerprint: str) -> None:
        """The export as this run left it: next week, the same bytes mean the same file
        was left in the folder, not a new export."""
        assert self.con is not None, "begin() first"
        self.con.execute("UPDATE executions SET empreinte = ? WHERE rowid = ?",
                         (fingerprint, self._execution))  # fmt: skip

    _execution: int | None = None

    def commit(self) -> None:
        if self.con is not None:
            try:
                self.con.execute("COMMIT")
            finally:
                self.con.close()
                self.con = None

    def rollback(self) -> None:
        if self.con is not None:
            try:
                self.con.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            finally:
                self.con.close()
                self.con = None
