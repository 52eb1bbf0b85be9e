"""History: what the journal's events say of each invoice and client, as of the run date.

Pure: the journal's events (``journal.JournalData``) and the export in, columns out. The
journal wins. The export's own "niveau de relance" / "date dernière relance" columns
(history kept by the accounting software) count too, the most advanced winning. The
status column the tool wrote in the workbook is read back only for invoices the journal
has never seen (a lost journal): after a sort in Excel, a row's status may describe
another invoice, and the journal never needs it.

Events dated after the run date are ignored, and so are those of the same-date runs this
one supersedes (the same export run again, from any file or folder): re-running a date
recomputes exactly the same result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .fields import declared
from .journal import HANDOVER, LETTER, JournalData, SameDayRun
from .tiers import LAST_LETTER_LEVEL, tier_by_step

# The invoice table's columns merge_history reads (statut_existant too, when present), and
# the ones it adds (fields.py declares them).
NEEDS = declared("cle_facture", "cle_client", "niveau_export", "date_relance_export")
ADDS = declared("date_dernier_courrier", "niveau", "date_niveau", "date_mise_en_demeure")

_DATE = r"(\d{2}/\d{2}/\d{4})"
_STATUS_SENT = re.compile(rf"^\s*(relance 1|relance 2|mise en demeure)\s*[–—-]\s*{_DATE}", re.I)
_STATUS_LEGAL = re.compile(rf"^\s*contentieux\b.*?{_DATE}", re.I)
_STATUS_WAITING = re.compile(
    rf"^\s*en attente\b.*\((relance 1|relance 2|mise en demeure) du {_DATE}\)", re.I
)
#: a same-date run whose invoices are at least this share of this export's is a re-run
SAME_EXPORT_SHARE = 0.5


def parse_status(text: str) -> tuple[int, date] | None:
    """``"Relance 2 – 15/11/2026 – …"`` -> ``(2, date(2026, 11, 15))``; None if no history."""
    if not text:
        return None
    for pattern in (_STATUS_SENT, _STATUS_WAITING):
        m = pattern.match(text)
        if m:
            found = tier_by_step(m.group(1))
            assert found is not None  # the pattern only matches step names
            return found.level, _dmy(m.group(2))
    m = _STATUS_LEGAL.match(text)
    if m:
        return LAST_LETTER_LEVEL, _dmy(m.group(1))
    return None


def _dmy(text: str) -> date:
    d, m, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


def superseded_runs(
    same_date: Iterable[SameDayRun], export: str, keys: Iterable[str]
) -> tuple[int, ...]:
    """The same-date runs this one replaces: the same export file, or the same export
    saved under another name or folder (most of that run's invoices are in this one).
    Another establishment's export of the same day shares no invoices and stays."""
    mine = set(keys)
    out = []
    for run in same_date:
        shared = len(run.seen & mine)
        if run.export == export or (run.seen and shared >= SAME_EXPORT_SHARE * len(run.seen)):
            out.append(run.id)
    return tuple(out)


def superseded_warnings(same_date: Iterable[SameDayRun], superseded: Iterable[int],
                        export: str, forced_stale: bool) -> list[str]:  # fmt: skip
    """What the summary says of the same-date runs made with another export file (by name)
    that this one replaces: their letters give way to this run's (the same file run
    again, after a correction or a crash, is the usual re-run: nothing to say). An export
    forced despite its age (--forcer) says how to undo it: run the good export again."""
    gone, mine = set(superseded), Path(export).name  # the folder may have moved since
    names = [Path(r.export).name for r in same_date
             if r.id in gone and (Path(r.export).name != mine or forced_stale)]  # fmt: skip
    if not names:
        return []
    which = ", ".join(f"« {n} »" for n in dict.fromkeys(names))
    text = (f"Cette exécution remplace celle de ce jour faite avec {which} : ses courriers "
            f"sont retirés au profit de ceux-ci, et la colonne de statut de {which} n'est "
            "plus à jour.")
    if forced_stale:
        text += (" Attention : l'export traité (--forcer) est plus ancien. Si l'exécution "
                 "remplacée était la bonne, relancez son export ce même jour : il remplacera "
                 "à son tour celle-ci.")
    return [text]


def _in_force(journal: JournalData, run_date: date,
              superseded: Iterable[int]) -> pd.DataFrame:  # fmt: skip
    """Events before the run date, and the same date's events of runs not replaced."""
    ev = journal.events
    cutoff = np.datetime64(run_date, "ns")
    same_day_kept = (ev["date"] == cutoff) & ~ev["execution"].isin(set(superseded))
    return ev[(ev["date"] < cutoff) | same_day_kept]


def merge_history(
    invoices: pd.DataFrame,
    journal: JournalData,
    run_date: date,
    superseded: Iterable[int] = (),
) -> pd.DataFrame:
    """Add ``niveau`` and ``date_niveau`` (each invoice's step and when it was taken),
    ``date_mise_en_demeure`` (the formal notice that named it) and
    ``date_dernier_courrier`` (the client's last letter, any export)."""
    events = _in_force(journal, run_date, superseded)
    keys = invoices["cle_facture"].to_numpy()
    j_level, j_date, notice = _journal_levels(journal, events, keys)
    levels = np.vstack([j_level, np.zeros_like(j_level), np.zeros_like(j_level)])
    dates = np.vstack([j_date, np.full_like(j_date, np.datetime64("NaT")),
                       np.full_like(j_date, np.datetime64("NaT"))])  # fmt: skip
    cutoff = np.datetime64(run_date, "ns")

    # the export's own columns (history kept by the accounting software)
    lvl = invoices["niveau_export"].to_numpy(dtype=np.int64)
    dte = invoices["date_relance_export"].to_numpy(dtype="datetime64[ns]")
    ok = (lvl > 0) & ~(dte >= cutoff)
    levels[1] = np.where(ok, lvl, 0)
    dates[1] = np.where(ok, dte, np.datetime64("NaT"))

    # the status column, only for invoices the journal never saw
    if "statut_existant" in invoices:
        known = journal.seen | set(journal.invoices["cle_facture"])
        for i, (key, text) in enumerate(zip(keys, invoices["statut_existant"], strict=True)):
            parsed = None if key in known else parse_status(text)
            if parsed is not None and np.datetime64(parsed[1], "ns") < cutoff:
                levels[2, i], dates[2, i] = parsed[0], np.datetime64(parsed[1], "ns")

    best_level = levels.max(axis=0)
    at_best = (levels == best_level) & (best_level > 0)
    masked = np.where(at_best, dates, np.datetime64("NaT"))
    best_date = _nanmax_dates(masked)
    # a level-3 history with no notice event (export or status column): it named itself,
    # on the date of that level-3 step, never on a later hand-over's date (a hand-over
    # journaled after a notice known only from the export would re-date the notice)
    at_notice = np.where(levels == LAST_LETTER_LEVEL, dates, np.datetime64("NaT"))
    outside = (best_level >= LAST_LETTER_LEVEL) & np.isnat(notice)
    notice = np.where(outside, _nanmax_dates(at_notice), notice)

    out = invoices.copy()
    out["niveau"] = best_level
    out["date_niveau"] = pd.to_datetime(best_date)
    out["date_mise_en_demeure"] = pd.to_datetime(notice)
    letters = events[events["type"] == LETTER]
    latest = letters.groupby("cle_client")["date"].max()
    out["date_dernier_courrier"] = pd.to_datetime(
        latest.reindex(out["cle_client"].to_numpy()).to_numpy(dtype="datetime64[ns]")
    )
    return out


def _nanmax_dates(values: np.ndarray) -> np.ndarray:
    """Column-wise latest date of a 2-D datetime64 array, NaT where a column has none."""
    as_int = values.astype("datetime64[ns]").astype(np.int64)
    nat = np.isnat(values)
    as_int = np.where(nat, np.iinfo(np.int64).min, as_int)
    best = as_int.max(axis=0) if values.size else np.array([], dtype=np.int64)
    out = best.astype("datetime64[ns]")
    return np.where(nat.all(axis=0), np.datetime64("NaT"), out) if values.size else out


def _journal_levels(
    journal: JournalData, events: pd.DataFrame, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per invoice key: the highest step taken in the events, when, and the formal notice
    (a mise en demeure letter) that named it."""
    n = len(keys)
    level = np.zeros(n, dtype=np.int64)
    when = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    notice = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if events.empty:
        return level, when, notice
    entries = journal.invoices.merge(
        events[["id", "date", "type", "niveau"]].rename(columns={"niveau": "tier"}),
        left_on="evenement", right_on="id",
    )
    steps = entries[(entries["etape"] > 0) | (entries["type"] == HANDOVER)]
    if not steps.empty:
        best = steps.sort_values(["niveau", "date"]).drop_duplicates("cle_facture", keep="last")
        best = best.set_index("cle_facture")
        level = best["niveau"].reindex(keys).fillna(0).to_numpy(dtype=np.int64)
        when = best["date"].reindex(keys).to_numpy(dtype="datetime64[ns]")
    named = entries[(entries["type"] == LETTER) & (entries["tier"] >= LAST_LETTER_LEVEL)]
    if not named.empty:
        latest = named.groupby("cle_facture")["date"].max()
        notice = latest.reindex(keys).to_numpy(dtype="datetime64[ns]")
    return level, when, notice
