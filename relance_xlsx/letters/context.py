"""The French template variables of one letter, formatted for print, and sample letters.

Everything a template prints arrives as text ready for print ("1 234,56 €", "23 novembre
2026"), cleaned of what Word's XML cannot hold: templates only place values, they never
format them. The sample letters feed the template checks, the documentation and the tests.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ..amounts import LetterAmounts, amounts_context, letter_amounts
from ..business_days import BusinessCalendar
from ..config import Settings, Societe
from ..formatting import format_date_long, format_date_short, format_eur
from ..model import LetterLine, PlannedLetter
from ..salutation import addressee
from ..tiers import LETTER_KEYS, LETTER_LEVELS
from ..tiers import tier as tier_of
from .qr import payment_qr
from .variables import SOCIETE_FIELDS

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
NBSP = "\u00a0"


def clean_text(value: Any, multiline: bool = False) -> str:
    """Text safe for Word XML: no control characters; line breaks kept only if ``multiline``."""
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    text = str(value)
    if text.isprintable():  # most values: no line break, tab or control character
        return text.strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub("", text)
    if multiline:
        return "\n".join(line.strip() for line in text.split("\n") if line.strip())
    return " ".join(part.strip() for part in text.split("\n") if part.strip()).strip()


def _invoice_phrase(numbers: Sequence[str], limit: int = 6) -> str:
    """``facture n° A`` / ``factures n° A et B`` / ``12 factures (n° A, B, C, D, E…)``."""
    if not numbers:
        return "votre compte client"
    if len(numbers) == 1:
        return f"facture n°{NBSP}{numbers[0]}"
    if len(numbers) <= limit:
        return f"factures n°{NBSP}{', '.join(numbers[:-1])} et {numbers[-1]}"
    return f"{len(numbers)}{NBSP}factures (n°{NBSP}{', '.join(numbers[:3])}…)"


def _client(letter: PlannedLetter) -> dict[str, str]:
    return {
        "nom": clean_text(letter.client),
        "code": clean_text(letter.code_client),
        "contact": clean_text(letter.contact),
        "adresse": clean_text(letter.adresse, multiline=True),
        "code_postal": clean_text(letter.code_postal),
        "ville": clean_text(letter.ville)
        + (f"\n{letter.pays_imprime}" if letter.pays_imprime else ""),  # the envelope's last line
        "pays": letter.pays_imprime,
        "email": clean_text(letter.email),
        "telephone": clean_text(letter.telephone),
    }


def legal_mentions(societe: dict[str, str]) -> str:
    """The Code de commerce mentions (R123-237) that are filled, ready for the footer."""
    form, capital = societe["forme_juridique"], societe["capital"]
    parts = [" ".join(x for x in (form, f"au capital de {capital}" if capital else "") if x)]
    siren = re.sub(r"\D", "", societe["siret"])[:9]
    if societe["rcs"]:
        siren_text = f"{siren[:3]} {siren[3:6]} {siren[6:]}" if len(siren) == 9 else ""
        parts.append(" ".join(x for x in ("RCS", societe["rcs"], siren_text) if x))
    if societe["siret"]:
        parts.append(f"SIRET {societe['siret']}")
    if societe["tva_intracommunautaire"]:
        parts.append(f"TVA {societe['tva_intracommunautaire']}")
    return " – ".join(p for p in parts if p)


LEGAL_KEYS = ("forme_juridique", "capital", "rcs", "tva_intracommunautaire")


def legal_mentions_warning(societe: Societe) -> str | None:
    """French warning when a legal mention is empty: a mise en demeure goes to court files."""
    missing = [k for k in LEGAL_KEYS if not str(getattr(societe, k)).strip()]
    if not missing:
        return None
    return ("Mentions légales incomplètes sur les mises en demeure : renseignez "
            + ", ".join(missing) + " dans la section [societe] de relance.toml.")


UNALLOCATED = f"Règlement non{NBSP}affecté"  # wraps before « non affecté », not inside it


def _invoice_row(line: LetterLine, extra: dict[str, Any]) -> dict[str, Any]:
    """One row of the invoice table (``f.…``); ``extra`` holds its late-payment amounts.

    An unallocated payment prints as « Règlement non affecté », dated the day it was
    received, its amount as paid and deducted; it is no credit note (``f.avoir`` false),
    so no template calls it one."""
    if line.non_affecte:
        return {
            "relancee_le": "", "historique": "", "numero": UNALLOCATED,
            "date_facture": format_date_short(line.date_facture), "date_echeance": "",
            "montant_ttc": "", "montant_regle": format_eur(-line.reste_du),
            "reste_du": format_eur(line.reste_du), "jours_retard": "", "interets": "",
            "indemnite": "", "avoir": False, "non_affecte": True,
        }  # fmt: skip
    credit = bool(line.avoir or line.reste_du < 0)
    regle = line.montant_regle
    if regle is None and line.montant_ttc is not None and not credit:
        regle = line.montant_ttc - line.reste_du
    if credit and not regle:
        regle = None  # nothing is "paid" on a credit note: leave the cell empty
    days = int(extra.get("jours_retard") or 0)
    return {
        **_history(line, credit),
        "numero": clean_text(line.numero),
        "date_facture": format_date_short(line.date_facture),
        "date_echeance": format_date_short(line.date_echeance),
        "montant_ttc": format_eur(line.montant_ttc),
        "montant_regle": format_eur(regle),
        "reste_du": format_eur(line.reste_du),
        "jours_retard": str(days) if days > 0 and not credit else "",
        "interets": clean_text(extra.get("interets", "")),
        "indemnite": clean_text(extra.get("indemnite", "")),
        "avoir": credit,
        "non_affecte": False,
    }


def unallocated_sentence(letter: PlannedLetter) -> str:
    """``reglements_non_affectes``: the payments received, thanked for, deducted, and the
    question the accountant needs answered to allocate them."""
    paid = [x for x in letter.lignes if x.non_affecte]
    if not paid:
        return ""
    each = [format_eur(-x.reste_du) + (f" du {format_date_short(x.date_facture)}"
                                       if x.date_facture else "") for x in paid]  # fmt: skip
    if len(paid) == 1:
        return (f"Nous avons bien reçu votre règlement de {each[0]} ; ne sachant pas quelles "
                "factures il règle, nous l'avons déduit du montant restant dû. Merci de nous "
                "les indiquer.")  # fmt: skip
    return (f"Nous avons bien reçu vos règlements de {', '.join(each[:-1])} et de {each[-1]} ; "
            "ne sachant pas quelles factures ils règlent, nous les avons déduits du montant "
            "restant dû. Merci de nous les indiquer.")  # fmt: skip


def _history(line: LetterLine, credit: bool) -> dict[str, str]:
    """What this invoice already had, told by itself: a letter never claims a reminder
    that was not sent (``historique`` is empty for a first reminder and a credit note)."""
    if credit or not line.relancee:
        return {"relancee_le": "", "historique": ""}
    if line.relancee_le is None:  # the export gives a level, not its date
        return {"relancee_le": "", "historique": "déjà relancée"}
    return {"relancee_le": format_date_long(line.relancee_le),
            "historique": f"relancée le {format_date_short(line.relancee_le)}"}


@functools.lru_cache(maxsize=8)
def _societe(soc: Societe) -> tuple[tuple[str, str], ...]:
    """``societe.…`` of the template, cleaned once per run: the same for every letter."""
    return tuple((k, clean_text(getattr(soc, k), multiline=k == "adresse"))
                 for k in SOCIETE_FIELDS)


@functools.lru_cache(maxsize=8)
def _legal_mentions(soc: Societe) -> str:
    return legal_mentions(dict(_societe(soc)))


def letter_context(letter: PlannedLetter, settings: Settings,
                   amounts: LetterAmounts) -> dict[str, Any]:
    """The template variables of one letter (see ``VARIABLES``), formatted for print."""
    money = amounts_context(letter, amounts)
    per_line = money.pop("factures_montants")
    soc = settings.societe
    societe = dict(_societe(soc))
    numbers = [clean_text(n) for n in letter.numeros]
    greet = addressee(clean_text(letter.contact), clean_text(letter.client))
    context: dict[str, Any] = {
        "societe": societe,
        "client": _client(letter),
        "mentions_legales": _legal_mentions(soc),
        "lieu": societe["ville"],
        "date_courrier": format_date_long(letter.date),
        "salutation": greet.salutation,
        "appel": greet.appel,
        "niveau": tier_of(letter.niveau).label,
        "numero_relance": letter.niveau,
        "objet": f"{tier_of(letter.niveau).subject} – {_invoice_phrase(numbers)}",
        "numeros_factures": ", ".join(numbers),
        "nombre_factures": len(numbers),
        "date_courrier_precedent": format_date_long(letter.date_precedent),
        "promesse_non_tenue": format_date_long(letter.promesse_non_tenue),
        "particulier": bool(amounts.particulier),
        "deja_relancees": letter.deja_relancee,
        "reglements_non_affectes": unallocated_sentence(letter),
        # a partial payment is never met by « nous n'avons reçu … ni votre règlement »
        "reglements_recus": any(x.non_affecte or (not x.avoir and (x.montant_regle or 0) > 0)
                                for x in letter.lignes),
        "toutes_relancees": bool(numbers) and len(letter.numeros_relances) == len(numbers),
        "factures": [_invoice_row(line, extra)
                     for line, extra in zip(letter.lignes, per_line, strict=True)],
    }
    for key, value in money.items():
        context[key] = clean_text(value) if isinstance(value, str) else value
    qr = None
    if settings.qr_paiement and soc.iban:
        qr = payment_qr(soc, amounts.total_reclame, numbers)
    context["qr_paiement"] = qr or ""
    return context


# --- samples (checks, documentation, tests) ----------------------------------------------------

SAMPLE_SOCIETE = Societe(
    nom="Menuiserie Martin SARL",
    adresse="4 avenue de la Gare\nZone artisanale des Glaises",
    code_postal="38000",
    ville="Grenoble",
    telephone="04 76 00 00 00",
    email="compta@menuiserie-martin.fr",
    siret="123 456 789 00012",
    forme_juridique="SARL",
    capital="50 000 €",
    rcs="Grenoble",
    tva_intracommunautaire="FR 12 123456789",
    iban="FR76 3000 6000 0112 3456 7890 189",
    bic="AGRIFRPPXXX",
    signataire="Claire Martin",
    fonction="Responsable comptabilité clients",
)


SAMPLE_PREVIOUS = date(2026, 11, 9)  # the sample client's previous letter
FIRST = LETTER_LEVELS[0]  # the level of a first reminder


def sample_letter(tier: int = 2, particulier: bool = False) -> PlannedLetter:
    """A realistic letter: two late invoices (one partly paid) and a credit note.

    The first invoice was reminded on ``SAMPLE_PREVIOUS`` (the step before ``tier``, or a
    first reminder still running); the second one was never reminded.
    """
    d = Decimal
    lines = (
        LetterLine("F2026-001", date(2026, 9, 15), date(2026, 10, 15), d("2400.00"),
                   d("1000.00"), d("1400.00"), 39, False, 2, niveau_avant=max(FIRST, tier - 1),
                   relancee_le=SAMPLE_PREVIOUS),
        LetterLine("F2026-014", date(2026, 9, 30), date(2026, 10, 30), d("2220.00"),
                   d("0.00"), d("2220.00"), 24, False, 3),
        LetterLine("AV2026-003", date(2026, 10, 5), date(2026, 10, 5), d("-170.00"),
                   None, d("-170.00"), 0, True, 4),
    )
    return PlannedLetter(
        cle_client="C0042", client="Dupont & Fils <SAS>", code_client="C0042", niveau=tier,
        date=date(2026, 11, 23), lignes=lines, adresse="12 rue des Lilas\nBâtiment B",
        code_postal="69003", ville="Lyon", contact="M. Jean Dupont",
        email="contact@dupont-fils.fr", telephone="04 72 00 00 00", particulier=particulier,
        date_precedent=SAMPLE_PREVIOUS,
    )


def _reminded(letter: PlannedLetter) -> PlannedLetter:
    """The same letter with every invoice reminded before, on ``SAMPLE_PREVIOUS``."""
    lines = tuple(
        line if line.avoir else dataclasses.replace(
            line, niveau_avant=max(FIRST, line.niveau_avant), relancee_le=SAMPLE_PREVIOUS)
        for line in letter.lignes
    )
    return dataclasses.replace(letter, lignes=lines, date_precedent=SAMPLE_PREVIOUS)


def _never_reminded(letter: PlannedLetter) -> PlannedLetter:
    """The same letter with no invoice reminded before."""
    lines = tuple(dataclasses.replace(x, niveau_avant=0, relancee_le=None) for x in letter.lignes)
    return dataclasses.replace(letter, lignes=lines, date_precedent=None)


def sample_contexts(tier: int) -> list[dict[str, Any]]:
    """Contexts that visit every branch of a template: business client with every setting
    filled (first invoice reminded, second not), the same with penalties shown or hidden
    against the default and every invoice reminded, consumer with empty settings and no
    invoice reminded."""
    full = Settings(societe=SAMPLE_SOCIETE, qr_paiement=True)
    flipped = () if tier_of(tier).key in full.montants.afficher_penalites else LETTER_KEYS
    toggled = dataclasses.replace(
        full, montants=dataclasses.replace(full.montants, afficher_penalites=flipped)
    )
    bare = Settings(societe=Societe(nom="Société", ville=""))
    business = sample_letter(tier)
    consumer = dataclasses.replace(_never_reminded(sample_letter(tier, particulier=True)),
                                   contact="", code_client="")

    def context(letter: PlannedLetter, settings: Settings) -> dict[str, Any]:
        calendar = BusinessCalendar.around(settings.subdivision, letter.date)
        amounts = letter_amounts(letter, settings, is_business_day=calendar.is_business_day)
        return letter_context(letter, settings, amounts)

    return [context(business, full), context(_reminded(business), toggled),
            context(consumer, bare)]
