"""Migration of journals written by version 1 (tables relances, courriers, executions).

Version 1 replaced a date's rows on a re-run, so what it holds is what was in force: each
``courriers`` row becomes a letter event, each ``relances`` row an invoice it named with the
level reached. The old tables are kept, renamed ``v1_…``, so nothing is lost. The same
conversion serves a read-only run (in memory) and the migration itself (in the file, in
the run's transaction, after a backup copy).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path


def table_names(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def migrate_v1(con: sqlite3.Connection) -> None:
    """Turn version 1's tables (relances, courriers, executions) into events, in ``con``.

    Version 1 replaced a date's rows on a re-run, so what it holds is what was in force:
    each ``courriers`` row becomes a letter event, each ``relances`` row an invoice it
    named with the level reached. Reminders without their letter row (journals from before
    ``courriers`` existed) get a letter event of their own. The old tables are kept,
    renamed ``v1_…``, so nothing is lost.
    """
    tables = table_names(con)
    for name in ("relances", "courriers", "executions"):
        if name in tables:
            con.execute(f"ALTER TABLE {name} RENAME TO v1_{name}")
    from .journal import LETTER, create_schema

    create_schema(con)
    if "executions" in tables:
        cols = {r[1] for r in con.execute("PRAGMA table_info(v1_executions)")}
        fp = "empreinte" if "empreinte" in cols else "''"
        con.execute(
            "INSERT INTO executions (horodatage, date, export, empreinte, factures, courriers, "
            f"erreurs) SELECT horodatage, date, export, {fp}, factures, courriers, erreurs "
            "FROM v1_executions ORDER BY rowid"
        )
    now = datetime.now().isoformat(timespec="seconds")
    if "courriers" in tables:
        cols = {r[1] for r in con.execute("PRAGMA table_info(v1_courriers)")}
        export = "export" if "export" in cols else "''"
        for key, client, level, day, file, total, source in con.execute(
            f"SELECT cle_client, client, niveau, date, fichier, total, {export} "
            "FROM v1_courriers ORDER BY date, rowid"
        ).fetchall():
            run = _v1_run(con, day, source)
            con.execute(
                "INSERT INTO evenements (execution, horodatage, date, type, cle_client, client, "
                "niveau, fichier, total, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run, now, day, LETTER, key, client, level, file, total, "repris du journal v1"),
            )
    if "relances" in tables:
        _migrate_v1_reminders(con, now)


def _v1_run(con: sqlite3.Connection, day: str, export: str) -> int | None:
    """The execution of that date (and export, when version 1 recorded it)."""
    row = con.execute(
        "SELECT id FROM executions WHERE date = ? AND (? = '' OR export = ?) "
        "ORDER BY id DESC LIMIT 1", (day, export, export),
    ).fetchone() or con.execute(
        "SELECT id FROM executions WHERE date = ? ORDER BY id DESC LIMIT 1", (day,)
    ).fetchone()  # fmt: skip
    return row[0] if row else None


def _migrate_v1_reminders(con: sqlite3.Connection, now: str) -> None:
    from .journal import LETTER

    for key, client, number, cle, level, day, file, rest in con.execute(
        "SELECT cle_client, client, numero_facture, cle_facture, niveau, date, courrier, "
        "reste_du FROM v1_relances ORDER BY date, rowid"
    ).fetchall():
        row = con.execute(
            "SELECT id FROM evenements WHERE type = ? AND cle_client = ? AND date = ? "
            "AND (fichier = ? OR ? = '') ORDER BY id LIMIT 1",
            (LETTER, key, day, file, file),
        ).fetchone()
        if row is None:
            cur = con.execute(
                "INSERT INTO evenements (execution, horodatage, date, type, cle_client, client, "
                "niveau, fichier, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_v1_run(con, day, ""), now, day, LETTER, key, client, level, file,
                 "repris du journal v1"),
            )  # fmt: skip
            event = cur.lastrowid
        else:
            event = row[0]
        con.execute(
            "INSERT INTO evenement_factures (evenement, cle_facture, numero_facture, niveau, "
            "etape, reste_du) VALUES (?, ?, ?, ?, 1, ?)", (event, cle, number, level, rest),
        )  # fmt: skip


def backup_name(path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y-%m-%d %Hh%Mm%S")
    return path.with_name(f"{path.stem} – avant migration {stamp}{path.suffix}")
