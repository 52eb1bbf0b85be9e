"""History: the reminders already sent for each invoice, from three sources.

Sources: the journal (SQLite, this tool's own record), the status column the tool wrote
in the workbook last time, and the export's own "niveau de relance" / "date dernière
relance" columns. The most advanced wins (highest level, then latest date). Entries dated
on or after the run date are ignored, so re-running the same export on the same date
recomputes exactly the same result.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from .fields import declared
from .tiers import tier_by_step

# The invoice table's columns merge_history reads (statut_existant too, when present), and
# the ones it adds (fields.py declares them).
NEEDS = declared("cle_facture", "cle_client", "niveau_export", "date_relance_export")
ADDS = declared("date_dernier_courrier", "niveau", "date_niveau")

_DATE = r"(\d{2}/\d{2}/\d{4})"
_STATUS_SENT = re.compile(rf"^\s*(relance 1|relance 2|mise en demeure)\s*[–—-]\s*{_DATE}", re.I)
_STATUS_LEGAL = re.compile(rf"^\s*contentieux\b.*?{_DATE}", re.I)
_STATUS_WAITING = re.compile(
    rf"^\s*en attente\b.*\((relance 1|relance 2|mise en demeure) du {_DATE}\)", re.I
)


def parse_status(text: str) -> tuple[int, date] | None:
    """``"Relance 2 – 15/11/2026 – …"`` -> ``(2, date(2026, 11, 15))``; None if no history."""
    if not text:
        return None
    for pattern in (_STATUS_SENT, _STATUS_WAITING):
        m = pattern.match(text)
        if m:
            return tier_by_step(m.group(1)).level, _dmy(m.group(2))
    m = _STATUS_LEGAL.match(text)
    if m:
        return 3, _dmy(m.group(1))
    return None


def _dmy(text: str) -> date:
    d, m, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


def merge_history(
    invoices: pd.DataFrame,
    journal: pd.DataFrame,
    run_date: date,
    letters_sent: pd.DataFrame | None = None,
    export: str = "",
) -> pd.DataFrame:
    """Add ``niveau`` and ``date_niveau`` (the most advanced history) to the invoices, and
    ``date_dernier_courrier``: the client's last letter in the journal before the run date.

    ``journal`` has columns cle_facture, niveau, date (datetime64), one row per reminder;
    ``letters_sent`` has cle_client, date (and export), one row per letter; letters of the
    run date count too when another export wrote them (``export`` names this one).
    """
    cutoff = np.datetime64(run_date, "ns")
    n = len(invoices)
    levels = np.zeros((3, n), dtype=np.int64)
    dates = np.full((3, n), np.datetime64("NaT"), dtype="datetime64[ns]")

    # 1. the journal
    if not journal.empty:
        j = journal[journal["date"] < cutoff]
        j = j.sort_values(["niveau", "date"]).drop_duplicates("cle_facture", keep="last")
        j = j.set_index("cle_facture")
        keys = invoices["cle_facture"].to_numpy()
        levels[0] = j["niveau"].reindex(keys).fillna(0).to_numpy(dtype=np.int64)
        dates[0] = j["date"].astype("datetime64[ns]").reindex(keys).to_numpy(
            dtype="datetime64[ns]"
        )

    # 2. the status column written by a previous run
    if "statut_existant" in invoices:
        parsed = [parse_status(s) for s in invoices["statut_existant"]]
        for i, p in enumerate(parsed):
            if p is not None and np.datetime64(p[1], "ns") < cutoff:
                levels[1, i], dates[1, i] = p[0], np.datetime64(p[1], "ns")

    # 3. the export's own columns (history kept by the accounting software)
    lvl = invoices["niveau_export"].to_numpy(dtype=np.int64)
    dte = invoices["date_relance_export"].to_numpy(dtype="datetime64[ns]")
    ok = (lvl > 0) & ~(dte >= cutoff)
    levels[2] = np.where(ok, lvl, 0)
    dates[2] = np.where(ok, dte, np.datetime64("NaT"))

    # most advanced: highest level, then the latest date among sources at that level
    best_level = levels.max(axis=0)
    at_best = (levels == best_level) & (best_level > 0)
    masked = np.where(at_best, dates, np.datetime64("NaT")).T
    best_date = pd.DataFrame(masked).max(axis=1, skipna=True) if n else pd.Series([], "M8[ns]")
    out = invoices.copy()
    last_letter = pd.Series(np.datetime64("NaT"), index=out.index, dtype="datetime64[ns]")
    if letters_sent is not None and not letters_sent.empty:
        others = letters_sent["export"] != export if "export" in letters_sent else False
        before = letters_sent[
            (letters_sent["date"] < cutoff) | ((letters_sent["date"] == cutoff) & others)
        ]
        latest = before.groupby("cle_client")["date"].max()
        last_letter = pd.Series(
            latest.reindex(out["cle_client"].to_numpy()).to_numpy(dtype="datetime64[ns]"),
            index=out.index,
        )
    out["date_dernier_courrier"] = last_letter
    out["niveau"] = best_level
    out["date_niveau"] = pd.to_datetime(best_date.to_numpy(dtype="datetime64[ns]"))
    return out
