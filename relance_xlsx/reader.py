"""Reading the export: find the table, map its columns, parse each row into plain data.

Exports vary by software and by person: title rows above the header, French or English
headers with accents and abbreviations, text dates, "1 234,56 €", total rows. Column names
are matched against ``SYNONYMS`` (data, not branches). A row that cannot be read keeps its
place with an ``erreur`` reason: it never stops the run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .config import CANONICAL_FIELDS, Settings
from .errors import InputError
from .files import OLE_MAGIC, is_encrypted_workbook
from .parsing import (
    clean_text,
    is_blank,
    is_consumer_client,
    normalise,
    parse_amount,
    parse_date,
    parse_flag,
    parse_level,
    strip_accents,
)

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
HEADER_SCAN_ROWS = 100

REQUIRED = ("numero_facture", "client", "date_echeance")

FIELD_LABELS = {
    "numero_facture": "numéro de facture",
    "client": "client (raison sociale)",
    "code_client": "code client",
    "date_facture": "date de facture",
    "date_echeance": "date d'échéance",
    "montant_ttc": "montant TTC",
    "montant_regle": "montant réglé",
    "reste_du": "reste dû",
    "email": "e-mail",
    "telephone": "téléphone",
    "adresse": "adresse",
    "code_postal": "code postal",
    "ville": "ville",
    "contact": "contact",
    "litige": "litige",
    "type_client": "type de client",
    "niveau_relance": "niveau de relance",
    "date_derniere_relance": "date de dernière relance",
}

# Normalised header names (see parsing.normalise) for each canonical field. A header also
# matches when each of its words abbreviates the synonym's word at the same place
# ("date d ech" matches "date d echeance").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "numero_facture": (
        "numero facture", "n facture", "no facture", "num facture", "numero de facture",
        "n de facture", "facture", "factures", "n piece", "numero piece", "num piece",
        "no piece", "piece", "n de piece", "reference facture", "ref facture", "reference",
        "ref", "invoice", "invoice number", "invoice no", "invoice n", "invoice num",
        "invoice id", "document", "n document", "numero document", "doc", "n doc",
        "numero", "no", "n",
    ),
    "client": (
        "client", "nom client", "nom du client", "raison sociale", "raison sociale client",
        "nom", "societe", "tiers", "nom tiers", "intitule", "intitule compte",
        "intitule du compte", "libelle client", "libelle compte", "customer",
        "customer name", "client name", "debiteur", "denomination", "name", "partenaire",
        "intitule tiers", "nom du tiers", "company", "company name", "raison sociale tiers",
        "nom client tiers", "libelle tiers",
    ),
    "code_client": (
        "code client", "compte client", "compte", "n compte", "numero compte",
        "n client", "numero client", "num client", "no client", "code tiers",
        "compte tiers", "n tiers", "ref client", "reference client", "code",
        "customer id", "customer code", "customer number", "account", "account number",
        "client id", "id client", "compte auxiliaire", "code auxiliaire", "auxiliaire",
        "n auxiliaire", "compte aux", "code tiers client",
    ),
    "date_facture": (
        "date facture", "date de facture", "date", "date piece", "date de piece",
        "date d emission", "date emission", "date document", "invoice date", "date doc",
        "emise le", "date ecriture",
    ),
    "date_echeance": (
        "date echeance", "date d echeance", "date de l echeance", "echeance", "echeance le",
        "date limite de paiement", "date limite", "date de paiement prevue", "due date",
        "date due", "payment due", "due", "ech", "date ech",
    ),
    "montant_ttc": (
        "montant ttc", "ttc", "total ttc", "montant", "montant facture", "montant total",
        "montant total ttc", "montant de la facture", "debit", "amount", "invoice amount",
        "total", "total amount", "mt ttc", "montant initial", "montant origine",
        "montant eur", "montant euros", "montant en euros", "montant facture ttc",
    ),
    "montant_regle": (
        "montant regle", "regle", "deja regle", "reglement", "reglements", "paye",
        "montant paye", "deja paye", "encaisse", "montant encaisse", "credit", "paid",
        "amount paid", "paiement", "paiements", "acompte", "acomptes",
    ),
    "reste_du": (
        "reste du", "restant du", "reste a payer", "reste a regler", "reste a encaisser",
        "solde", "solde du", "solde restant", "montant du", "montant restant",
        "montant restant du", "reste", "amount due", "balance", "balance due",
        "outstanding", "open amount", "due amount", "non regle", "impaye", "open balance",
        "montant residuel", "residuel", "restant du ttc", "reste du ttc", "montant a payer",
        "net a payer", "solde restant du", "montant impaye", "reste a recouvrer",
        "balance outstanding", "amount outstanding", "remaining", "remaining amount",
    ),
    "email": ("email", "e mail", "mail", "courriel", "adresse email", "adresse mail",
              "email client", "mail client", "adresse e mail"),
    "telephone": ("telephone", "tel", "tel client", "telephone client", "phone", "portable",
                  "mobile", "n telephone", "numero de telephone"),
    "adresse": ("adresse", "adresse 1", "adresse client", "adresse postale", "rue",
                "address", "adresse ligne 1", "voie"),
    "code_postal": ("code postal", "cp", "postal code", "zip", "zip code", "c postal"),
    "ville": ("ville", "localite", "commune", "city", "town"),
    "contact": ("contact", "interlocuteur", "nom contact", "contact client",
                "contact name", "destinataire", "a l attention de"),
    "litige": ("litige", "en litige", "contestation", "conteste", "dispute", "disputed",
               "blocage", "bloque", "litiges"),
    "type_client": ("type client", "type de client", "type", "categorie client",
                    "categorie", "nature client", "client type", "b2b b2c"),
    "niveau_relance": ("niveau de relance", "niveau relance", "niveau", "relance",
                       "nb relances", "nombre de relances", "dernier niveau de relance",
                       "reminder level", "dunning level", "relances"),
    "date_derniere_relance": ("date derniere relance", "date de derniere relance",
                              "derniere relance", "date relance", "relance le",
                              "last reminder", "last reminder date", "date de relance"),
}  # fmt: skip



@dataclass(frozen=True)
class ReadResult:
    """The export as plain data: invoices DataFrame plus where the table was found."""

    source: Path
    kind: str  # "xlsx", "xlsm", "xls", "ods", "xlsb", "csv"
    sheet: str
    header_row: int  # 1-based
    columns: Mapping[str, str]  # canonical field -> header text in the export
    column_index: Mapping[str, int]  # canonical field -> 0-based column index
    headers: tuple[str, ...]  # every header of the header row, as written
    status_index: int | None  # 0-based column of an existing status column
    invoices: pd.DataFrame
    raw_rows: tuple[tuple[object, ...], ...]  # the sheet as read (for csv/xls/ods copies)
    dropped_total_rows: int
    warnings: tuple[str, ...]

    @property
    def in_place(self) -> bool:
        """The status column can be written into the file itself (xlsx/xlsm)."""
        return self.kind in ("xlsx", "xlsm")


# --- raw sheets ---------------------------------------------------------------------------


def _sheets(path: Path) -> tuple[str, dict[str, list[list[object]]]]:
    """All sheets as row lists, from A1. Returns (kind, {sheet name: rows})."""
    if not path.exists():
        raise InputError(
            f"Fichier introuvable : {path}\nVérifiez le nom et le dossier du fichier."
        )
    if path.is_dir():
        raise InputError(f"« {path} » est un dossier, pas un fichier d'export.")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(
            f"Le fichier « {path.name} » est vide.\n"
            "Refaites l'export depuis votre logiciel comptable, puis relancez."
        )
    suffix = path.suffix.lower()
    if is_encrypted_workbook(data):
        raise InputError(
            f"Le classeur « {path.name} » est protégé par un mot de passe.\n"
            "Ouvrez-le dans Excel, enregistrez une copie sans mot de passe "
            "(Fichier > Informations > Protéger le classeur), puis relancez sur cette copie."
        )
    if suffix not in SPREADSHEET_SUFFIXES | CSV_SUFFIXES:
        raise InputError(
            f"« {path.name} » n'est pas un classeur : formats acceptés .xlsx, .xlsm, .xls, "
            ".ods et .csv.\nExportez l'échéancier clients depuis votre logiciel dans l'un de "
            "ces formats."
        )
    if suffix in CSV_SUFFIXES or _looks_like_text(data):
        head = data[:2048].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<table" in head:
            return "html", {path.stem: _read_html(data)}
        return "csv", {path.stem: _read_csv(data, path)}
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        sheets = {
            name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in wb.sheet_names
        }
    except Exception as exc:  # calamine raises its own error types, all unreadable files
        raise InputError(
            f"Impossible de lire « {path.name} » : le fichier n'est pas un classeur valide "
            f"ou il est endommagé ({type(exc).__name__}).\n"
            "Ouvrez-le dans Excel pour vérifier, enregistrez-le de nouveau au format .xlsx, "
            "puis relancez."
        ) from exc
    return suffix.lstrip("."), sheets


def _looks_like_text(data: bytes) -> bool:
    """Plain text (a csv or html saved with a spreadsheet's name), not a zip or OLE file."""
    head = data[:4096]
    if b"\x00" in head or head.startswith((b"PK", OLE_MAGIC)):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return True


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the same number of fields, quotes
    respected (a client named "Café; Bar" must not turn a comma file into a ';' one)."""
    lines = [line for line in text.splitlines()[:60] if line.strip()]
    best, best_score = ";", (-1.0, 0)
    for delimiter in (";", ",", "\t", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        widest = max(counts)
        if widest < 2:
            continue
        mode = max(set(counts), key=counts.count)
        consistency = counts.count(mode) / len(counts)
        score = (consistency if mode > 1 else 0.0, mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_html(data: bytes) -> list[list[object]]:
    """Old web exports save an HTML table with an .xls name: read its first big table."""
    from lxml import html

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses str with an encoding decl.
    doc = html.fromstring(text)
    tables = doc.findall(".//table")
    if not tables:
        return []
    table = max(tables, key=lambda t: len(t.findall(".//tr")))
    return [
        [" ".join(cell.text_content().split()) for cell in tr if cell.tag in ("td", "th")]
        for tr in table.findall(".//tr")
    ]


def _read_csv(data: bytes, path: Path) -> list[list[object]]:
    """CSV with ';' or ',' (or tab), UTF-8 with or without BOM, or cp1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise InputError(f"Encodage du fichier « {path.name} » non reconnu.")
    delimiter = _sniff_delimiter(text)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return [[c if c.strip() else "" for c in row] for row in rows]


# --- header detection ---------------------------------------------------------------------


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
        return _EXACT[norm], 2 if norm in WEAK_SYNONYMS else 3
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


def _find_table(
    sheets: Mapping[str, list[list[object]]], settings: Settings, path: Path
) -> tuple[str, int, dict[str, int]]:
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
        rows = sheets[name]
        complete_at = None
        for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            if complete_at is not None and r > complete_at + 5:
                break  # a complete header was found: the rows below it are data
            if sum(1 for v in row if isinstance(v, str) and v.strip()) < 2:
                continue
            mapping = map_headers(row, settings.colonnes, normalise(settings.colonne_statut))
            required = sum(1 for f in REQUIRED if f in mapping)
            has_amount = "montant_ttc" in mapping or "reste_du" in mapping
            score = required * 10 + has_amount * 10 + len(mapping)
            if best is None or score > best[0]:
                best = (score, name, r, mapping)
            if required == len(REQUIRED) and has_amount and complete_at is None:
                complete_at = r
    if best is None:
        raise InputError(
            f"Aucun tableau trouvé dans « {path.name} » : "
            f"{'la feuille est vide' if len(names) == 1 else 'les feuilles sont vides'}.\n"
            "Vérifiez que l'export contient bien la liste des factures ouvertes."
        )
    _score, name, r, mapping = best
    mapping = _prefer_real_dates(sheets[name], r, mapping, settings)
    missing = [f for f in REQUIRED if f not in mapping]
    if "montant_ttc" not in mapping and "reste_du" not in mapping:
        missing.append("reste_du")
    if missing:
        headers = [clean_text(h) for h in sheets[name][r] if clean_text(h)]
        lines = "\n".join(
            f'  {f} = "…"   # {FIELD_LABELS[f]}' for f in missing
        )
        raise InputError(
            f"Colonne obligatoire introuvable dans « {path.name} », feuille « {name} » : "
            f"{', '.join(FIELD_LABELS[f] for f in missing)}.\n"
            f"Colonnes lues à la ligne {r + 1} : "
            f"{', '.join('« ' + h + ' »' for h in headers) or '(aucune)'}.\n"
            f"(La ligne des titres de colonnes doit se trouver dans les {HEADER_SCAN_ROWS} "
            "premières lignes de la feuille.)\n"
            "Indiquez la colonne à utiliser dans relance.toml, section [colonnes], "
            "en recopiant son titre exact :\n[colonnes]\n" + lines
        )
    return name, r, mapping


# --- rows ---------------------------------------------------------------------------------


# Exact synonyms that are vague on their own: a more specific header wins over them.
WEAK_SYNONYMS = {"compte", "code", "n", "no", "numero", "date", "montant", "total", "nom",
                 "type", "reference", "ref", "document", "doc", "niveau", "relance", "reste",
                 "regle", "credit", "debit", "name", "solde"}  # fmt: skip

_TOTAL_LABEL = re.compile(
    r"^\s*(sous[\s-]?total|total|totaux|cumul|report|[aà] reporter|solde|grand total)\b",
    re.IGNORECASE,
)


def _is_total_row(values: Sequence[object], mapping: Mapping[str, int]) -> bool:
    """A subtotal/total line: labelled "Total…" with no real invoice number, or unlabelled."""
    number = clean_text(_get(values, mapping.get("numero_facture")))
    if number and not _TOTAL_LABEL.match(number):
        return False  # a real invoice number: an invoice, whatever its comments say
    for v in values:
        if isinstance(v, str) and _TOTAL_LABEL.match(strip_accents(v)):
            return True
    client = clean_text(_get(values, mapping.get("client")))
    return not number and not client and not clean_text(_get(values, mapping.get("date_echeance")))


def _get(values: Sequence[object], index: int | None) -> object:
    if index is None or index >= len(values):
        return None
    return values[index]


def _postcode(value: object) -> str:
    text = clean_text(value)
    if text.isdigit() and len(text) == 4:
        return "0" + text  # 08000 exported as the number 8000
    return text


def _looks_like_invoice(
    values: Sequence[object], mapping: Mapping[str, int], header_norm: Mapping[int, str]
) -> bool:
    """An invoice line has a number, a due date or an amount next to something else.

    Footers ("Édité le … par …"), page titles, group lines ("411ALPHA - Alpha SA") and
    headers repeated on each printed page are not invoices and are skipped silently.
    """
    n = len(values)
    filled = {
        f: i < n and values[i] not in ("", None)
        and not (isinstance(values[i], str) and not values[i].strip())
        for f, i in mapping.items()
    }  # fmt: skip (inlined is_blank: this runs for every row of big exports)
    if sum(filled.values()) < 2:
        return False
    same_as_header = 0
    for f in ("numero_facture", "client", "date_echeance", "reste_du", "montant_ttc"):
        i = mapping.get(f)
        if i is None or not filled[f] or not isinstance(values[i], str):
            continue
        head = header_norm.get(i, "")
        text = values[i].strip()
        # cheap first-letter test before normalising: most cells are plain data
        if head and text and strip_accents(text[0]).lower() == head[0]:
            same_as_header += normalise(text) == head
    if same_as_header >= 2:
        return False
    has_amount = any(filled.get(f) for f in ("montant_ttc", "montant_regle", "reste_du"))
    number, due = filled.get("numero_facture", False), filled.get("date_echeance", False)
    client = filled.get("client", False) or filled.get("code_client", False)
    return (number and (due or has_amount or client)) or (due and has_amount)


def _build_frame(
    rows: list[list[object]], header_row: int, mapping: Mapping[str, int], settings: Settings
) -> tuple[pd.DataFrame, int, int]:
    """Parse every data row below the header into the invoices DataFrame."""
    records: list[dict[str, object]] = []
    dropped_totals = 0
    carried = 0
    last_client: tuple[object, object] | None = None
    date_cache: dict[object, object] = {}
    header_norm = {i: normalise(clean_text(_get(rows[header_row], i))) for i in mapping.values()}
    for r in range(header_row + 1, len(rows)):
        values = rows[r]
        if not any(values):  # "" and None (and rows of zeros) are not invoices
            continue
        if _is_total_row(values, mapping):
            if any(not is_blank(_get(values, i)) for i in mapping.values()):
                dropped_totals += 1
            continue
        if not _looks_like_invoice(values, mapping, header_norm):
            dropped_totals += 1  # footer, page title, group line, repeated header
            continue
        client_cols = [mapping[f] for f in ("client", "code_client") if f in mapping]
        if client_cols and all(is_blank(_get(values, i)) for i in client_cols):
            if last_client is not None:
                # Grouped exports print the client once, on the first row of its group.
                values = list(values)
                for i, v in zip(client_cols, last_client, strict=False):
                    while len(values) <= i:
                        values.append("")
                    values[i] = v
                carried += 1
        elif client_cols:
            last_client = tuple(_get(values, i) for i in client_cols)
        rec: dict[str, object] = {"ligne": r + 1}
        errors: list[str] = []

        def text(fld: str, values: Sequence[object] = values) -> str:
            return clean_text(_get(values, mapping.get(fld)))

        def dt(
            fld: str, label: str, values: Sequence[object] = values, errors: list[str] = errors
        ) -> date | None:
            raw = _get(values, mapping.get(fld))
            key = raw if isinstance(raw, str) else None
            if key is not None and key in date_cache:
                cached = date_cache[key]
            else:
                try:
                    cached = parse_date(raw)
                except ValueError:
                    cached = ValueError
                if key is not None:
                    date_cache[key] = cached
            if cached is ValueError:
                errors.append(f"{label} illisible : « {clean_text(raw)} »")
                return None
            return cached  # type: ignore[return-value]

        def amount(
            fld: str, label: str, values: Sequence[object] = values, errors: list[str] = errors
        ) -> float | None:
            raw = _get(values, mapping.get(fld))
            try:
                return parse_amount(raw)
            except ValueError:
                errors.append(f"{label} illisible : « {clean_text(raw)} »")
                return None

        rec["numero_facture"] = text("numero_facture")
        rec["client"] = text("client")
        rec["code_client"] = text("code_client")
        for fld in ("email", "telephone", "adresse", "ville", "contact"):
            rec[fld] = text(fld)
        rec["code_postal"] = _postcode(_get(values, mapping.get("code_postal")))
        rec["date_echeance"] = dt("date_echeance", "date d'échéance")
        rec["date_facture"] = dt("date_facture", "date de facture")
        ttc = amount("montant_ttc", "montant TTC")
        paid = amount("montant_regle", "montant réglé")
        rest = amount("reste_du", "reste dû")
        if rest is None and (ttc is not None or paid is not None) and not any(
            "montant" in e for e in errors
        ):
            # Debit/credit ledgers: a credit note is a credit with no debit.
            rest = (ttc or 0.0) - (paid or 0.0)
        rec["montant_ttc"], rec["montant_regle"], rec["reste_du"] = ttc, paid, rest
        rec["litige"] = parse_flag(_get(values, mapping.get("litige")))
        rec["particulier"] = is_consumer_client(
            rec["code_client"],  # type: ignore[arg-type]
            rec["client"],  # type: ignore[arg-type]
            settings.clients_particuliers,
            _get(values, mapping.get("type_client")),
        )
        try:
            rec["niveau_export"] = parse_level(_get(values, mapping.get("niveau_relance")))
        except ValueError as exc:
            errors.append(str(exc))
            rec["niveau_export"] = 0
        rec["date_relance_export"] = dt("date_derniere_relance", "date de dernière relance")
        if rec["niveau_export"] and rec["date_relance_export"] is None:
            # A level with no date: the level counts, dated at the due date (conservative).
            rec["date_relance_export"] = rec["date_echeance"]
        if not rec["numero_facture"]:
            errors.insert(0, "numéro de facture manquant")
        if not rec["client"] and not rec["code_client"]:
            errors.insert(0, "client manquant")
        if rec["date_echeance"] is None and not any("échéance" in e for e in errors):
            errors.append("date d'échéance manquante")
        if rest is None and not any("montant" in e or "reste" in e for e in errors):
            errors.append("montant manquant (ni reste dû ni montant TTC)")
        rec["erreur"] = " ; ".join(errors)
        records.append(rec)
    return _frame(records), dropped_totals, carried


def _client_keys(df: pd.DataFrame) -> list[str]:
    """Client keys; a code shared by several names (a collective 411 account) is not a key."""
    codes = df["code_client"].str.strip().str.upper()
    unique_names = {n: normalise(n) for n in set(df["client"])}  # names repeat: normalise once
    names = df["client"].map(unique_names)
    per_code = pd.DataFrame({"code": codes, "name": names})
    per_code = per_code[(per_code["code"] != "") & (per_code["name"] != "")]
    shared = set(per_code.groupby("code")["name"].nunique().loc[lambda n: n > 1].index)
    return [
        (f"code:{code}|nom:{name}" if code in shared else f"code:{code}") if code
        else f"nom:{name}"
        for code, name in zip(codes, names, strict=True)
    ]


def _shared_code_warnings(df: pd.DataFrame) -> list[str]:
    shared = sorted({k.split("|")[0][5:] for k in df.get("cle_client", []) if "|nom:" in k})
    if not shared:
        return []
    return [
        f"Code client partagé par plusieurs noms ({', '.join(shared[:5])}"
        f"{'…' if len(shared) > 5 else ''}) : chaque nom est traité comme un client distinct. "
        "Vérifiez la colonne des codes clients (un compte collectif 411 n'est pas un code "
        "client : indiquez plutôt la colonne « Auxiliaire » dans [colonnes] code_client)."
    ]


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(records, columns=[
        "ligne", "numero_facture", "client", "code_client", "date_facture", "date_echeance",
        "montant_ttc", "montant_regle", "reste_du", "email", "telephone", "adresse",
        "code_postal", "ville", "contact", "litige", "particulier", "niveau_export",
        "date_relance_export", "erreur",
    ])  # fmt: skip
    for c in ("date_facture", "date_echeance", "date_relance_export"):
        df[c] = pd.to_datetime(df[c], errors="coerce").astype("datetime64[ns]")
    for c in ("montant_ttc", "montant_regle", "reste_du"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["ligne"] = df["ligne"].astype(np.int64)
    df["niveau_export"] = df["niveau_export"].fillna(0).astype(np.int64)
    df["litige"] = df["litige"].fillna(False).astype(bool)
    df["particulier"] = df["particulier"].fillna(False).astype(bool)
    for c in ("numero_facture", "client", "code_client", "email", "telephone", "adresse",
              "code_postal", "ville", "contact", "erreur"):  # fmt: skip
        df[c] = df[c].fillna("").astype(object)
    df["cle_client"] = _client_keys(df)
    if df.empty:
        df["cle_facture"] = pd.Series([], dtype=object)
        return df
    numbers = df["numero_facture"].str.upper().str.split().str.join(" ")
    keys = df["cle_client"] + "|" + numbers
    dup = keys.duplicated(keep=False) & (df["numero_facture"] != "")
    if dup.any():
        # Invoices paid in instalments appear once per due date: the due date tells them apart.
        due = df["date_echeance"].dt.strftime("%Y-%m-%d").fillna("")
        keys = keys.where(~dup, keys + "|" + due)
    df["cle_facture"] = keys.astype(object)
    return df


_DATE_FIELDS = ("date_facture", "date_echeance", "date_derniere_relance")
_AMOUNT_FIELDS = ("montant_ttc", "montant_regle", "reste_du")


def _typed_rows(
    rows: list[list[object]], header_row: int, mapping: Mapping[str, int]
) -> list[list[object]]:
    """Text files hold text: give the copy real dates and numbers so Excel can sort and sum."""
    out = [list(r) for r in rows]
    for row in out[header_row + 1 :]:
        for fields, parse in ((_DATE_FIELDS, parse_date), (_AMOUNT_FIELDS, parse_amount)):
            for f in fields:
                i = mapping.get(f)
                if i is None or i >= len(row) or is_blank(row[i]):
                    continue
                try:
                    row[i] = parse(row[i])
                except ValueError:
                    pass  # left as written: the status column says what is wrong
    return out


def read_export(path: Path, settings: Settings) -> ReadResult:
    """Read the export: find the table, map its columns and parse every row."""
    path = Path(path)
    kind, sheets = _sheets(path)
    if not any(any(not is_blank(v) for v in row) for rows in sheets.values() for row in rows):
        raise InputError(
            f"Le fichier « {path.name} » ne contient aucune donnée.\n"
            "Refaites l'export depuis votre logiciel comptable, puis relancez."
        )
    sheet, header_row, mapping = _find_table(sheets, settings, path)
    rows = sheets[sheet]
    headers = tuple(clean_text(h) for h in rows[header_row])
    frame, dropped, carried = _build_frame(rows, header_row, mapping, settings)
    status_norm = normalise(settings.colonne_statut)
    status_index = next((i for i, h in enumerate(headers) if normalise(h) == status_norm), None)
    frame["statut_existant"] = [
        clean_text(_get(rows[line - 1], status_index)) if status_index is not None else ""
        for line in frame["ligne"]
    ]
    warnings: list[str] = []
    unmatched = [k for k, v in settings.colonnes.items() if k not in mapping]
    for fld in unmatched:
        warnings.append(
            f"[colonnes] {fld} = « {settings.colonnes[fld]} » : aucune colonne de ce titre "
            f"dans la feuille « {sheet} » ; détection automatique utilisée."
        )
    if frame.empty:
        warnings.append(f"Aucune facture sous l'en-tête (ligne {header_row + 1}).")
    if carried:
        warnings.append(
            f"{carried} ligne(s) sans client : le client de la ligne au-dessus a été repris "
            "(export groupé par client)."
        )
    warnings.extend(_shared_code_warnings(frame))
    if kind in ("csv", "html"):
        if path.suffix.lower() in SPREADSHEET_SUFFIXES:
            warnings.append(
                f"« {path.name} » n'est pas un vrai classeur Excel mais un fichier "
                f"{'texte (CSV)' if kind == 'csv' else 'HTML'} renommé : il a été lu comme tel."
            )
        rows = _typed_rows(rows, header_row, mapping)
    return ReadResult(
        source=path,
        kind=kind,
        sheet=sheet,
        header_row=header_row + 1,
        columns={f: headers[i] for f, i in mapping.items()},
        column_index=dict(mapping),
        headers=headers,
        status_index=status_index,
        invoices=frame,
        raw_rows=tuple(tuple(r) for r in rows),
        dropped_total_rows=dropped,
        warnings=tuple(warnings),
    )


__all__ = ["CANONICAL_FIELDS", "ReadResult", "read_export", "map_headers", "match_field"]
