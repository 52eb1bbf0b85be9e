"""How a letter and its e-mail address the client: one rule for both.

Letters are signed without rereading, so the salutation is derived, never typed: "Madame
Lambert," when the contact (or else a client name) starts with a civility, "Madame,
Monsieur," otherwise. A contact cell often carries more than a name ("Mme Élodie Favre,
Direction administrative et financière"): the salutation keeps the surname only, the address
block prints the whole cell after "À l'attention de".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEUTRAL = "Madame, Monsieur"
# civility as written in exports -> the word of the salutation
_CIVILITIES = {
    "m": "Monsieur", "mr": "Monsieur", "monsieur": "Monsieur",
    "mme": "Madame", "madame": "Madame", "mlle": "Madame", "mademoiselle": "Madame",
}  # fmt: skip
# contacts abroad: the letter is in French, the civility is theirs; read in a contact only
# (a client named « MS Informatique » or « Frau Holle GmbH » is a company)
_ABROAD = {"herr": "Monsieur", "frau": "Madame", "mrs": "Madame", "ms": "Madame"}
_PARTICLES = {"de", "du", "des", "d", "le", "la", "van", "von", "der", "di", "da"}
_ROLE = re.compile(r"\s*(?:[,;(/]|\s[-–]\s).*$")  # ", Direction…", " – DAF", " (compta)"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Addressee:
    """The words that greet the client: ``appel`` ("Madame"), ``salutation`` ("Madame
    Lambert,") and ``attention`` (the contact for "À l'attention de …", or "")."""

    appel: str
    salutation: str
    attention: str


def _one_line(text: object) -> str:
    return _SPACE.sub(" ", str(text or "")).strip()


def _civility(words: list[str]) -> str | None:
    """The salutation word of a leading civility ("M.", "Mme", "Madame"), else None."""
    if not words:
        return None
    word = words[0].rstrip(".").lower()
    return _CIVILITIES.get(word) or _ABROAD.get(word)


def _surname(words: list[str]) -> str:
    """The family name among the words after the civility: an all-capitals word
    ("MOREAU Pierre"), a name with its particle ("de La Tour"), else the last word."""
    if len(words) <= 1:
        return _title(" ".join(words))
    capitals = [w for w in words if len(w) > 1 and w.isupper() and w.isalpha()]
    if capitals and len(capitals) < len(words):
        return _title(" ".join(capitals))
    for i, word in enumerate(words[1:], start=1):
        if word.lower().rstrip("'’") in _PARTICLES:
            return " ".join(words[i:])
    return _title(words[-1]) if words[-1].isupper() else words[-1]


def _title(text: str) -> str:
    """"MOREAU" -> "Moreau", "LE GOFF" -> "Le Goff"; mixed case is kept as written."""
    return text.title() if text.isupper() else text


def _greeting(name: str, strict: bool = False) -> tuple[str, str] | None:
    """(civility word, "Civility Surname") for a name starting with one civility, else None.

    ``strict`` (a client name): "M" without its dot is no civility ("M Bricolage")."""
    name = _ROLE.sub("", name)
    if strict and re.match(r"(?i)m\b(?!\.)", name):
        return None
    if strict and name.split()[:1] and name.split()[0].rstrip(".").lower() in _ABROAD:
        return None
    if re.search(r"\s(?:et|&)\s", name, re.IGNORECASE):  # "M. et Mme Dupont": both
        return None
    words = name.replace(".", ". ").split()
    word = _civility(words)
    if word is None:
        return None
    rest = [w for w in words[1:] if w not in {".", "-"}]
    if not rest or _civility(rest) is not None:
        return (word, word) if not rest else None
    return word, f"{word} {_surname(rest)}"


def addressee(contact: str, client: str = "") -> Addressee:
    """How to greet: from the contact, else from a client name that starts with a civility."""
    contact = _one_line(contact)
    found = _greeting(contact) if contact else _greeting(_one_line(client), strict=True)
    if found is None:
        return Addressee(NEUTRAL, f"{NEUTRAL},", contact)
    appel, greeting = found
    return Addressee(appel, f"{greeting},", contact)
