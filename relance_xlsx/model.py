"""Plain records shared by the pipeline stages: status words, letters, run results.

Invoices travel between stages as a pandas DataFrame (one row per invoice line, columns
declared in fields.py); letters and results are frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .tiers import ETATS, SEP, Etat, tier

if TYPE_CHECKING:
    from .amounts import LetterAmounts
    from .columns import ColumnUse
    from .followup import BrokenPromise, EntryError

# The status words and the tiers live in tiers.py; re-exported for callers of model.
__all__ = ["ETATS", "SEP", "Etat", "LetterLine", "PlannedLetter", "PricedLetter",
           "RenderedLetter", "RunResult"]

@dataclass(frozen=True, slots=True)  # one per invoice of each letter: no dict each
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
    # a payment received but not matched to an invoice (ledger.py): deducted, printed as
    # « Règlement non affecté » with its date (``date_facture``) and amount
    non_affecte: bool = False

    @property
    def relancee(self) -> bool:
        """Reminded before this letter: its date is known, or only its level (export)."""
        return self.niveau_avant > 0 or self.relancee_le is not None


_FRANCE = {"", "france", "fr", "fra", "france metropolitaine", "republique francaise"}


def foreign_country(country: str) -> str:
    """The country in capitals when it is not France, else ""."""
    from .parsing import normalise

    text = " ".join(country.split())
    return "" if normalise(text) in _FRANCE else text.upper()


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
    pays: str = ""  # as exported; printed only when it is not France
    contact: str = ""
    email: str = ""
    telephone: str = ""
    particulier: bool = False
    date_precedent: date | None = None  # the client's previous letter, if known
    # the date the client had promised to pay by (follow-up workbook), passed unpaid: the
    # letter never says it heard nothing from the client
    promesse_non_tenue: date | None = None

    @property
    def pays_imprime(self) -> str:
        """The country line of the envelope: none for France, else in capitals (La Poste)."""
        return foreign_country(self.pays)

    @property
    def adresse_incomplete(self) -> bool:
        """No postcode or no city: La Poste may return the letter, so the user is told."""
        return not self.code_postal.strip() or not self.ville.strip()

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
        return any(x.relancee for x in self.lignes)

    @property
    def numeros_relances(self) -> tuple[str, ...]:
        """The invoice numbers it chases that were reminded before (the others never were)."""
        reminded = {x.numero for x in self.lignes if x.relancee}
        return tuple(n for n in self.numeros if n in reminded)


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
    copies: tuple[Path, ...] = ()  # invoice PDFs ([factures] dossier), after the letter
    missing_copies: tuple[str, ...] = ()  # its invoice numbers without a copy

    @property
    def letter(self) -> PlannedLetter:
        return self.priced.letter


@dataclass(frozen=True)
class RunFiles:
    """Where a run wrote, for the summary and the report (None: not written)."""

    settings: Path | None = None
    journal: Path | None = None
    journal_backup: Path | None = None  # the copy made before migrating an older journal
    out_dir: Path | None = None
    workbook: Path | None = None
    backup: Path | None = None
    report: Path | None = None
    print_batch: Path | None = None
    pdfs: tuple[Path, ...] = ()
    emails: tuple[Path, ...] = ()
    summary: Path | None = None
    followup: Path | None = None  # suivi_relances.xlsx, created or refreshed


@dataclass(frozen=True)
class RunResult:
    """What a run did: the classified invoices, the letters, files written, warnings."""

    run_date: date
    source: Path
    sheet: str
    invoices: pd.DataFrame
    priced: tuple[PricedLetter, ...] = ()  # the letters with their amounts (stage 5)
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    header_row: int = 0  # 1-based, as Excel shows it
    dropped_total_rows: int = 0
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> header used
    column_index: Mapping[str, int] = field(default_factory=dict)  # field -> 0-based column
    column_uses: Mapping[str, ColumnUse] = field(default_factory=dict)  # by header or content
    # the address columns read after the first (« Adresse 2 », « Complément »…): header and
    # 0-based column, said under « Colonnes lues » with the first
    address_lines: tuple[tuple[str, int], ...] = ()
    rendered: tuple[RenderedLetter, ...] = ()  # after stage 6
    files: RunFiles = field(default_factory=RunFiles)
    superseded: tuple[int, ...] = ()  # same-date runs this one replaced
    # the follow-up workbook (suivi_relances.xlsx): bad entries, promises not kept, holds
    # and promises falling due this week (French lines for the summary and the report)
    suivi_erreurs: tuple[EntryError, ...] = ()  # followup.EntryError: sheet, row, message
    promesses_non_tenues: tuple[BrokenPromise, ...] = ()  # followup.BrokenPromise
    suivi_semaine: tuple[str, ...] = ()

    @property
    def letters(self) -> tuple[PlannedLetter, ...]:
        return tuple(p.letter for p in self.priced)

    @property
    def amounts(self) -> tuple[LetterAmounts, ...]:
        return tuple(p.amounts for p in self.priced)

    @property
    def letter_files(self) -> tuple[Path, ...]:
        return tuple(r.docx for r in self.rendered)

    @property
    def out_dir(self) -> Path | None:
        return self.files.out_dir

    @property
    def workbook_written(self) -> Path | None:
        return self.files.workbook

    @property
    def backup(self) -> Path | None:
        return self.files.backup
