"""The status words and the reminder tiers, as data.

In the manner of the ``holidays`` package's rules: one table (``TIERS``) says everything
the other modules need to know about a step (its level, state word, step name, settings
key, template, subject, whether it is registered mail, whether it is a letter at all).
No module writes ``niveau == 3`` or its own tier dictionary: it asks this table.

Levels: ``niveau`` is the number of steps already taken for an invoice (0 = none).
Steps 1–3 are letters; step 4 (contentieux) hands the invoices over, with no letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Etat(StrEnum):
    """The first word of every status value: users filter on these in Excel."""

    PAYEE = "Payée"
    AVOIR = "Avoir"
    NON_ECHUE = "Non échue"
    LITIGE = "Litige"
    EN_ATTENTE = "En attente"
    RELANCE_1 = "Relance 1"
    RELANCE_2 = "Relance 2"
    MISE_EN_DEMEURE = "Mise en demeure"
    CONTENTIEUX = "Contentieux"
    ERREUR = "Erreur"


ETATS = tuple(Etat)
SEP = " – "  # en dash between the status word and its detail


@dataclass(frozen=True)
class Tier:
    """One step of the reminder cycle."""

    level: int  # the invoice's level once this step is taken
    etat: Etat  # the status word of an invoice at this step
    step: str  # lower-case name used in details ("relance 2 le 07/12/2026")
    key: str  # settings key ([delais], afficher_penalites) and template stem
    subject: str  # the letter's and the e-mail's subject prefix ("" when no letter)
    registered: bool = False  # sent by registered mail with acknowledgement (AR)
    letter: bool = True  # False: no letter, the invoices are handed over
    formal: bool = False  # a formal notice: no softer letter may follow it
    consumer_mention: str = ""  # what a consumer's letter says of interest (Code civil)

    @property
    def template(self) -> str:
        """The Word template's file name in ``templates_word/`` or the user's folder."""
        return f"{self.key}.docx"

    @property
    def label(self) -> str:
        """The state word as printed ("Relance 1", "Mise en demeure")."""
        return self.etat.value


# Consumers owe no interest before the formal notice: relance 2 announces it, the notice
# starts it (article 1231-6 du Code civil).
_CONSUMER_R2 = (
    "À défaut de règlement, une mise en demeure vous sera adressée ; les sommes dues "
    "porteront alors intérêts au taux légal à compter de celle-ci (article 1231-6 du Code civil)."
)
_CONSUMER_MED = (
    "Conformément à l'article 1231-6 du Code civil, les sommes dues porteront intérêts "
    "au taux légal à compter de la présente mise en demeure."
)

TIERS: tuple[Tier, ...] = (
    Tier(1, Etat.RELANCE_1, "relance 1", "relance_1", "Rappel de paiement"),
    Tier(2, Etat.RELANCE_2, "relance 2", "relance_2", "Deuxième relance",
         consumer_mention=_CONSUMER_R2),
    Tier(3, Etat.MISE_EN_DEMEURE, "mise en demeure", "mise_en_demeure",
         "Mise en demeure de payer", registered=True, formal=True,
         consumer_mention=_CONSUMER_MED),
    Tier(4, Etat.CONTENTIEUX, "contentieux", "contentieux", "", letter=False),
)

_BY_LEVEL = {t.level: t for t in TIERS}
_BY_STEP = {t.step: t for t in TIERS}

LETTER_TIERS: tuple[Tier, ...] = tuple(t for t in TIERS if t.letter)
LETTER_LEVELS: tuple[int, ...] = tuple(t.level for t in LETTER_TIERS)
LETTER_KEYS: tuple[str, ...] = tuple(t.key for t in LETTER_TIERS)
#: the highest level a letter brings an invoice to (the formal notice)
LAST_LETTER_LEVEL = max(LETTER_LEVELS)
#: the level of the hand-over step, past every letter
HANDOVER_LEVEL = max(t.level for t in TIERS)
#: the settings keys of [delais], in order: the delay before reaching each level
DELAY_KEYS: tuple[str, ...] = tuple(t.key for t in TIERS)


def tier(level: int) -> Tier:
    """The tier reached at ``level`` (1–4); KeyError for any other level."""
    return _BY_LEVEL[int(level)]


def tier_by_step(step: str) -> Tier | None:
    """``"Mise en demeure"`` (any case) -> its tier, None when it is no step name."""
    return _BY_STEP.get(" ".join(str(step).split()).lower())
