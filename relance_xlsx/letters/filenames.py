"""Letter file names: client, tier and date, safe on Windows, unique in a run's folder.

The folder is opened by people on Windows: no reserved characters (``<>:"/\\|?*``) or device
names (``CON``, ``NUL.txt``…), no trailing dot or space, at most 120 characters, and no two
names that differ only by case (Windows sees them as one file).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

from ..model import PlannedLetter
from ..tiers import tier as tier_of
from .context import clean_text

MAX_FILENAME = 120
_RESERVED = (
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{c}" for c in "0123456789¹²³"}
    | {f"LPT{c}" for c in "0123456789¹²³"}
)
_FORBIDDEN = str.maketrans({"<": "(", ">": ")", '"': "'", "/": "-", "\\": "-", "|": "-",
                            ":": "-", "*": "-", "?": ""})


def _is_reserved(name: str) -> bool:
    """Windows device names, also followed by an extension ("nul.txt")."""
    stem = name.split(".")[0].rstrip(" ")
    return stem.upper() in _RESERVED


def safe_filename_part(text: str, fallback: str = "Client") -> str:
    """Text usable in a Windows file name: no reserved characters or names, no trailing dot."""
    text = unicodedata.normalize("NFC", clean_text(text)).translate(_FORBIDDEN)
    text = re.sub(r"[\x00-\x1f\x7f]", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if not text:
        text = fallback
    if _is_reserved(text):
        text = "_" + text
    return text


def letter_filename(client: str, tier: int, day: date, suffix: str = "") -> str:
    """``"Dupont & Fils (SAS) – Relance 2 – 2026-11-23.docx"``, at most 120 characters."""
    tail = f" – {tier_of(tier).label} – {day.isoformat()}.docx"
    room = MAX_FILENAME - len(tail) - len(suffix)
    name = safe_filename_part(client)
    if len(name) > room:
        name = name[:room].rstrip(" .-–(") or "Client"
    name += suffix
    if _is_reserved(name):
        name = "_" + name
    return name + tail


def _key(name: str) -> str:
    """How Windows compares two names: case-insensitive, Unicode-normalised."""
    return unicodedata.normalize("NFC", name).casefold()


def letter_filenames(letters: Sequence[PlannedLetter]) -> list[str]:
    """Unique names (case-insensitive, as Windows compares them): client code, then (2), (3)."""
    names = [letter_filename(x.client, x.niveau, x.date) for x in letters]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(_key(name), []).append(i)
    for indexes in groups.values():
        codes = {safe_filename_part(letters[i].code_client, "") for i in indexes}
        if len(indexes) > 1 and len(codes) > 1:
            for i in indexes:
                code = safe_filename_part(letters[i].code_client, "")
                if code:
                    names[i] = letter_filename(letters[i].client, letters[i].niveau,
                                               letters[i].date, f" ({code})")
    seen: set[str] = set()
    for i, name in enumerate(names):
        n = 2
        while _key(name) in seen:
            name = letter_filename(letters[i].client, letters[i].niveau, letters[i].date,
                                   f" ({n})")
            n += 1
        names[i] = name
        seen.add(_key(name))
    return names
