"""Finding the invoice table in a sheet and naming its columns.

The header row is not always row 1 (title rows, filters, a logo above it): the row within
the first ``HEADER_SCAN_ROWS`` that names the most canonical fields wins. Headers are
matched against the synonyms declared in fields.py, after normalisation (case, accents,
punctuation); the settings' ``[colonnes]`` win over the automatic match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from .config import Settings
from .errors import InputError
from .fields import AMOUNT_ONE_OF, LABELS, REQUIRED_FIELDS, SYNONYMS, VAGUE_SYNONYMS
from .parsing import clean_text, is_blank, normalise, parse_date
from .sources import Sheets

HEADER_SCAN_ROWS = 100


def _abbreviates(header: tuple[str, ...], synonym: tuple[str, ...]) -> bool:
    return len(header) == len(synonym) and all(
        s.startswith(h) for h, s in zip(header, synonym, strict=True)
    )


def _synonym_index() -> tuple[dict[str, str], dict[tuple[int, str], list[tuple[str, tuple]]]]:
    """Exact lookup, and abbreviation candidates keyed by (word count, first letter)."""
    exact: dict[str, str] = {}
    by_shape: dict[tuple[int, str], list[tuple[str, tuple]]] = {}
    for name, synonyms in SYNONYMS.items():
        for syn in synonyms:
            exact.setdefault(syn, name)
            words = tuple(syn.split())
            by_shape.setdefault((len(words), words[0][0]), []).append((name, words))
    return exact, by_shape


_EXACT, _BY_SHAPE = _synonym_index()


@lru_cache(maxsize=4096)
def match_field(header: str) -> tuple[str, int] | None:
    """The canonical field a header names, with a score (3 exact, 2 vague, 1 abbreviation)."""
    norm = normalise(header)
    if not norm:
        return None
    if norm in _EXACT:
        return _EXACT[norm], 2 if norm in VAGUE_SYNONYMS else 3
    words = tuple(norm.split())
    for name, syn in _BY_SHAPE.get((len(words), words[0][0]), ()):
        if _abbreviates(words, syn):
            return name, 1
    return None


def map_headers(
    headers: Sequence[object], overrides: Mapping[str, str], status_header: str = ""
) -> dict[str, int]:
    """Canonical field -> column index; the settings' [colonnes] win over auto-detection."""
    texts = [clean_text(h) for h in headers]
    norm = [normalise(t) for t in texts]
    mapping: dict[str, int] = {}
    taken: set[int] = {i for i, n in enumerate(norm) if status_header and n == status_header}
    for fld, header in overrides.items():
        target = normalise(header)
        for i, n in enumerate(norm):
            if n and n == target and i not in taken:
                mapping[fld] = i
                taken.add(i)
                break
    candidates: list[tuple[int, int, str, int]] = []  # (-score, position, field, index)
    for i, text in enumerate(texts):
        if i in taken:
            continue
        found = match_field(text)
        if found and found[0] not in mapping:
            candidates.append((-found[1], i, found[0], i))
    for _neg, _pos, fld, i in sorted(candidates):
        if fld not in mapping and i not in taken:
            mapping[fld] = i
            taken.add(i)
    # "Date" alone is the invoice date only when a due date exists elsewhere.
    return mapping


def _date_ratio(rows: list[list[object]], header_row: int, col: int) -> float:
    """Share of the first data rows whose cell in ``col`` reads as a date."""
    sample = [r[col] for r in rows[header_row + 1 : header_row + 41] if col < len(r)]
    values = [v for v in sample if not is_blank(v)]
    if not values:
        return 0.0
    ok = 0
    for v in values:
        try:
            ok += parse_date(v) is not None
        except ValueError:
            pass
    return ok / len(values)


