"""The payment-terms table of article D441-6 (model of annexe 4-1 to article A441-2).

Invoices issued, unpaid at the closing date: count and amount by calendar days late at the
closing date (due date to closing date; due on the closing date or later: « 0 jour »),
share of the year's turnover when it is given (never guessed). Disputed invoices go to (B).
Credit notes are never counted as invoices, paid lines and lines in error are left out,
and so are invoices dated after the closing date. A partly paid invoice counts for what
is still owed. Invoice count: distinct invoices (instalments of one invoice count once).

The balances are those of the export: run it on the export taken at the closing date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .indicators import bucket_of, late_at
from .tiers import Etat

COLUMNS = ("0 jour (indicatif)", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours",
           "91 jours et plus", "Total (1 jour et plus)")  # fmt: skip
EXCLUDED_STATES = (Etat.PAYEE.value, Etat.ERREUR.value, Etat.AVOIR.value)


@dataclass(frozen=True)
class PaymentTerms:
    """The D441-6 figures for issued invoices (article D441 I.-2°) at ``closing``."""

    closing: date
    basis: str  # "TTC" or "HT"
    counts: tuple[int, ...]  # one per COLUMNS
    amounts: tuple[float, ...]
    turnover: float | None
    disputed_count: int
    disputed_amount: float
    credit_notes: int  # lines left out as credit notes (never invoices)
    after_closing: int  # invoices dated after the closing date, left out

    @property
    def percents(self) -> tuple[float | None, ...]:
        """Share of the year's turnover (a fraction), or ``None`` when it is not given."""
        if not self.turnover:
            return (None,) * len(COLUMNS)
        return tuple(round(a / self.turnover, 6) for a in self.amounts)


def payment_terms(
    invoices: pd.DataFrame, closing: date, turnover: float | None = None, ht: bool = False
) -> PaymentTerms:
    """The table's figures from the classified invoices (module docstring for the rules)."""
    basis = "HT" if ht else "TTC"
    if invoices.empty:
        return PaymentTerms(closing, basis, (0,) * 6, (0.0,) * 6, turnover, 0, 0.0, 0, 0)
    state = invoices["etat"]
    credit_notes = int((state == Etat.AVOIR).sum())
    issued = invoices["date_facture"].to_numpy(dtype="datetime64[D]")
    later = ~np.isnat(issued) & (issued > np.datetime64(closing, "D"))
    keep = ~state.isin(EXCLUDED_STATES).to_numpy()
    after_closing = int((keep & later).sum())
    rows = invoices[keep & ~later]
    disputed = (rows["etat"] == Etat.LITIGE).to_numpy() | rows["litige"].fillna(False).to_numpy(
        dtype=bool)
    rest = rows["reste_du"].fillna(0.0).to_numpy(dtype=float)
    keys = rows["cle_facture"].astype(str).to_numpy()
    column = bucket_of(late_at(rows["date_echeance"], closing))
    counts, amounts = [], []
    for i in range(5):
        chosen = ~disputed & (column == i)
        counts.append(len(set(keys[chosen])))
        amounts.append(round(float(rest[chosen].sum()), 2))
    late = ~disputed & (column >= 1)
    counts.append(len(set(keys[late])))
    amounts.append(round(float(rest[late].sum()), 2))
    return PaymentTerms(
        closing, basis, tuple(counts), tuple(amounts), turnover,
        len(set(keys[disputed])), round(float(rest[disputed].sum()), 2), credit_notes,
        after_closing,
    )  # fmt: skip


def file_name(closing: date) -> str:
    return f"délais de paiement – {closing:%Y-%m-%d}.xlsx"


@dataclass(frozen=True)
class PaymentTermsFile:
    """What ``delais-paiement`` wrote."""

    path: Path
    terms: PaymentTerms
    warnings: tuple[str, ...]


def write_payment_terms(
    export: Path, closing: date, ht: bool = False, turnover: float | None = None,
    config: Path | None = None, out: Path | None = None,
) -> PaymentTermsFile:
    """Read and classify ``export``, then write the D441-6 workbook (beside it by default)."""
    from openpyxl import Workbook

    from .config import find_settings, load_settings
    from .files import atomic_target
    from .journal import JournalData
    from .pipeline import classify_export
    from .reader import read_export
    from .report_numbers import payment_terms_sheet

    settings = load_settings(find_settings(config, export))
    if turnover is None:
        ind = settings.indicateurs
        turnover = ind.chiffre_affaires_exercice_ht if ht else ind.chiffre_affaires_exercice_ttc
    read = read_export(Path(export), settings)
    classified, _letters = classify_export(read, settings, JournalData.empty(), closing)
    terms = payment_terms(classified, closing, turnover, ht)
    wb = Workbook()
    source = f"Export « {read.source.name} »" + (f", feuille « {read.sheet} »"
                                                 if read.sheet else "")  # fmt: skip
    payment_terms_sheet(wb.active, terms, source)
    folder = Path(out) if out else Path(export).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(closing)
    with atomic_target(path) as tmp:
        wb.save(tmp)
    return PaymentTermsFile(path, terms, tuple(read.warnings))
