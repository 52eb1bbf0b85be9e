"""The e-mail sending log in the journal (``relance-xlsx envoyer``): every step of every
message, never rewritten, so that each message goes out exactly once.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .cancel import IssuedLetter
from .journal import (
    LETTER,
    close_connection,
    connect_readonly,
    locked,
    reading,
    unreadable,
)
from .migration import table_names

# One row per step of a message, never rewritten: ``preparation`` (its Message-ID, written and
# committed before the message is handed to the server), then ``envoye`` (the server accepted
# it), ``refuse`` (the server refused it: nothing was delivered) or ``inconnu`` (the connection
# broke while the server held the message). A message is keyed by its run date and client: one
# e-mail per client and date, even when the date is re-run. Its state is its last row; a last
# row ``preparation`` means the process died in between: the outcome is unknown.

SENDING_SCHEMA = """
CREATE TABLE IF NOT EXISTS envois_email (
    id INTEGER PRIMARY KEY,
    horodatage TEXT NOT NULL,
    jour TEXT NOT NULL,
    cle_client TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    courrier INTEGER REFERENCES evenements(id),
    fichier TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL,
    etat TEXT NOT NULL,
    destinataires TEXT NOT NULL DEFAULT '',
    expediteur TEXT NOT NULL DEFAULT '',
    raison TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS envois_email_client ON envois_email(jour, cle_client);
CREATE VIEW IF NOT EXISTS etat_envois_email AS
    SELECT e.* FROM envois_email e
    WHERE e.id = (SELECT MAX(x.id) FROM envois_email x
                  WHERE x.jour = e.jour AND x.cle_client = e.cle_client);
"""

SEND_PREPARED = "preparation"
SEND_DONE = "envoye"
SEND_REFUSED = "refuse"
SEND_UNKNOWN = "inconnu"


@dataclass(frozen=True)
class SendingState:
    """The last recorded step of one client's e-mail for a date."""

    cle_client: str
    etat: str
    message_id: str
    horodatage: str
    destinataires: str
    raison: str

    @property
    def unknown(self) -> bool:
        """Handed to the server, and no answer recorded: perhaps delivered."""
        return self.etat in (SEND_PREPARED, SEND_UNKNOWN)


def create_sending_schema(con: sqlite3.Connection) -> None:
    """The sending table and view, when missing (statement by statement, as create_schema)."""
    for statement in SENDING_SCHEMA.split(";\n"):
        if statement.strip():
            con.execute(statement)


def latest_run_date(path: Path) -> date | None:
    """The date of the latest run in force that issued letters."""
    try:
        with reading(path) as con:
            if con is None:
                return None
            row = con.execute(
                "SELECT MAX(date) FROM evenements_en_vigueur WHERE type = ?", (LETTER,)
            ).fetchone()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc
    return date.fromisoformat(row[0]) if row and row[0] else None


def email_words(state: SendingState | None) -> str:
    """What became of a letter's e-mail, in the words of the follow-up workbook."""
    if state is None:
        return ""
    if state.etat == SEND_DONE:
        return "e-mail envoyé"
    if state.etat == SEND_REFUSED:
        return "e-mail refusé : courrier à poster"
    return "e-mail au résultat inconnu"


def all_sending_states(path: Path) -> dict[tuple[date, str], SendingState]:
    """(date, client key) -> the last step of that e-mail, for every date at once: read
    before a run opens its journal transaction (a big transaction locks readers out)."""
    if not path.exists():
        return {}
    try:
        with closing(connect_readonly(path)) as con:
            if "envois_email" not in table_names(con):
                return {}
            rows = con.execute(
                "SELECT jour, cle_client, etat, message_id, horodatage, destinataires, raison "
                "FROM etat_envois_email"
            ).fetchall()
    except sqlite3.Error as exc:
        raise unreadable(path, exc) from exc
    return {(date.fromisoformat(r[0]), r[1]): SendingState(*r[1:]) for r in rows}


def sending_states(path: Path, day: date) -> dict[str, SendingState]:
    """Client key -> the last step of its e-mail of ``day`` (empty before any sending)."""
    return {key: state for (when, key), state in all_sending_states(path).items() if when == day}


class SendLog:
    """The sending steps, each in its own short transaction committed before going on: a
    message must be on disk as « handed over » before the server sees it."""

    def __init__(self, path: Path, day: date) -> None:
        self.path = path
        self.day = day.isoformat()
        try:
            self.con = sqlite3.connect(path, timeout=10, isolation_level=None)
            self.con.execute("BEGIN IMMEDIATE")
            create_sending_schema(self.con)
            self.con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise locked(path, exc) from exc
        except sqlite3.Error as exc:
            raise unreadable(path, exc) from exc

    def close(self) -> None:
        close_connection(self.con, rollback=True)

    def prepare(self, letter: IssuedLetter, message_id: str, recipients: str, sender: str,
                resend_unknown: bool) -> bool:  # fmt: skip
        """Record the message as handed over, unless another run already sent it (or holds
        it, outcome unknown): checked and written in one transaction."""
        try:
            self.con.execute("BEGIN IMMEDIATE")
            row = self.con.execute(
                "SELECT etat FROM envois_email WHERE jour = ? AND cle_client = ? "
                "ORDER BY id DESC LIMIT 1", (self.day, letter.cle_client)
            ).fetchone()
            state = row[0] if row else None
            if state == SEND_DONE or (state in (SEND_PREPARED, SEND_UNKNOWN)
                                      and not resend_unknown):  # fmt: skip
                self.con.execute("ROLLBACK")
                return False
            self._insert(letter, message_id, SEND_PREPARED, recipients, sender, "")
            self.con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            close_connection(self.con, rollback=True)
            raise locked(self.path, exc) from exc
        return True

    def outcome(self, letter: IssuedLetter, message_id: str, state: str,
                reason: str = "") -> None:  # fmt: skip
        """What became of a message handed over: sent, refused or unknown."""
        self.con.execute("BEGIN IMMEDIATE")
        self._insert(letter, message_id, state, "", "", reason)
        self.con.execute("COMMIT")

    def _insert(self, letter: IssuedLetter, message_id: str, state: str, recipients: str,
                sender: str, reason: str) -> None:  # fmt: skip
        self.con.execute(
            "INSERT INTO envois_email (horodatage, jour, cle_client, client, courrier, fichier, "
            "message_id, etat, destinataires, expediteur, raison) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (datetime.now().isoformat(timespec="seconds"), self.day, letter.cle_client,
             letter.client, letter.id, letter.fichier, message_id, state, recipients, sender,
             reason),
        )  # fmt: skip
