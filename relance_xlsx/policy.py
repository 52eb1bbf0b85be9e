"""The policy: each invoice's state and next step, and each client's letter, over French
business days.

Pure and vectorised: a DataFrame in (invoices with their history), a DataFrame out (state,
level after the run, next step and its date, the status text). Per invoice, the step after
level n is due ``delais[n]`` business days after the date level n was reached (the due date
for level 0). People chase clients, not invoice lines (README, « Le cycle du client »):

- one letter per client per run, when at least one invoice reaches a step it had not
  reached, never within ``intervalle_minimum`` business days of the client's last letter,
  nor under the minimum balance; it lists all the client's overdue open items;
- a mise en demeure names every invoice it lists; while it runs the client gets no other
  letter; ``delais.contentieux`` business days later, every invoice it named that is still
  unpaid is handed over, together, with the client's other overdue invoices beside them;
  after the hand-over the client's account is the agency's while any of it is unpaid;
- a client with a payment nobody allocated (ledger.py) gets its relance 1 and 2, the
  payment deducted, but its mise en demeure waits until the payment is lettered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import ledger
from .business_days import BusinessCalendar, days_late
from .config import Settings
from .fields import declared
from .followup import STOPPED
from .formatting import dates_of, format_date_short, format_eur
from .tiers import DELAY_KEYS, HANDOVER_LEVEL, LAST_LETTER_LEVEL, LETTER_TIERS, SEP, Etat, tier

PAID_TOLERANCE = 0.005
NAT = np.datetime64("NaT")

# The invoice table's columns classify reads, and the ones it adds (fields.py declares them).
NEEDS = declared(
    "cle_client", "erreur", "reste_du", "montant_ttc", "date_echeance", "litige", "niveau",
    "date_niveau", "date_dernier_courrier", "date_mise_en_demeure",
    # the ledger's (ledger.py): settled lines, credits, unallocated payments holding a notice
    "ligne", "client", "numero_facture", "date_facture", "lettrage", "credit", "lettree",
    "non_affecte",
)  # fmt: skip
ADDS = declared(
    "jours_retard", "etape_due", "date_prochaine_etape", "niveau_apres", "dans_courrier",
    "niveau_courrier", "etat", "prochaine_etape", "attente", "statut",
)  # fmt: skip


@dataclass(frozen=True)
class ClientDecision:
    """Why a client with an invoice due for a step gets a letter, or does not."""

    cle_client: str
    niveau: int  # the letter's tier (0 when no letter)
    raison: str  # French reason when no letter, else ""


@dataclass(frozen=True)
class _Masks:
    """The invoice states as boolean arrays (one rule each, computed once)."""

    err: np.ndarray
    avoir: np.ndarray
    paid: np.ndarray
    dispute: np.ndarray
    not_due: np.ndarray
    overdue: np.ndarray


def _d(value: object) -> str:
    return format_date_short(pd.Timestamp(value)) if not pd.isna(value) else ""


def _masks(df: pd.DataFrame, run: np.datetime64) -> _Masks:
    err = (df["erreur"] != "").to_numpy()
    rest = df["reste_du"].to_numpy(dtype=float)
    ttc = df["montant_ttc"].to_numpy(dtype=float)
    due = df["date_echeance"].to_numpy(dtype="datetime64[D]")
    # a credit line stays one once lettrage has settled it (ledger.py)
    credit = df["credit"].to_numpy(dtype=bool) | (rest < -PAID_TOLERANCE)
    avoir = ~err & ((np.nan_to_num(ttc) < -PAID_TOLERANCE) | credit)
    paid = ~err & ~avoir & (rest <= PAID_TOLERANCE)
    dispute = ~err & ~avoir & ~paid & df["litige"].to_numpy(dtype=bool)
    not_due = ~err & ~avoir & ~paid & ~dispute & (run <= due)
    overdue = ~err & ~avoir & ~paid & ~dispute & ~not_due
    return _Masks(err, avoir, paid, dispute, not_due, overdue)


def _last_letters(df: pd.DataFrame) -> np.ndarray:
    """Each row's last letter: its level's date, or the journal's last letter to its client
    when later (one rule for the minimum interval's check and for the next step's date)."""
    last = np.where(df["niveau"].to_numpy() > 0,
                    df["date_niveau"].to_numpy(dtype="datetime64[D]"), NAT)  # fmt: skip
    journal_last = df["date_dernier_courrier"].to_numpy(dtype="datetime64[D]")
    return np.where(np.isnat(last) | (journal_last > last), journal_last, last)


def _per_client(keys: np.ndarray, values: np.ndarray, how: str) -> np.ndarray:
    """Each row gets its client's aggregate (max of dates, any of flags) of ``values``."""
    series = pd.Series(values)
    return series.groupby(keys).transform(how).to_numpy()


