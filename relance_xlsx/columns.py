"""Finding the invoice table in a sheet and naming its columns.

The header row is not always row 1 (title rows, filters, a logo above it): the row within
the first ``HEADER_SCAN_ROWS`` that names the most canonical fields wins. Headers are
matched against the synonyms declared in fields.py, after normalisation (case, accents,
punctuation); the settings' ``[colonnes]`` win over the automatic match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .column_content import (
    ColumnProfile,
    Profiles,
    determines,
    difference_share,
    later,
    running_share,
    sequential_integers,
    strictly_before,
    sum_share,
    term_share,
    zero_share,
)
from .config import Settings
from .errors import InputError
from .fields import (
    AMOUNT_ONE_OF,
    BY_NAME,
    DATE,
    LABELS,
    REQUIRED_FIELDS,
    SYNONYMS,
    VAGUE_SYNONYMS,
)
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
    if len(words) == 1 and len(words[0]) < 2:
        return None  # a lone letter ("(C)", "e") abbreviates nothing
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




@dataclass(frozen=True)
class ColumnUse:
    """How the column of one field was chosen: by the settings, its header or its content."""

    field: str
    index: int  # 0-based
    source: str  # SETTINGS, HEADER or CONTENT
    confidence: float  # 0 to 1: a vague header its content contradicts is low


@dataclass(frozen=True)
class Table:
    """Where the invoices are and which column feeds each field."""

    sheet: str
    header_row: int  # 0-based
    mapping: Mapping[str, int]  # field -> 0-based column
    uses: Mapping[str, ColumnUse]
    warnings: tuple[str, ...]  # ambiguous or contradicted choices, in French


def find_table(sheets: Sheets, settings: Settings, path: Path) -> Table:
    """The sheet and header row that name the most canonical fields, the columns read by
    header then by content; missing required columns stop the run."""
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
    mapping, uses, warnings = recognise(sheets[name], r, mapping, settings)
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if not any(f in mapping for f in AMOUNT_ONE_OF):
        missing.append("reste_du")
    if missing:
        raise _missing_columns(path, name, r, sheets[name][r], missing)
    return Table(name, r, mapping, uses, tuple(warnings))


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


# --- by content: when the header names too little -------------------------------------------

SETTINGS, HEADER, CONTENT = "réglages", "en-tête", "contenu"
AMOUNT_ROLES = ("montant_ttc", "montant_regle", "reste_du")
MAX_CANDIDATES = 12  # more unnamed date or amount columns than this: content cannot tell
MIN_ROWS_TO_JUDGE = 3  # fewer sampled cells than this: the content neither confirms nor contradicts

# Address lines after the first ("Adresse 2", "Complément d'adresse", "Bâtiment"…): the reader
# prints them under the first line; content recognition leaves them alone.
MORE_ADDRESS = re.compile(
    r"^(?:(?:adresse|address|addr|adr)(?: ligne| line)? ?[2-9]|complement(?: d ?adresse)?|"
    r"complement adresse|batiment|bat|residence|lieu dit|etage|escalier|"
    r"address line [2-9]|street ?[2-9]|voie [2-9])$"
)


def column_name(headers: Sequence[object], index: int) -> str:
    """« Date d'éch. » (colonne E), or « colonne E » for a column without a title."""
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(index + 1)
    header = clean_text(headers[index]) if index < len(headers) else ""
    return f"« {header} » (colonne {letter})" if header else f"la colonne {letter} (sans titre)"


def short_label(fld: str) -> str:
    """« date d'échéance », « client »: the label without its explanation."""
    return LABELS[fld].split(" (")[0]


def _codes(profile: ColumnProfile) -> bool:
    """Short codes with digits ("411ALPHA", "C0042"), not names."""
    return profile.short_token_share >= 0.9 and profile.code_share >= 0.5


JUDGED = frozenset({"numero_facture", "client", "email", *AMOUNT_ROLES}) | {
    f for f in SYNONYMS if BY_NAME[f].kind == DATE
}  # the fields whose content can confirm or contradict a header


