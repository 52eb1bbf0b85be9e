"""The value checks of the settings schema (config.SCHEMA): each returns a French complaint
about a value, or None when it is fine. Kept apart from the schema so the file stays short.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from .tiers import LETTER_KEYS

Check = Callable[[Any], str | None]  # returns a French complaint, or None when fine


def _non_negative_int(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int):
        return "un nombre entier de jours ouvrés est attendu (ex. : 5)"
    if v < 0 or v > 400:
        return "un nombre de jours entre 0 et 400 est attendu"
    return None


def _positive_int(v: Any) -> str | None:
    msg = _non_negative_int(v)
    if msg:
        return msg
    return "au moins 1 jour est attendu" if v < 1 else None


MAX_AMOUNT = 1e12  # a billion thousand euros: anything above is a typing slip (or inf)


def _number(v: Any) -> bool:
    """A real, finite number: TOML also reads ``inf`` and ``nan``, which no amount is."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _amount(v: Any) -> str | None:
    if not _number(v) or v > MAX_AMOUNT:
        return "un montant en euros est attendu, écrit avec un point (ex. : 15 ou 15.50)"
    return "un montant positif ou nul est attendu" if v < 0 else None


def _rate(v: Any) -> str | None:
    if not _number(v):
        return "un taux annuel en pourcentage est attendu, avec un point (ex. : 12.15)"
    return "un taux entre 0 et 100 est attendu" if not 0 <= v <= 100 else None


def _flag(v: Any) -> str | None:
    return None if isinstance(v, bool) else "true ou false est attendu (sans guillemets)"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) else "un texte entre guillemets est attendu"


def _subdivision(v: Any) -> str | None:
    if not isinstance(v, str):
        return 'un code entre guillemets est attendu ("" pour la métropole, "57", "6AE", "971"…)'
    if v == "":
        return None
    import holidays

    known = holidays.country_holidays("FR").subdivisions
    if v not in known:
        return f"subdivision inconnue ; codes possibles : {', '.join(sorted(known))}"
    return None


def _turnover(v: Any) -> str | None:
    if not _number(v) or v > MAX_AMOUNT:
        return "un montant en euros est attendu, écrit avec un point (ex. : 1250000.00)"
    return "un montant supérieur à zéro est attendu" if v <= 0 else None


def _as_day(v: Any) -> date | None:
    """A TOML date (2026-12-31) or a quoted one ("2026-12-31" or "31/12/2026")."""
    if isinstance(v, datetime):
        return None
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(v.strip(), fmt).date()
            except ValueError:
                continue
    return None


def _day(v: Any) -> str | None:
    return None if _as_day(v) else "une date est attendue, ex. : 2026-12-31"


def _tiers(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        return 'une liste est attendue, ex. : ["relance_2", "mise_en_demeure"]'
    bad = [x for x in v if x not in LETTER_KEYS]
    if bad:
        return f"« {bad[0]} » n'est pas un niveau ; niveaux possibles : {', '.join(LETTER_KEYS)}"
    return None


def _text_list(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        return 'une liste de textes est attendue, ex. : ["C0012", "C0450"]'
    return None


def _port(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        return "un numéro de port est attendu (587 pour starttls, 465 pour ssl)"
    return None


def _security(v: Any) -> str | None:
    return None if v in ("starttls", "ssl") else '"starttls" ou "ssl" est attendu'


def _per_minute(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10000:
        return "un nombre de messages par minute est attendu (0 : sans limite)"
    return None


def _seconds(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 600:
        return "un nombre de secondes entre 1 et 600 est attendu"
    return None


# section -> key -> (check, default, comment for the generated file)
