"""Cell values as accounting software exports them: French dates, amounts, yes/no flags.

Each parser takes one raw cell value (str, number, date, None) and returns the parsed
value, ``None`` for an empty cell, or raises ``ValueError`` with the French reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache

EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers accepted as dates: 1954-10-03 .. 2119-01-05. Outside, a number is not a date.
SERIAL_MIN, SERIAL_MAX = 20000, 80000

FRENCH_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8,
    "septembre": 9, "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
}  # fmt: skip

_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(
    r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_TEXT_MONTH = re.compile(r"^(\d{1,2})(?:er)?\s+([a-z]+)\.?\s+(\d{4})$")
_SERIAL = re.compile(r"^\d{5}(?:[.,]0+)?$")


def strip_accents(text: str) -> str:
    """``"Échéance"`` -> ``"Echeance"``: headers and flags compare without accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation to spaces: ``"Date d'éch."`` -> ``"date d ech"``."""
    text = strip_accents(str(text)).lower().replace("°", " ").replace("º", " ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def header_key(text: object) -> str:
    """The one key headers are compared by wherever two headers must name the same column.

    The reader (which column holds the status history) and the write-back (which column to
    reuse) must agree, or a header typed "Statut relance :" is read as the status column while
    a second one is added beside it. Punctuation, case, accents and spacing do not count; a
    header made only of punctuation keeps its text (spacing collapsed), so it stays non-blank.
    """
    text = "" if text is None else str(text)
    return normalise(text) or " ".join(text.split())


def same_header(a: object, b: object) -> bool:
    """Two headers name the same column; a blank header names none."""
    key = header_key(a)
    return bool(key) and key == header_key(b)


def is_blank(value: object) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def _two_digit_year(y: int) -> int:
    return 2000 + y if y < 70 else 1900 + y


def parse_date(value: object) -> date | None:
    """Excel dates, serial numbers, "15/03/2026", "15-03-26", ISO, "15 mars 2026"."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"date illisible : « {value} »")
    if isinstance(value, int | float):
        return _from_serial(float(value), value)
    text = " ".join(str(value).replace("\u00a0", " ").split())
    try:
        m = _DMY.match(text)
        if m:
            d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if len(m.group(3)) == 2:
                y = _two_digit_year(y)
            return date(y, mo, d)
        m = _YMD.match(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _TEXT_MONTH.match(normalise(text).replace(" er ", "er ") if text else "")
        if m and m.group(2) in FRENCH_MONTHS:
            return date(int(m.group(3)), FRENCH_MONTHS[m.group(2)], int(m.group(1)))
        if _SERIAL.match(text):
            return _from_serial(float(text.replace(",", ".")), text)
    except ValueError:
        pass
    raise ValueError(f"date illisible : « {text} »")


def _from_serial(serial: float, raw: object) -> date:
    if not SERIAL_MIN <= serial <= SERIAL_MAX:
        raise ValueError(f"date illisible : « {raw} »")
    return EXCEL_EPOCH + timedelta(days=int(serial))


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']")
_CURRENCY = re.compile(r"(€|eur(?:os?)?|e)$|^(€|eur)", re.IGNORECASE)


# The common text amount: optional minus, digits grouped by spaces (any width) or not, a
# decimal comma, an optional euro sign. Anything else goes through the full rules below.
_PLAIN_AMOUNT = re.compile(r"\s*(-)?(\d{1,3}(?:\s\d{3})+|\d+)(?:,(\d+))?\s*€?\s*")


def parse_amount(value: object) -> float | None:
    """Numbers, or text like "1 234,56 €", "-45,00", "(45,00)", "45,00-", "1.234,56"."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"montant illisible : « {value} »")
    if isinstance(value, int | float):
        return float(value)
    raw = str(value)
    plain = _PLAIN_AMOUNT.fullmatch(raw)
    if plain:  # "1 234,56 €", "-45,00", "1234": most text amounts, read without the rules
        sign, units, cents = plain.groups()
        number = float(f"{''.join(units.split())}.{cents or 0}")
        return -number if sign else number
    if raw.strip() in ("-", "\u2013", "\u2014", "--", "- €", "-€"):
        return 0.0  # accounting notation for zero
    text = _SPACES.sub("", raw).replace("\u2212", "-").replace("\u2013", "-")
    text = _CURRENCY.sub("", text).strip()
    text = _CURRENCY.sub("", text).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = True, text[:-1]
    if text.startswith("-"):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    text = _CURRENCY.sub("", text).strip()
    if not text or not re.fullmatch(r"[\d.,]+", text) or not re.search(r"\d", text):
        raise ValueError(f"montant illisible : « {raw.strip()} »")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            raise ValueError(f"montant illisible : « {raw.strip()} »")
        text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")  # 1.234.567 : dots as thousands separators
    elif re.fullmatch(r"\d{1,3}\.\d{3}", text):
        text = text.replace(".", "")  # 1.234 : money has two decimals, so a thousands dot
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"montant illisible : « {raw.strip()} »") from None
    return -number if negative else number


_TRUE = {"oui", "o", "x", "1", "vrai", "true", "yes", "y", "litige", "en litige", "conteste",
         "contestee", "contestation", "bloque", "bloquee", "v", "ok"}  # fmt: skip
_FALSE = {"non", "n", "0", "faux", "false", "no", "-", "aucun", "aucune", "ras"}


def parse_flag(value: object) -> bool:
    """A dispute flag: "oui", "x", "1", "vrai"… are true; a free comment counts as true too."""
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = normalise(str(value))
    if text in _FALSE or text.startswith(("pas ", "aucun", "sans ", "non ", "no ")):
        return False  # "pas de litige", "aucun litige", "non litigieux"
    return bool(text)


def parse_consumer(value: object) -> bool:
    """type_client: "particulier" (or B2C, consommateur) selects the consumer rules."""
    if is_blank(value):
        return False
    text = normalise(str(value))
    return any(w in text for w in ("particulier", "b2c", "consommateur", "personne physique"))


@lru_cache(maxsize=16)
def _listed_clients(listed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n for n in map(normalise, listed) if n)


def is_consumer_client(
    code: str, name: str, listed: Sequence[str], type_client: object = None
) -> bool:
    """The consumer (B2C) rules apply: ``type_client`` says so (see ``parse_consumer``), or
    ``[clients] particuliers`` names the client by code or name. Names compare like headers
    (case, accents and punctuation ignored): "SOCIETE GENERALE" is "Société Générale"."""
    if parse_consumer(type_client):
        return True
    if not listed:
        return False
    names = _listed_clients(tuple(listed))
    return normalise(code) in names or normalise(name) in names


_LEVEL_WORDS = (
    ("contentieux", 3),
    ("mise en demeure", 3),
    ("med", 3),
    ("demeure", 3),
)


def parse_level(value: object) -> int:
    """niveau de relance: 0–3 from a number or text ("Relance 2", "2e relance", "R1", "MED")."""
    if is_blank(value):
        return 0
    if isinstance(value, bool):
        raise ValueError(f"niveau de relance illisible : « {value} »")
    if isinstance(value, int | float):
        if value < 0 or value != int(value):
            raise ValueError(f"niveau de relance illisible : « {value} »")
        return min(int(value), 3)
    text = normalise(str(value))
    for word, level in _LEVEL_WORDS:
        if re.search(rf"\b{word}\b", text):
            return level
    m = re.search(r"(\d+)", text)
    if m:
        return min(int(m.group(1)), 3)
    if text in ("aucune", "aucun", "non", "sans", "neant"):
        return 0
    if "premiere" in text:
        return 1
    if "deuxieme" in text or "seconde" in text:
        return 2
    if "troisieme" in text:
        return 3
    if parse_flag(value):
        return 1  # a tick ("x", "oui", "relancé par tél.") : reminded at least once
    return 0


def clean_text(value: object) -> str:
    """A text cell as printed: numbers without ".0", whitespace collapsed."""
    if (
        value.__class__ is str and value.isprintable()  # no whitespace but " " (nor \xa0)
        and "  " not in value and value[:1] != " " and value[-1:] != " "
    ):  # fmt: skip
        return value  # already clean: most cells are
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return " ".join(str(value).replace("\u00a0", " ").split())