def _fit(fld: str, profiles: Profiles, index: int) -> float | None:
    """How well a column's content fits a field, None when the content cannot tell."""
    if fld not in JUDGED or index not in profiles:
        return None
    profile = profiles[index]
    if profile.count < MIN_ROWS_TO_JUDGE:
        return None
    kind = BY_NAME[fld].kind
    if kind == DATE:
        return profile.date_share
    if fld in AMOUNT_ROLES:
        return profile.amount_share
    if fld == "email":
        return profile.email_share
    if fld == "numero_facture":  # unique codes or a numbering; repeated values are not
        if profile.unique_share >= 0.8 and (
            profile.code_share >= 0.8 or sequential_integers(profile)
        ):
            return 0.9
        return 0.3 if profile.unique_share < 0.3 else None
    if fld == "client":  # names, not codes ("Tiers" of "411ALPHA" beside "Nom")
        if _codes(profile):
            return 0.2
        return 0.9 if profile.word_share >= 0.6 else None
    return None


def _header_use(fld: str, index: int, header: object, profiles: Profiles,
                from_settings: bool) -> ColumnUse:
    """A header match's confidence: an exact header is trusted, a vague one needs its
    content to agree; contradicting content lowers both."""
    if from_settings:
        return ColumnUse(fld, index, SETTINGS, 1.0)
    found = match_field(clean_text(header))
    exact = found is not None and found[1] == 3
    fit = _fit(fld, profiles, index)
    if fit is None:
        confidence = 0.9 if exact else 0.7
    elif fit >= 0.8:
        confidence = 1.0 if exact else 0.9
    elif fit >= 0.5:
        confidence = 0.7 if exact else 0.5
    else:
        confidence = 0.4 if exact else 0.3
    return ColumnUse(fld, index, HEADER, confidence)


