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
    PRIMARY KEY (cle_client, date)
);
CREATE TABLE IF NOT EXISTS executions (
    horodatage TEXT NOT NULL,
    date TEXT NOT NULL,
    export TEXT NOT NULL,
    factures INTEGER NOT NULL,
    courriers INTEGER NOT NULL,
    erreurs INTEGER NOT NULL
);
"""


def _fail(path: Path, exc: Exception) -> RelanceError:
    return RelanceError(
        f"Journal des relances illisible : « {path} » ({exc}).\n"
        "Ce fichier garde la mémoire des relances envoyées. S'il a été abîmé, restaurez-le "
        "depuis une sauvegarde, ou indiquez un autre fichier avec --journal."
    )


def load_history(path: Path) -> pd.DataFrame:
    """Every reminder recorded: cle_facture, niveau, date (datetime64). Empty if no file."""
    empty = pd.DataFrame({
        "cle_facture": pd.Series([], dtype=object),
        "niveau": pd.Series([], dtype="int64"),
        "date": pd.Series([], dtype="datetime64[ns]"),
    })  # fmt: skip
    if not path.exists():
        return empty
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as con:
            has_table = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='relances'"
            ).fetchone()
            if not has_table:
                return empty
            frame = pd.read_sql_query("SELECT cle_facture, niveau, date FROM relances", con)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise _fail(path, exc) from exc
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d").astype("datetime64[ns]")
    frame["niveau"] = frame["niveau"].astype("int64")
    return frame


def check_journal(path: Path) -> None:
    """Fail early (before anything is written) if the journal cannot be written later."""
    target = path if path.exists() else path.parent
    if path.exists():
        load_history(path)
    if target.exists() and not _writable(target):
        raise RelanceError(
            f"Le journal des relances « {path} » est en lecture seule.\n"
            "Retirez la lecture seule (clic droit > Propriétés) ou indiquez un autre fichier "
            "avec --journal."
        )


def _writable(path: Path) -> bool:
    import os

    return bool(path.stat().st_mode & 0o222) and os.access(path, os.W_OK)


def record_run(
    path: Path,
    run_date: date,
    export: Path,
    reminders: Iterable[tuple[str, str, str, str, int, str, float]],
    letters: Iterable[tuple[str, str, int, str, str, float]],
    counts: tuple[int, int, int],
) -> None:
    """Record this run's reminders and letters, replacing any earlier run of the same date.

    reminders: (cle_facture, cle_client, numero, client, niveau, courrier, reste_du)
    letters: (cle_client, client, niveau, fichier, factures, total)
    """
    day = run_date.isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(path)) as con, con:
            con.executescript(SCHEMA)
            rows = list(reminders)
            con.executemany(
                "DELETE FROM relances WHERE cle_facture = ? AND date = ?",
                [(r[0], day) for r in rows],
            )
            con.executemany(
                "INSERT OR REPLACE INTO relances (cle_facture, cle_client, numero_facture, "
                "client, niveau, date, courrier, reste_du) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r[0], r[1], r[2], r[3], r[4], day, r[5], r[6]) for r in rows],
            )
            con.executemany(
                "INSERT OR REPLACE INTO courriers (cle_client, client, niveau, date, fichier, "
                "factures, total) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(c[0], c[1], c[2], day, c[3], c[4], c[5]) for c in letters],
            )
            con.execute(
                "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?)",
                (datetime.now().isoformat(timespec="seconds"), day, str(export), *counts),
            )
    except sqlite3.Error as exc:
        raise _fail(path, exc) from exc
