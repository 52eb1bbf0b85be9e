"""Plain records shared by the pipeline stages: status words, letters, run results.

Invoices travel between stages as a pandas DataFrame (one row per invoice line, columns
declared in fields.py); letters and results are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .tiers import ETATS, SEP, Etat, tier

if TYPE_CHECKING:
    from .amounts import LetterAmounts

# The status words and the tiers live in tiers.py; re-exported for callers of model.
__all__ = ["ETATS", "SEP", "Etat", "LetterLine", "PlannedLetter", "PricedLetter",
           "RenderedLetter", "RunResult"]

@dataclass(frozen=True)
class LetterLine:
    """One invoice (or credit note) listed in a letter."""

    numero: str
    date_facture: date | None
    date_echeance: date | None
    montant_ttc: Decimal | None
    montant_regle: Decimal | None
    reste_du: Decimal
    jours_retard: int
    avoir: bool
    ligne: int  # row in the export
    # this invoice's own history before the letter: the last step it had reached and when
    # (0 and None for an invoice never reminded: the letter must not claim a reminder)
    niveau_avant: int = 0
    relancee_le: date | None = None


@dataclass(frozen=True)
class PlannedLetter:
    """One letter to one client: the tier is the highest step its invoices reach."""

    cle_client: str
    client: str
    code_client: str
    niveau: int  # 1, 2 or 3
    date: date
    lignes: tuple[LetterLine, ...]
    adresse: str = ""
    code_postal: str = ""
    ville: str = ""
    contact: str = ""
    email: str = ""
    telephone: str = ""
    particulier: bool = False
    date_precedent: date | None = None  # the client's previous letter, if known

    @property
    def tier_name(self) -> str:
        return tier(self.niveau).label

    @property
    def numeros(self) -> tuple[str, ...]:
        """The invoice numbers it chases (not its credit notes), once each: instalments of
        one invoice share a number."""
        numbers = (x.numero for x in self.lignes if not (x.avoir or x.reste_du < 0))
        return tuple(dict.fromkeys(numbers))

    @property
    def solde(self) -> Decimal:
        return sum((x.reste_du for x in self.lignes), Decimal("0"))

    @property
    def deja_relancee(self) -> bool:
        """Some listed invoice was reminded before: only then may a letter say so."""
        return any(x.relancee_le is not None for x in self.lignes)


@dataclass(frozen=True)
class PricedLetter:
    """A planned letter with its late-payment amounts (stage 5), as rendered and mailed."""

    letter: PlannedLetter
    amounts: LetterAmounts


@dataclass(frozen=True)
class RenderedLetter:
    """A priced letter and the files written for it (stage 6)."""

    priced: PricedLetter
    docx: Path
    pdf: Path | None = None
    email: Path | None = None

    @property
    def letter(self) -> PlannedLetter:
        return self.priced.letter


@dataclass(frozen=True)
class RunResult:
    """What a run did: the classified invoices, the letters, files written, warnings."""

    run_date: date
    source: Path
    sheet: str
    invoices: pd.DataFrame
    letters: tuple[PlannedLetter, ...]
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    letter_files: tuple[Path, ...] = ()
    workbook_written: Path | None = None
    backup: Path | None = None
    out_dir: Path | None = None
    summary_file: Path | None = None
    extra: dict = field(default_factory=dict)
    # the late-payment amounts of each letter (amounts.LetterAmounts), aligned with letters:
    # computed once by the pipeline, then printed, mailed and reported
    amounts: tuple = ()