class _Recogniser:
    """Completes a header mapping from the sampled content of the other columns."""

    def __init__(self, headers: Sequence[object], profiles: Profiles,
                 mapping: dict[str, int], uses: dict[str, ColumnUse], closed: set[int]) -> None:
        self.headers = headers
        self.profiles = profiles
        self.mapping = mapping
        self.uses = uses
        self.closed = closed  # status column, address lines, columns another header named
        self.warnings: list[str] = []

    def name(self, index: int) -> str:
        return column_name(self.headers, index)

    def free(self) -> list[int]:
        taken = set(self.mapping.values()) | self.closed
        return [i for i in range(self.profiles.width) if i not in taken and i in self.profiles]

    def take(self, fld: str, index: int, confidence: float) -> None:
        self.mapping[fld] = index
        self.uses[fld] = ColumnUse(fld, index, CONTENT, confidence)

    def ambiguous(self, fld: str, chosen: int, other: int) -> None:
        self.warnings.append(
            f"Deux colonnes peuvent être la colonne « {short_label(fld)} » : "
            f"{self.name(chosen)} et {self.name(other)} ; {self.name(chosen)} a été utilisée. "
            f"Si c'est l'autre, indiquez-la dans relance.toml, section [colonnes] "
            f'({fld} = "…").'
        )

    def best(self, fld: str, candidates: Sequence[tuple[float, int]], confidence: float,
             close: float = 0.0) -> int | None:
        """Take the best scored candidate (the leftmost of equals); a runner-up within
        ``close`` of it is an ambiguity, warned naming both columns."""
        if fld in self.mapping or not candidates:
            return None
        ranked = sorted(candidates, key=lambda c: (-c[0], c[1]))
        chosen = ranked[0][1]
        if len(ranked) > 1 and ranked[0][0] - ranked[1][0] <= close:
            self.ambiguous(fld, chosen, ranked[1][1])
            confidence = min(confidence, 0.5)
        self.take(fld, chosen, confidence)
        return chosen

    def run(self) -> None:
        p = self.profiles
        self.best("email", [(p[i].email_share, i) for i in self.free()
                            if p[i].email_share >= 0.8], 0.9)  # fmt: skip
        self.best("telephone", [(p[i].phone_share, i) for i in self.free()
                                if p[i].phone_share >= 0.8], 0.8)  # fmt: skip
        self.dates()
        self.invoice_number()
        self.place()
        self.amounts()
        self.client()

    # dates ----------------------------------------------------------------------------

    def dates(self) -> None:
        """The due date is the column of dates on or after the invoice dates."""
        p = self.profiles
        free = [i for i in self.free() if p[i].date_share >= 0.8]
        if len(free) > MAX_CANDIDATES:
            return  # a calendar or a table of dates, not an export of invoices
        due, issued = self.mapping.get("date_echeance"), self.mapping.get("date_facture")
        if any(i is not None and i not in p for i in (due, issued)):
            return
        if due is not None and issued is None:
            before = [(later(p[due], p[i]), i) for i in free if later(p[due], p[i]) >= 0.9]
            self.best("date_facture", before, 0.8)
            return
        if due is not None:
            return
        if issued is not None:
            after = [(term_share(p[i], p[issued]), i) for i in free
                     if later(p[i], p[issued]) >= 0.9]  # fmt: skip
            if after:
                self.best("date_echeance", after, 0.8, close=0.1)
                return
            vague = (match_field(clean_text(self.headers[issued])) or ("", 3))[1] < 3
            if free and vague and self.uses["date_facture"].source == HEADER and any(
                later(p[issued], p[i]) >= 0.9 for i in free
            ):
                # "Date" is later than the other dates: it is the due date
                other = max(free, key=lambda i: later(p[issued], p[i]))
                self.warnings.append(
                    f"{self.name(issued)} contient des dates postérieures à celles de "
                    f"{self.name(other)} : {self.name(issued)} est lue comme date d'échéance "
                    f"et {self.name(other)} comme date de facture."
                )
                self.take("date_echeance", issued, 0.6)
                self.take("date_facture", other, 0.6)
            return
        pairs = [(term_share(p[d], p[i]), d, i) for d in free for i in free
                 if d != i and later(p[d], p[i]) >= 0.9]  # fmt: skip
        if pairs:
            pairs.sort(key=lambda t: (-t[0], t[1]))
            _score, d, i = pairs[0]
            rivals = [t for t in pairs[1:] if t[1] != d and _score - t[0] <= 0.1]
            self.take("date_echeance", d, 0.5 if rivals else 0.8)
            self.take("date_facture", i, 0.8)
            if rivals:
                self.ambiguous("date_echeance", d, rivals[0][1])

    # codes ----------------------------------------------------------------------------

    def invoice_number(self) -> None:
        """Unique codes ("FA2026-0142", "INV/2025/00017", "F000123") or a numbering."""
        p = self.profiles
        candidates = []
        for i in self.free():
            q = p[i]
            if q.code_share >= 0.8 and q.unique_share >= 0.8:
                candidates.append((q.lettered_code_share + q.invoice_prefix_share
                                   + q.unique_share, i))  # fmt: skip
            elif sequential_integers(q):
                candidates.append((q.unique_share, i))
        self.best("numero_facture", candidates, 0.8, close=0.2)

    def place(self) -> None:
        """Postcode (a city beside it), city, country, street."""
        p = self.profiles
        free = self.free()

        def wordy(i: int | None) -> bool:
            return i is not None and i in p and i in self.free() and p[i].word_share >= 0.8

        has_amount = any(f in self.mapping for f in AMOUNT_ONE_OF)
        # "75008" typed as text is a postcode; whole numbers could be amounts: only
        # before a city, and never the export's only amount
        codes = [(p[i].postcode_share, i) for i in free if p[i].postcode_share >= 0.9
                 and (p[i].integer_share < 0.5 or (wordy(i + 1) and has_amount))]  # fmt: skip
        self.best("code_postal", codes, 0.8)
        postcode = self.mapping.get("code_postal")
        if postcode is not None and "ville" not in self.mapping:
            city = next((i for i in (postcode + 1, postcode - 1) if wordy(i)), None)
            if city is not None:
                self.take("ville", city, 0.8)
        self.best("pays", [(p[i].country_share, i) for i in self.free()
                           if p[i].country_share >= 0.8], 0.8)  # fmt: skip
        self.best("adresse", [(p[i].street_share, i) for i in self.free()
                              if p[i].street_share >= 0.5], 0.7)  # fmt: skip

    # amounts --------------------------------------------------------------------------

    def amounts(self) -> None:
        """TTC, paid and balance: the balance is TTC − paid on most rows."""
        missing = [f for f in AMOUNT_ROLES if f not in self.mapping]
        p = self.profiles
        free = [i for i in self.free() if p[i].amount_share >= 0.8
                and not sequential_integers(p[i])]  # fmt: skip
        if not missing or not free or len(free) > MAX_CANDIDATES:
            return  # a table of figures, not an export of invoices: nothing to tell
        if any(self.mapping[f] not in p for f in AMOUNT_ROLES if f in self.mapping):
            return  # an amount column named by its header but empty: nothing to compare
        pool = free + [self.mapping[f] for f in AMOUNT_ROLES if f in self.mapping]
        best: tuple[float, dict[str, int]] | None = None
        for t in pool:
            for b in pool:
                for q in pool:
                    roles = {"montant_ttc": t, "montant_regle": q, "reste_du": b}
                    if len({t, b, q}) < 3 or any(
                        f in self.mapping and self.mapping[f] != roles[f] for f in AMOUNT_ROLES
                    ):
                        continue
                    score = difference_share(p[t], p[q], p[b])
                    if score >= 0.8 and _pays_something(p[t], p[q], p[b]) and (
                        best is None or score > best[0]
                    ):
                        best = (score, roles)
        if best is not None:
            for f in missing:
                self.take(f, best[1][f], 0.9)
            return
        if any(f in self.mapping for f in AMOUNT_ONE_OF):
            if "montant_ttc" in self.mapping and len(missing) == 2 and len(free) == 1:
                self._second_amount(self.mapping["montant_ttc"], free[0])
            elif "reste_du" in self.mapping and len(missing) == 2 and len(free) == 1 and (
                _not_above(p[self.mapping["reste_du"]], p[free[0]])
            ):
                self.take("montant_ttc", free[0], 0.6)
            return
        totals = [i for i in free if len(free) >= 3
                  and sum_share(p[i], [p[j] for j in free if j != i]) >= 0.9]  # fmt: skip
        if totals:
            self.take("reste_du", totals[-1], 0.8)  # the buckets of an aged balance add up
            return
        if len(free) == 1:
            self.take("reste_du", free[0], 0.7)  # the export's only amount: the amount due
            return
        if len(free) == 2:
            a, b = free
            if _not_above(p[b], p[a]) or _not_above(p[a], p[b]):
                big, small = (a, b) if _not_above(p[b], p[a]) else (b, a)
                self.take("montant_ttc", big, 0.6)
                self._second_amount(big, small)
                return
        chosen = free[-1]
        self.take("reste_du", chosen, 0.4)
        self.ambiguous("reste_du", chosen, free[-2])

    def _second_amount(self, total: int, other: int) -> None:
        """Beside the TTC, one more amount: the balance if it equals the TTC more often than
        it is zero, else the amount paid."""
        p = self.profiles
        if not _not_above(p[other], p[total]):
            return
        equal = difference_share(p[total], None, p[other])
        fld = "reste_du" if equal >= zero_share(p[other]) else "montant_regle"
        self.take(fld, other, 0.6)

    # names ----------------------------------------------------------------------------

    def client(self) -> None:
        """Names repeated = client; short codes repeated, one name each = client code;
        "M. …", "Mme …" = contact."""
        p = self.profiles
        names = []
        for i in self.free():
            q = p[i]
            if q.word_share < 0.6 or q.civility_share >= 0.5 or (q.distinct < 2 <= q.count) \
                    or q.mean_length < 3:
                continue  # one value on every row ("EUR", "VT"), flags ("O", "N"): no one
            if q.repeated_share >= 0.2 or q.legal_share >= 0.3 or q.count < 5:
                names.append((q.repeated_share + q.legal_share, i))
        self.best("client", names, 0.7, close=0.05)
        client = self.mapping.get("client")
        codes = []
        for i in self.free():
            q = p[i]
            if not (q.short_token_share >= 0.9 and q.code_share + q.word_share >= 0.9
                    and q.filled_share >= 0.8 and q.distinct >= 2 and q.repeated_share >= 0.3
                    and q.legal_share < 0.2):  # fmt: skip
                continue
            fits = determines(q, p[client]) if client in p else 1.0
            if fits >= 0.9:
                codes.append((q.repeated_share + fits, i))
        self.best("code_client", codes, 0.7)
        self.best("contact", [(p[i].civility_share, i) for i in self.free()
                              if p[i].civility_share >= 0.5], 0.7)  # fmt: skip


