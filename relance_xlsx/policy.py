"""The policy: each invoice's state and next step, over French business days.

Pure and vectorised: a DataFrame in (invoices with their history), a DataFrame out (state,
level after the run, next step and its date, the status text). Per invoice, the step after
level n is due ``delais[n]`` business days after the date level n was reached (the due date
for level 0). Per client, one letter at the highest step due, unless the client's net
balance is under the minimum or its previous letter is too recent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .business_days import BusinessCalendar
from .config import Settings
from .fields import declared
from .formatting import format_date_short, format_eur
from .tiers import DELAY_KEYS, LAST_LETTER_LEVEL, LETTER_TIERS, SEP, Etat, tier

PAID_TOLERANCE = 0.005

# The invoice table's columns classify reads (date_dernier_courrier too, when present), and
# the ones it adds (fields.py declares them).
NEEDS = declared(
    "cle_client", "erreur", "reste_du", "montant_ttc", "date_echeance", "litige", "niveau",
    "date_niveau",
)  # fmt: skip
ADDS = declared(
    "jours_retard", "etape_due", "date_prochaine_etape", "niveau_apres", "dans_courrier",
    "niveau_courrier", "etat", "prochaine_etape", "statut",
)  # fmt: skip


@dataclass(frozen=True)
class ClientDecision:
    """Why a client with an invoice due for a step gets a letter, or does not."""

    cle_client: str
    niveau: int  # the letter's tier (0 when no letter)
    raison: str  # French reason when no letter, else ""


def _d(value: np.datetime64) -> str:
    return format_date_short(pd.Timestamp(value)) if not pd.isna(value) else ""


def classify(
    invoices: pd.DataFrame, run_date: date, settings: Settings, cal: BusinessCalendar
) -> pd.DataFrame:
    """State, next step and status text of every invoice (columns of CLASSIFIED_COLUMNS)."""
    df = invoices.copy()
    n = len(df)
    run = np.datetime64(run_date, "D")
    delais = settings.delais
    delay_by_level = np.array([getattr(delais, key) for key in DELAY_KEYS], dtype=np.int64)

    err = (df["erreur"] != "").to_numpy()
    rest = df["reste_du"].to_numpy(dtype=float)
    ttc = df["montant_ttc"].to_numpy(dtype=float)
    due = df["date_echeance"].to_numpy(dtype="datetime64[D]")
    level = df["niveau"].to_numpy(dtype=np.int64).clip(0, LAST_LETTER_LEVEL)
    level_date = df["date_niveau"].to_numpy(dtype="datetime64[D]")

    avoir = ~err & ((np.nan_to_num(ttc) < -PAID_TOLERANCE) | (rest < -PAID_TOLERANCE))
    paid = ~err & ~avoir & (rest <= PAID_TOLERANCE)
    dispute = ~err & ~avoir & ~paid & df["litige"].to_numpy(dtype=bool)
    not_due = ~err & ~avoir & ~paid & ~dispute & (run <= due)
    overdue = ~err & ~avoir & ~paid & ~dispute & ~not_due

    ref = np.where((level > 0) & ~np.isnat(level_date), level_date, due)
    ref = np.where(np.isnat(ref), run, ref)  # rows in error: any date, unused
    next_date = cal.add(ref, delay_by_level[level])
    step_due = overdue & (next_date <= run)
    legal = step_due & (level >= LAST_LETTER_LEVEL)
    candidate = step_due & (level < LAST_LETTER_LEVEL)

    known_due = np.where(np.isnat(due), run, due)
    late_days = np.where(overdue | dispute, (run - known_due).astype(int), 0)

    df["niveau"] = level
    df["jours_retard"] = np.maximum(late_days, 0)
    df["etape_due"] = np.where(candidate, level + 1, 0)
    df["date_prochaine_etape"] = pd.to_datetime(np.where(overdue, next_date, np.datetime64("NaT")))

    decisions = _client_decisions(
        df, candidate, overdue & ~legal, legal, avoir, run, settings, cal
    )
    letter_level = df["cle_client"].map({d.cle_client: d.niveau for d in decisions}).fillna(0)
    letter_level = letter_level.to_numpy(dtype=np.int64)
    reasons = {d.cle_client: d.raison for d in decisions}
    blocked = pd.Series([reasons.get(k, "") for k in df["cle_client"]], dtype=object)

    sent = candidate & (letter_level > 0)
    listed = (overdue & ~legal & (letter_level > 0)) | (avoir & (letter_level > 0) & (rest < 0))
    df["niveau_apres"] = np.where(sent, level + 1, level)
    df["dans_courrier"] = listed | sent
    df["niveau_courrier"] = np.where(df["dans_courrier"], letter_level, 0)

    etat = np.full(n, Etat.EN_ATTENTE.value, dtype=object)
    etat[err] = Etat.ERREUR.value
    etat[avoir] = Etat.AVOIR.value
    etat[paid] = Etat.PAYEE.value
    etat[dispute] = Etat.LITIGE.value
    etat[not_due] = Etat.NON_ECHUE.value
    etat[legal] = Etat.CONTENTIEUX.value
    for t in LETTER_TIERS:
        etat[sent & (level + 1 == t.level)] = t.label
    df["etat"] = etat

    after = df["niveau_apres"].to_numpy()
    after_date = np.where(sent, run, level_date)
    next_after = cal.add(np.where(np.isnat(after_date), run, after_date),
                         delay_by_level[np.minimum(after, LAST_LETTER_LEVEL)])
    upcoming = (overdue & ~legal) | not_due  # a next step to show in the plan
    df["prochaine_etape"] = np.where(upcoming, [tier(a + 1).step for a in after], "")
    df["date_prochaine_etape"] = pd.to_datetime(
        np.where(sent, next_after, np.where(upcoming, next_date, np.datetime64("NaT")))
    )
    held = candidate & ~sent  # due for a step, but no letter: the status says why
    df["statut"] = _status_texts(df, run_date, blocked.to_numpy(), sent, held)
    return df


def _client_decisions(
    df: pd.DataFrame,
    candidate: np.ndarray,
    open_overdue: np.ndarray,
    legal: np.ndarray,
    avoir: np.ndarray,
    run: np.datetime64,
    settings: Settings,
    cal: BusinessCalendar,
) -> list[ClientDecision]:
    """One decision per client with an invoice due for a step.

    No letter to a client under a formal notice still running (an invoice at mise en
    demeure) or handed over to collection: a second registered letter, or a softer one
    after it, would undermine the notice. Then the minimum balance and the minimum
    interval since the client's last letter.
    """
    if not candidate.any():
        return []
    keys = df["cle_client"].to_numpy()
    rest = df["reste_du"].to_numpy(dtype=float)
    step = df["etape_due"].to_numpy()
    hist_date = df["date_niveau"].to_numpy(dtype="datetime64[D]")
    levels = df["niveau"].to_numpy()
    last = np.where(levels > 0, hist_date, np.datetime64("NaT"))
    if "date_dernier_courrier" in df:
        journal_last = df["date_dernier_courrier"].to_numpy(dtype="datetime64[D]")
        last = np.where(np.isnat(last) | (journal_last > last), journal_last, last)
    frame = pd.DataFrame({
        "cle": keys,
        "cand_step": np.where(candidate, step, 0),
        # the letter's tier is the highest its listed invoices reach, sent before or now
        "reached": np.where(open_overdue, levels, 0),
        "net": np.where(open_overdue | avoir, np.nan_to_num(rest), 0.0),
        "last": last,
        "notice": np.where(open_overdue & (levels >= LAST_LETTER_LEVEL), hist_date,
                           np.datetime64("NaT")),
        "legal": legal,
    })  # fmt: skip
    grouped = frame.groupby("cle", sort=False).agg(
        step=("cand_step", "max"), reached=("reached", "max"), net=("net", "sum"),
        last=("last", "max"), notice=("notice", "max"), legal=("legal", "any"),
    )  # fmt: skip
    grouped = grouped[grouped["step"] > 0]
    minimum = settings.montants.minimum
    interval = settings.delais.intervalle_minimum
    last = grouped["last"].to_numpy(dtype="datetime64[D]")
    allowed_from = cal.add(np.where(np.isnat(last), run, last), interval)
    decisions = []
    for (cle, row), last_d, allowed in zip(
        grouped.iterrows(), last, allowed_from, strict=True
    ):
        net = round(float(row["net"]), 2)
        if row["legal"]:
            decisions.append(ClientDecision(
                cle, 0, "client transmis au contentieux, plus de courrier de relance",
            ))  # fmt: skip
        elif not pd.isna(row["notice"]):
            decisions.append(ClientDecision(
                cle, 0, f"mise en demeure du {_d(row['notice'])} en cours",
            ))  # fmt: skip
        elif net < minimum:
            decisions.append(ClientDecision(
                cle, 0,
                f"solde net du client ({format_eur(net)}) sous le minimum de "
                f"{format_eur(minimum)}",
            ))  # fmt: skip
        elif not np.isnat(last_d) and interval > 0 and allowed > run:
            decisions.append(ClientDecision(
                cle, 0,
                f"dernier courrier au client le {_d(last_d)}, prochain possible le {_d(allowed)}",
            ))  # fmt: skip
        else:
            level = min(max(int(row["step"]), int(row["reached"])), LAST_LETTER_LEVEL)
            decisions.append(ClientDecision(cle, level, ""))
    return decisions


def _status_texts(
    df: pd.DataFrame,
    run_date: date,
    blocked: np.ndarray,
    sent: np.ndarray,
    held: np.ndarray,
) -> list[str]:
    """The status column: a state word, " – " and the detail users need."""
    run_text = format_date_short(run_date)
    out: list[str] = []
    cols = zip(
        df["etat"], df["erreur"], df["reste_du"], df["date_echeance"], df["niveau"],
        df["date_niveau"], df["prochaine_etape"], df["date_prochaine_etape"], blocked, sent,
        held, df["dans_courrier"], df["niveau_courrier"],
        strict=True,
    )  # fmt: skip
    for (etat, erreur, rest, due, lvl, lvl_date, nxt, nxt_date, why, is_sent, is_held,
         listed, letter_lvl) in cols:  # fmt: skip
        if etat == Etat.ERREUR:
            detail = erreur
        elif etat == Etat.AVOIR:
            detail = (f"crédit de {format_eur(-rest)} à déduire" if rest < -PAID_TOLERANCE
                      else "entièrement imputé")
        elif etat == Etat.PAYEE:
            detail = f"reste dû nul au {run_text}"
        elif etat == Etat.LITIGE:
            detail = f"exclue des relances (échéance du {format_date_short(due)})"
        elif etat == Etat.NON_ECHUE:
            detail = f"échéance le {format_date_short(due)}"
        elif etat == Etat.CONTENTIEUX:
            detail = (f"mise en demeure du {format_date_short(lvl_date)} restée sans effet, "
                      "à transmettre au recouvrement")
        elif is_sent:
            detail = f"{run_text}{SEP}{nxt} le {format_date_short(nxt_date)}"
        else:  # En attente
            detail = f"{nxt} le {format_date_short(nxt_date)}"
            if is_held and why:
                detail = f"{nxt} en suspens : {why}"
            if lvl > 0 and not pd.isna(lvl_date):
                detail += f" ({tier(lvl).step} du {format_date_short(lvl_date)})"
            if listed and letter_lvl:
                detail += f"{SEP}rappelée dans le courrier du {run_text}"
        out.append(f"{etat}{SEP}{detail}")
    return out