def _legal_state(
    df: pd.DataFrame, m: _Masks, run: np.datetime64, settings: Settings, cal: BusinessCalendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Formal notices and hand-overs, per client, spread to its invoices.

    Returns (legal, notice, handed_on): invoices handed over (before or now), the client's
    running notice's date, and the date of an earlier hand-over.
    """
    keys = df["cle_client"].to_numpy()
    level = df["niveau"].to_numpy(dtype=np.int64)
    med = df["date_mise_en_demeure"].to_numpy(dtype="datetime64[D]")
    level_date = df["date_niveau"].to_numpy(dtype="datetime64[D]")
    named = m.overdue & ~np.isnat(med)
    handed = m.overdue & (level >= HANDOVER_LEVEL)
    notice = _per_client(keys, np.where(named, med, NAT).astype("datetime64[ns]"), "max")
    notice = notice.astype("datetime64[D]")
    handed_on = _per_client(keys, np.where(handed, level_date, NAT).astype("datetime64[ns]"),
                            "max").astype("datetime64[D]")  # fmt: skip
    expiry = cal.add(np.where(np.isnat(notice), run, notice), settings.delais.contentieux)
    expiry = np.where(np.isnat(notice), NAT, expiry)
    now = ~np.isnat(notice) & (expiry <= run)
    legal = m.overdue & (~np.isnat(handed_on) | now)
    return legal, notice, handed_on


def classify(
    invoices: pd.DataFrame, run_date: date, settings: Settings, cal: BusinessCalendar,
    holds: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """State, next step and status text of every invoice (the columns ``ADDS``).

    ``holds``: client key -> why the follow-up workbook stops its letters (a hold, « Ne plus
    relancer », a promise still running); the cycle waits, the status says why."""
    df = invoices.copy()
    run = np.datetime64(run_date, "D")
    delay = np.array([getattr(settings.delais, key) for key in DELAY_KEYS], dtype=np.int64)
    m = _masks(df, run)
    due = df["date_echeance"].to_numpy(dtype="datetime64[D]")
    level = df["niveau"].to_numpy(dtype=np.int64).clip(0, HANDOVER_LEVEL)
    level_date = df["date_niveau"].to_numpy(dtype="datetime64[D]")
    legal, notice, handed_on = _legal_state(df, m, run, settings, cal)

    ref = np.where((level > 0) & ~np.isnat(level_date), level_date, due)
    ref = np.where(np.isnat(ref), run, ref)  # rows in error: any date, unused
    next_date = cal.add(ref, delay[np.minimum(level, LAST_LETTER_LEVEL)])
    open_overdue = m.overdue & ~legal
    named = df["date_mise_en_demeure"].to_numpy(dtype="datetime64[D]")
    named = np.where(m.overdue, named, NAT)  # the notice that named this invoice
    candidate = (open_overdue & np.isnat(named) & (level < LAST_LETTER_LEVEL)
                 & (next_date <= run))  # fmt: skip

    late = days_late(np.where(np.isnat(due), run, due), run)
    df["niveau"] = level
    df["jours_retard"] = np.where(m.overdue | m.dispute, late, 0)
    df["etape_due"] = np.where(candidate, level + 1, 0)

    decisions = _client_decisions(df, candidate, open_overdue, notice, m.avoir, run,
                                  settings, cal, holds or {},
                                  ledger.notice_holds(df))  # fmt: skip
    letter_level = df["cle_client"].map({d.cle_client: d.niveau for d in decisions})
    letter_level = letter_level.fillna(0).to_numpy(dtype=np.int64)
    reasons = {d.cle_client: d.raison for d in decisions}
    blocked = np.array([reasons.get(k, "") for k in df["cle_client"]], dtype=object)
    followed = df["cle_client"].isin(set(holds or {})).to_numpy()  # held by the accountant

    rest = df["reste_du"].to_numpy(dtype=float)
    sent = candidate & (letter_level > 0)
    listed = (open_overdue & (letter_level > 0)) | (m.avoir & (letter_level > 0) & (rest < 0))
    df["niveau_apres"] = np.where(sent, level + 1, np.where(legal, HANDOVER_LEVEL, level))
    df["dans_courrier"] = listed | sent
    df["niveau_courrier"] = np.where(df["dans_courrier"], letter_level, 0)
    # a mise en demeure sent now names every invoice it lists: contentieux after it
    named = np.where(open_overdue & (letter_level >= LAST_LETTER_LEVEL), run, named)
    df["date_mise_en_demeure"] = pd.to_datetime(named)

    df["etat"] = _state_words(m, legal, sent, level)
    _next_steps(df, m, legal, sent, next_date, named, run, delay, settings, cal,
                letter_level > 0)
    held = candidate & ~sent  # due for a step, but no letter: the status says why
    # every overdue invoice of a client the accountant holds says the hold first, not only
    # those due for a step: « relance 2 le 07/12/2026 » under a promise to the 11/12 was
    # a date that would not be kept (status, follow-up workbook and dry-run plan alike)
    if holds:
        hold_why = np.array([holds.get(k, "") for k in df["cle_client"]], dtype=object)
        blocked = np.where(followed, hold_why, blocked)
    df["attente"] = np.where(held | (followed & open_overdue), blocked, "")
    df["statut"] = _status_texts(df, run_date, blocked, sent, followed, held & ~followed,
                                 handed_on, notice)
    return df


def next_step_text(step: str, when: object, waiting: str = "") -> str:
    """« relance 2 le 07/12/2026 », or, for a step due that waits, why: « mise en demeure en
    suspens : règlement non affecté … à imputer » (its date is past: never shown as to come);
    a client whose reminders are stopped, the stop alone (no step comes after it).
    The status column, the follow-up workbook and the dry-run plan say it the same way."""
    if waiting == STOPPED:  # no step comes after a stop: none is told
        return waiting
    if waiting:
        return f"{step} en suspens : {waiting}"
    return f"{step} le {format_date_short(when)}" if not pd.isna(when) else step


def _state_words(m: _Masks, legal: np.ndarray, sent: np.ndarray, level: np.ndarray) -> np.ndarray:
    etat = np.full(len(level), Etat.EN_ATTENTE.value, dtype=object)
    etat[m.err] = Etat.ERREUR.value
    etat[m.avoir] = Etat.AVOIR.value
    etat[m.paid] = Etat.PAYEE.value
    etat[m.dispute] = Etat.LITIGE.value
    etat[m.not_due] = Etat.NON_ECHUE.value
    etat[legal] = Etat.CONTENTIEUX.value
    for t in LETTER_TIERS:
        etat[sent & (level + 1 == t.level)] = t.label
    return etat


def _next_steps(
    df: pd.DataFrame, m: _Masks, legal: np.ndarray, sent: np.ndarray, next_date: np.ndarray,
    named: np.ndarray, run: np.datetime64, delay: np.ndarray, settings: Settings,
    cal: BusinessCalendar, written: np.ndarray,
) -> None:
    """``prochaine_etape`` and its date: an invoice named by a running notice goes to
    contentieux when the notice expires; the others to their own next step, and never
    before the client's next letter is allowed (``intervalle_minimum`` after its last one,
    or after this run's: ``written`` marks the rows of clients written to now). A date the
    interval would push back was said and then not kept (« relance 1 le 27/11/2026 » for an
    invoice whose client had a letter on the 23rd: nothing went out before the 7/12)."""
    after = df["niveau_apres"].to_numpy(dtype=np.int64)
    level_date = df["date_niveau"].to_numpy(dtype="datetime64[D]")
    after_date = np.where(sent, run, level_date)
    next_after = cal.add(np.where(np.isnat(after_date), run, after_date),
                         delay[np.minimum(after, LAST_LETTER_LEVEL)])  # fmt: skip
    upcoming = (m.overdue & ~legal) | m.not_due
    under_notice = m.overdue & ~legal & ~np.isnat(named)
    expiry = cal.add(np.where(np.isnat(named), run, named), settings.delais.contentieux)
    names = [tier(min(a + 1, HANDOVER_LEVEL)).step for a in after]
    names = np.where(under_notice, tier(HANDOVER_LEVEL).step, names)
    df["prochaine_etape"] = np.where(upcoming, names, "")
    dates = np.where(sent, next_after, np.where(upcoming, next_date, NAT))
    interval = settings.delais.intervalle_minimum
    if interval > 0:
        last = np.where(written, run, _last_letters(df))
        last = _per_client(df["cle_client"].to_numpy(), last.astype("datetime64[ns]"), "max")
        last = last.astype("datetime64[D]")
        allowed = np.where(np.isnat(last), NAT, cal.add(np.where(np.isnat(last), run, last),
                                                        interval))  # fmt: skip
        later = upcoming & ~np.isnat(allowed) & ~np.isnat(dates) & (allowed > dates)
        dates = np.where(later, allowed, dates)
    dates = np.where(under_notice, expiry, dates)
    df["date_prochaine_etape"] = pd.to_datetime(dates)


def _client_decisions(
    df: pd.DataFrame,
    candidate: np.ndarray,
    open_overdue: np.ndarray,
    notice: np.ndarray,
    avoir: np.ndarray,
    run: np.datetime64,
    settings: Settings,
    cal: BusinessCalendar,
    holds: Mapping[str, str],
    notice_holds: Mapping[str, str],
) -> list[ClientDecision]:
    """One decision per client with an invoice due for a step.

    No letter to a client under a formal notice still running: a second registered letter,
    or a softer one after it, would undermine the notice. Then the minimum balance and the
    minimum interval since the client's last letter. ``notice_holds`` (client key -> why):
    clients whose mise en demeure waits, an unallocated payment to allocate first (ledger.py);
    their relance 1 and 2 still go, the payment deducted.
    """
    if not candidate.any():
        return []
    levels = df["niveau"].to_numpy()
    last = _last_letters(df)
    frame = pd.DataFrame({
        "cle": df["cle_client"].to_numpy(),
        "cand_step": np.where(candidate, df["etape_due"].to_numpy(), 0),
        # the letter's tier is the highest its listed invoices reach, sent before or now
        "reached": np.where(open_overdue, levels, 0),
        "net": np.where(open_overdue | avoir, np.nan_to_num(df["reste_du"].to_numpy(float)),
                        0.0),
        "last": last,
        "notice": np.where(open_overdue, notice, NAT),
    })  # fmt: skip
    grouped = frame.groupby("cle", sort=False).agg(
        step=("cand_step", "max"), reached=("reached", "max"), net=("net", "sum"),
        last=("last", "max"), notice=("notice", "max"),
    )  # fmt: skip
    grouped = grouped[grouped["step"] > 0]
    interval = settings.delais.intervalle_minimum
    last_d = grouped["last"].to_numpy(dtype="datetime64[D]")
    allowed = cal.add(np.where(np.isnat(last_d), run, last_d), interval)
    rows = zip(grouped.index.tolist(), grouped["step"].tolist(), grouped["reached"].tolist(),
               grouped["net"].tolist(), dates_of(grouped["notice"]), last_d, allowed,
               strict=True)  # fmt: skip
    return [ClientDecision(str(cle), 0, holds[str(cle)]) if str(cle) in holds else
            _decide(str(cle), step, reached, net, notice, last_at, allowed_at, run, settings,
                    notice_holds.get(str(cle), ""))
            for cle, step, reached, net, notice, last_at, allowed_at in rows]  # fmt: skip


def _decide(cle: str, step: int, reached: int, net: float, notice: date | None,
            last: np.datetime64, allowed: np.datetime64, run: np.datetime64,
            settings: Settings, notice_hold: str = "") -> ClientDecision:  # fmt: skip
    net = round(float(net), 2)
    minimum = settings.montants.minimum
    if notice is not None:
        return ClientDecision(cle, 0, f"mise en demeure du {_d(notice)} en cours")
    if net < minimum:
        return ClientDecision(
            cle, 0,
            f"solde net du client ({format_eur(net)}) sous le minimum de {format_eur(minimum)}",
        )  # fmt: skip
    if not np.isnat(last) and settings.delais.intervalle_minimum > 0 and allowed > run:
        return ClientDecision(
            cle, 0, f"dernier courrier au client le {_d(last)}, prochain possible le {_d(allowed)}"
        )
    level = min(max(int(step), int(reached)), LAST_LETTER_LEVEL)
    if level >= LAST_LETTER_LEVEL and notice_hold:
        return ClientDecision(cle, 0, notice_hold)
    return ClientDecision(cle, level, "")


def _legal_detail(lvl: int, lvl_date: object, notice: object, handed_on: object,
                  named: bool) -> str:  # fmt: skip
    """Why an invoice is in contentieux: named by the notice, or beside the ones it named."""
    if lvl >= HANDOVER_LEVEL:
        return f"transmise au recouvrement le {format_date_short(lvl_date)}"
    if not pd.isna(handed_on):
        return (f"client transmis au contentieux le {format_date_short(handed_on)} : "
                "à joindre au dossier")  # fmt: skip
    if named:
        return (f"mise en demeure du {format_date_short(notice)} restée sans effet, "
                "à transmettre au recouvrement")  # fmt: skip
    return (f"client transmis au contentieux : à joindre au dossier (mise en demeure du "
            f"{format_date_short(notice)} restée sans effet)")  # fmt: skip


def _status_texts(
    df: pd.DataFrame,
    run_date: date,
    blocked: np.ndarray,
    sent: np.ndarray,
    followed: np.ndarray,
    held: np.ndarray,
    handed_on: np.ndarray,
    notice: np.ndarray,
) -> list[str]:
    """The status column: a state word, " – " and the detail users need. A client the
    accountant holds (follow-up workbook) reads « En attente – suspendu jusqu'au … » first:
    the accountant's decision, then the step that waits for it."""
    run_text = format_date_short(run_date)
    out: list[str] = []
    # equal statuses are one object: a million rows have a few thousand distinct ones
    made: dict[str, str] = {}
    cols = zip(
        df["etat"].tolist(), df["erreur"].tolist(), df["reste_du"].tolist(),
        dates_of(df["date_echeance"]), df["niveau"].tolist(), dates_of(df["date_niveau"]),
        df["prochaine_etape"].tolist(), dates_of(df["date_prochaine_etape"]), blocked.tolist(),
        sent.tolist(), held.tolist(), df["dans_courrier"].tolist(),
        df["niveau_courrier"].tolist(), dates_of(handed_on), dates_of(notice),
        dates_of(df["date_mise_en_demeure"]), followed.tolist(), df["lettree"].tolist(),
        df["lettrage"].tolist(), df["non_affecte"].tolist(), strict=True,
    )  # fmt: skip
    for (etat, erreur, rest, due, lvl, lvl_date, nxt, nxt_date, why, is_sent, is_held,
         listed, letter_lvl, handed, med, own_med, by_hand, settled, code,
         unallocated) in cols:  # fmt: skip
        if etat == Etat.ERREUR:
            detail = erreur
        elif settled and etat in (Etat.AVOIR, Etat.PAYEE):
            detail = (f"imputé par lettrage « {code} »" if etat == Etat.AVOIR
                      else f"soldée par lettrage « {code} »")  # fmt: skip
        elif unallocated:
            detail = f"règlement non affecté de {format_eur(-rest)} déduit du solde, à imputer"
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
            detail = _legal_detail(int(lvl), lvl_date, med, handed, not pd.isna(own_med))
        elif is_sent:
            detail = f"{run_text}{SEP}{nxt} le {format_date_short(nxt_date)}"
        elif by_hand and why == STOPPED:  # no step comes after a stop: none is told
            detail = why
        elif by_hand and why:  # the accountant's hold, promise or stop comes first
            detail = f"{why}{SEP}{nxt} ensuite"
        else:  # En attente
            detail = next_step_text(nxt, nxt_date, why if is_held else "")
            if lvl > 0 and not pd.isna(lvl_date):
                detail += f" ({tier(lvl).step} du {format_date_short(lvl_date)})"
            if listed and letter_lvl:
                detail += f"{SEP}rappelée dans le courrier du {run_text}"
        text = f"{etat}{SEP}{detail}"
        out.append(made.setdefault(text, text))
    return out