def _pays_something(total: ColumnProfile, paid: ColumnProfile, rest: ColumnProfile) -> bool:
    """Some invoice is partly paid: TTC, paid and balance all there and adding up (the
    buckets of an aged balance, one amount per row, never are)."""
    return any(
        t and q and r and abs(t - q - r) < 0.011
        for t, q, r in zip(total.amounts, paid.amounts, rest.amounts, strict=True)
    )


def _not_above(small: ColumnProfile, big: ColumnProfile) -> bool:
    """``small`` is at most ``big`` on nine rows in ten with both amounts."""
    pairs = [(s, b) for s, b in zip(small.amounts, big.amounts, strict=True)
             if s is not None and b is not None]  # fmt: skip
    return bool(pairs) and sum(s <= b + 0.005 for s, b in pairs) / len(pairs) >= 0.9


def _swap_dates(rec: _Recogniser, settings: Settings) -> None:
    """Every due date before its invoice date: the two columns are swapped. The content
    decides, and says so naming both columns."""
    due, issued = rec.mapping.get("date_echeance"), rec.mapping.get("date_facture")
    if due is None or issued is None or {"date_echeance", "date_facture"} & set(settings.colonnes):
        return
    if due not in rec.profiles or issued not in rec.profiles:
        return
    before, n = strictly_before(rec.profiles[due], rec.profiles[issued])
    if n < MIN_ROWS_TO_JUDGE or before < 0.9 * n:
        return
    rec.warnings.append(
        f"Colonnes de dates inversées : les dates de {rec.name(due)} sont antérieures à "
        f"celles de {rec.name(issued)} sur {before} des {n} premières lignes. "
        f"{rec.name(issued)} a été lue comme date d'échéance et {rec.name(due)} comme date "
        "de facture. Si c'est une erreur, indiquez les colonnes dans relance.toml, "
        "section [colonnes]."
    )
    rec.take("date_echeance", issued, 0.7)
    rec.take("date_facture", due, 0.7)