def _prefer_real_dates(
    rows: list[list[object]], header_row: int, mapping: dict[str, int], settings: Settings
) -> dict[str, int]:
    """Two "échéance" columns (terms in words, dates): take the one that holds dates."""
    if "date_echeance" not in mapping or "date_echeance" in settings.colonnes:
        return mapping
    headers = rows[header_row]
    current = mapping["date_echeance"]
    best, best_ratio = current, _date_ratio(rows, header_row, current)
    if best_ratio >= 0.8:
        return mapping
    used = set(mapping.values())
    for i, h in enumerate(headers):
        if i in used and i != current:
            continue
        found = match_field(clean_text(h))
        if found and found[0] == "date_echeance" and i != current:
            ratio = _date_ratio(rows, header_row, i)
            if ratio > best_ratio:
                best, best_ratio = i, ratio
    mapping = dict(mapping)
    mapping["date_echeance"] = best
    return mapping




def find_table(sheets: Sheets, settings: Settings, path: Path) -> tuple[str, int, dict[str, int]]:
    """(sheet, 0-based header row, mapping): the row that names the most canonical fields."""
    names = list(sheets)
    if settings.feuille:
        wanted = [n for n in names if normalise(n) == normalise(settings.feuille)]
        if not wanted:
            raise InputError(
                f"Feuille « {settings.feuille} » introuvable dans « {path.name} ».\n"
                f"Feuilles du classeur : {', '.join('« ' + n + ' »' for n in names)}.\n"
                "Corrigez [classeur] feuille dans relance.toml."
            )
        names = wanted
    best: tuple[int, str, int, dict[str, int]] | None = None
    for name in names:
        found = _best_header_row(sheets[name], settings)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], name, found[1], found[2])
    if best is None:
        raise InputError(
            f"Aucun tableau trouvé dans « {path.name} » : "
            f"{'la feuille est vide' if len(names) == 1 else 'les feuilles sont vides'}.\n"
            "Vérifiez que l'export contient bien la liste des factures ouvertes."
        )
    _score, name, r, mapping = best
    mapping = _prefer_real_dates(sheets[name], r, mapping, settings)
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if not any(f in mapping for f in AMOUNT_ONE_OF):
        missing.append("reste_du")
    if missing:
        raise _missing_columns(path, name, r, sheets[name][r], missing)
    return name, r, mapping


def _best_header_row(
    rows: list[list[object]], settings: Settings
) -> tuple[int, int, dict[str, int]] | None:
    """(score, row, mapping) of the sheet's likeliest header row, the first of equals."""
    best: tuple[int, int, dict[str, int]] | None = None
    complete_at = None
    status = normalise(settings.colonne_statut)
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if complete_at is not None and r > complete_at + 5:
            break  # a complete header was found: the rows below it are data
        if sum(1 for v in row if isinstance(v, str) and v.strip()) < 2:
            continue
        mapping = map_headers(row, settings.colonnes, status)
        required = sum(1 for f in REQUIRED_FIELDS if f in mapping)
        has_amount = any(f in mapping for f in AMOUNT_ONE_OF)
        score = required * 10 + has_amount * 10 + len(mapping)
        if best is None or score > best[0]:
            best = (score, r, mapping)
        if required == len(REQUIRED_FIELDS) and has_amount and complete_at is None:
            complete_at = r
    return best


def _missing_columns(
    path: Path, sheet: str, r: int, header: Sequence[object], missing: list[str]
) -> InputError:
    """The error that lists the headers seen and how to name the missing ones."""
    headers = [clean_text(h) for h in header if clean_text(h)]
    lines = "\n".join(f'  {f} = "…"   # {LABELS[f]}' for f in missing)
    return InputError(
        f"Colonne obligatoire introuvable dans « {path.name} », feuille « {sheet} » : "
        f"{', '.join(LABELS[f] for f in missing)}.\n"
        f"Colonnes lues à la ligne {r + 1} : "
        f"{', '.join('« ' + h + ' »' for h in headers) or '(aucune)'}.\n"
        f"(La ligne des titres de colonnes doit se trouver dans les {HEADER_SCAN_ROWS} "
        "premières lignes de la feuille.)\n"
        "Indiquez la colonne à utiliser dans relance.toml, section [colonnes], "
        "en recopiant son titre exact :\n[colonnes]\n" + lines
    )