def _codes_titled_client(rec: _Recogniser) -> ColumnUse | None:
    """A client column of codes ("Tiers": "411ALPHA") is set aside so that the content may
    find the names, the codes becoming the client code; given back if it finds none."""
    use = rec.uses.get("client")
    if use is None or use.source != HEADER or use.index not in rec.profiles:
        return None
    profile = rec.profiles[use.index]
    if profile.count < MIN_ROWS_TO_JUDGE or not _codes(profile):
        return None
    del rec.mapping["client"], rec.uses["client"]
    rec.closed.discard(use.index)
    return use


def _give_back(rec: _Recogniser, use: ColumnUse | None) -> None:
    if use is None or "client" in rec.mapping:
        return
    for fld in [f for f, i in rec.mapping.items() if i == use.index]:
        del rec.mapping[fld], rec.uses[fld]
    rec.mapping["client"] = use.index
    rec.uses["client"] = use


def _header_rivals(rec: _Recogniser) -> None:
    """A vague header whose content contradicts it gives way to another column named for
    the same field whose content fits ("Reference" of names, "Num" of invoice codes)."""
    for fld, use in list(rec.uses.items()):
        fit = _fit(fld, rec.profiles, use.index)
        if use.source != HEADER or fit is None or fit >= 0.5:
            continue
        for i in sorted(rec.closed):
            found = match_field(clean_text(rec.headers[i])) if i < len(rec.headers) else None
            other = _fit(fld, rec.profiles, i)
            if found and found[0] == fld and other is not None and other >= 0.8 and (
                i not in rec.mapping.values()
            ):
                rec.closed.discard(i)
                rec.closed.discard(use.index)  # free for what its content says it is
                rec.mapping[fld] = i
                rec.uses[fld] = ColumnUse(fld, i, HEADER, 0.8)
                break


def _running_balance(rec: _Recogniser) -> None:
    """A ledger's « Solde » column is the account's running balance, not what each line
    still owes: read as the amount due, every invoice after the first would be chased for
    the whole account. Left out, the amount due is debit − credit, line by line."""
    use = rec.uses.get("reste_du")
    if use is None or use.source != HEADER or not {"montant_ttc", "montant_regle"} <= set(
        rec.mapping
    ):
        return
    p = rec.profiles
    total, paid = rec.mapping["montant_ttc"], rec.mapping["montant_regle"]
    if use.index not in p or total not in p or paid not in p:
        return
    if running_share(p[total], p[paid], p[use.index]) < 0.8:
        return  # each line's own amount due (where it differs, it is not a running sum)
    del rec.mapping["reste_du"], rec.uses["reste_du"]
    rec.closed.add(use.index)
    rec.warnings.append(
        f"{rec.name(use.index)} est un solde progressif (cumul du compte), pas le reste dû "
        f"de chaque ligne : elle n'est pas lue. Le reste dû de chaque ligne est "
        f"{rec.name(total)} − {rec.name(paid)}."
    )


def _drop_weak_guesses(rec: _Recogniser) -> None:
    """A required column is not guessed on thin evidence: a doubtful choice by content, or
    a sheet whose headers name almost none of them (not an export of invoices, most
    likely), stops the run with the missing-columns message rather than send letters."""
    required = [f for f in (*REQUIRED_FIELDS, *AMOUNT_ONE_OF) if f in rec.uses]
    by_content = [f for f in required if rec.uses[f].source == CONTENT]
    floor = 0.7 if len(by_content) >= 3 else 0.5
    for fld in by_content:
        if rec.uses[fld].confidence < floor:
            del rec.mapping[fld], rec.uses[fld]


def recognise(
    rows: Sequence[Sequence[object]], header_row: int, mapping: Mapping[str, int],
    settings: Settings,
) -> tuple[dict[str, int], dict[str, ColumnUse], list[str]]:
    """The header mapping checked and completed by the columns' content: (mapping, how each
    field's column was chosen, warnings naming the columns of ambiguous choices)."""
    headers = rows[header_row] if header_row < len(rows) else []
    profiles = Profiles(rows, header_row)
    status = normalise(settings.colonne_statut)
    texts = [normalise(clean_text(h)) for h in headers]
    closed = {
        i for i, t in enumerate(texts)
        if t and (t == status or MORE_ADDRESS.match(t) or match_field(t) is not None)
    }  # fmt: skip
    uses = {
        f: _header_use(f, i, headers[i] if i < len(headers) else "", profiles,
                       f in settings.colonnes and normalise(settings.colonnes[f]) == texts[i])
        for f, i in mapping.items()
    }  # fmt: skip
    rec = _Recogniser(headers, profiles, dict(mapping), uses, closed)
    _header_rivals(rec)
    _running_balance(rec)
    _swap_dates(rec, settings)
    set_aside = _codes_titled_client(rec)
    rec.run()
    _give_back(rec, set_aside)
    _drop_weak_guesses(rec)
    for fld, use in rec.uses.items():
        if use.source == HEADER and use.confidence < 0.5:
            rec.warnings.append(
                f"{rec.name(use.index)} est lue comme {short_label(fld)} d'après son titre, "
                "mais son contenu n'y ressemble pas : vérifiez-la (relance.toml, section "
                "[colonnes])."
            )
    return rec.mapping, rec.uses, rec.warnings
