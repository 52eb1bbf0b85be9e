"""Word letters: find and check the templates, build the French context, render fast.

Why not one ``DocxTemplate`` per letter: it re-reads, re-patches and re-compiles the template
for every letter (about 35 letters/s). Here each template is read, patched with docxtpl's
``patch_xml`` and compiled by Jinja once; a letter then only renders the XML parts that hold
tags (body, headers, footers) and copies every other zip entry, already compressed, as is.
Two processes share the work when there are many letters.

Templates are edited in Word by people who never saw Jinja, so every problem is found before
any letter is written and explained in French with the template, the text around the tag and
what to do (``check_templates``). The variables are data (``VARIABLES``): the checks, the
``modeles --variables`` listing and ``templates_word/VARIABLES.md`` all come from it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import difflib
import multiprocessing
import os
import re
import struct
import textwrap
import traceback
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree

from .amounts import (
    LetterAmounts,
    amounts_context,
    default_business_day,
    letter_amounts,
    load_rate_table,
)
from .config import Settings, Societe
from .errors import RelanceError, TemplateError
from .files import write_bytes_atomic
from .formatting import format_date_long, format_date_short, format_eur
from .model import LetterLine, PlannedLetter
from .tiers import LETTER_KEYS
from .tiers import tier as tier_of

# --- the variables, as data ----------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One template variable: documented once, used by the checks and the listings."""

    name: str
    description: str
    example: str
    group: str


G_SOCIETE = "Votre société (réglages, section [societe])"
G_CLIENT = "Le client"
G_COURRIER = "Le courrier"
G_MONTANTS = "Les montants"
G_FACTURE = (
    "Chaque ligne du tableau des factures : seulement entre {%tr for f in factures %} "
    "et {%tr endfor %}"
)

VARIABLES: tuple[Variable, ...] = (
    Variable("societe.nom", "Raison sociale de votre société", "Menuiserie Martin SARL",
             G_SOCIETE),
    Variable("societe.adresse", "Adresse (peut tenir sur plusieurs lignes)",
             "4 avenue de la Gare", G_SOCIETE),
    Variable("societe.code_postal", "Code postal", "38000", G_SOCIETE),
    Variable("societe.ville", "Ville", "Grenoble", G_SOCIETE),
    Variable("societe.telephone", "Téléphone", "04 76 00 00 00", G_SOCIETE),
    Variable("societe.email", "Adresse e-mail", "compta@menuiserie-martin.fr", G_SOCIETE),
    Variable("societe.siret", "Numéro SIRET", "123 456 789 00012", G_SOCIETE),
    Variable("societe.iban", "IBAN pour les virements (vide si non renseigné)",
             "FR76 3000 6000 0112 3456 7890 189", G_SOCIETE),
    Variable("societe.bic", "BIC de la banque (vide si non renseigné)", "AGRIFRPPXXX",
             G_SOCIETE),
    Variable("societe.signataire", "Personne qui signe les courriers", "Claire Martin",
             G_SOCIETE),
    Variable("societe.fonction", "Fonction du signataire", "Responsable comptabilité clients",
             G_SOCIETE),
    Variable("client.nom", "Raison sociale ou nom du client", "Dupont & Fils", G_CLIENT),
    Variable("client.code", "Code (compte) du client dans votre comptabilité", "C0042",
             G_CLIENT),
    Variable("client.contact", "Personne à contacter chez le client", "M. Jean Dupont",
             G_CLIENT),
    Variable("client.adresse", "Adresse du client (peut tenir sur plusieurs lignes)",
             "12 rue des Lilas", G_CLIENT),
    Variable("client.code_postal", "Code postal du client", "69003", G_CLIENT),
    Variable("client.ville", "Ville du client", "Lyon", G_CLIENT),
    Variable("client.email", "E-mail du client", "contact@dupont-fils.fr", G_CLIENT),
    Variable("client.telephone", "Téléphone du client", "04 72 00 00 00", G_CLIENT),
    Variable("lieu", "Ville d'où part le courrier (celle de votre société)", "Grenoble",
             G_COURRIER),
    Variable("date_courrier", "Date du courrier", "23 novembre 2026", G_COURRIER),
    Variable("niveau", "Niveau de relance, en toutes lettres", "Relance 2", G_COURRIER),
    Variable("numero_relance", "Niveau de relance, en chiffre : 1, 2 ou 3 (mise en demeure)",
             "2", G_COURRIER),
    Variable("objet", "Objet du courrier, avec les numéros des factures",
             "Deuxième relance – factures n° F2026-001 et F2026-014", G_COURRIER),
    Variable("numeros_factures", "Numéros des factures relancées (hors avoirs)",
             "F2026-001, F2026-014", G_COURRIER),
    Variable("nombre_factures", "Nombre de factures relancées (hors avoirs)", "2", G_COURRIER),
    Variable("date_courrier_precedent", "Date du courrier précédent à ce client (vide si aucun)",
             "9 novembre 2026", G_COURRIER),
    Variable("particulier", "Vrai si le client est un particulier (consommateur)", "faux",
             G_COURRIER),
    Variable("factures", "Liste des factures et avoirs du tableau (voir ci-dessous)", "",
             G_COURRIER),
    Variable("total_du", "Total restant dû, avoirs déduits", "3 450,00 €", G_MONTANTS),
    Variable("total_interets", "Total des intérêts (pénalités) de retard", "45,20 €",
             G_MONTANTS),
    Variable("total_indemnites", "Total des indemnités forfaitaires de recouvrement",
             "80,00 €", G_MONTANTS),
    Variable("total_reclame", "Total réclamé : restant dû, plus intérêts et indemnités quand "
             "ils sont affichés", "3 575,20 €", G_MONTANTS),
    Variable("total_reclame_lettres", "Total réclamé en toutes lettres",
             "trois mille cinq cent soixante-quinze euros et vingt centimes", G_MONTANTS),
    Variable("afficher_penalites", "Vrai quand ce courrier chiffre les pénalités (réglages "
             "[montants] afficher_penalites ; jamais pour un particulier)", "vrai", G_MONTANTS),
    Variable("taux_penalites", "Taux annuel des pénalités de retard (vide pour un particulier)",
             "12,15 %", G_MONTANTS),
    Variable("base_taux", "D'où vient ce taux", "taux de refinancement de la BCE majoré de 10 "
             "points (12,15 % au 2e semestre 2026)", G_MONTANTS),
    Variable("reference_legale", "Textes de loi applicables",
             "articles L441-10 et D441-5 du Code de commerce", G_MONTANTS),
    Variable("indemnite_unitaire", "Indemnité forfaitaire par facture (vide pour un "
             "particulier)", "40,00 €", G_MONTANTS),
    Variable("date_limite", "Date limite de paiement de la mise en demeure (vide sinon)",
             "1er décembre 2026", G_MONTANTS),
    Variable("delai_jours", "Délai de la mise en demeure, en jours", "8", G_MONTANTS),
    Variable("mention_consommateur", "Phrase légale pour un particulier (vide sinon)",
             "Conformément à l'article 1231-6 du Code civil, les sommes dues porteront "
             "intérêts au taux légal à compter de la présente mise en demeure.", G_MONTANTS),
    Variable("f.numero", "Numéro de la facture ou de l'avoir", "F2026-001", G_FACTURE),
    Variable("f.date_facture", "Date de la facture (format court)", "15/09/2026", G_FACTURE),
    Variable("f.date_echeance", "Date d'échéance (format court)", "15/10/2026", G_FACTURE),
    Variable("f.montant_ttc", "Montant TTC", "2 400,00 €", G_FACTURE),
    Variable("f.montant_regle", "Montant déjà réglé", "1 000,00 €", G_FACTURE),
    Variable("f.reste_du", "Reste dû (négatif pour un avoir)", "1 400,00 €", G_FACTURE),
    Variable("f.jours_retard", "Jours de retard à la date du courrier (vide pour un avoir)",
             "39", G_FACTURE),
    Variable("f.interets", "Intérêts de retard de la facture (vide pour un avoir)", "18,17 €",
             G_FACTURE),
    Variable("f.indemnite", "Indemnité forfaitaire de la facture (vide si aucune)", "40,00 €",
             G_FACTURE),
    Variable("f.avoir", "Vrai pour un avoir (montants négatifs)", "faux", G_FACTURE),
)

SOCIETE_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("societe."))
CLIENT_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("client."))
FACTURE_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("f."))
OBJECT_FIELDS: dict[str, tuple[str, ...]] = {"societe": SOCIETE_FIELDS, "client": CLIENT_FIELDS}
TOP_LEVEL = frozenset(
    {v.name for v in VARIABLES if "." not in v.name} | set(OBJECT_FIELDS)
)
LOOP_LIST = "factures"
# names Jinja itself provides: not unknown variables
JINJA_NAMES = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop",
                         "true", "false", "none", "True", "False", "None"})

# --- problems and results ------------------------------------------------------------------

WHAT_TO_DO = (
    "Ouvrez le modèle dans Word, corrigez la balise (voir VARIABLES.md, à côté des modèles "
    "fournis, ou la commande « relance-xlsx modeles --variables »), enregistrez, puis relancez."
)
FIX = "Corrigez la balise dans Word, enregistrez, puis relancez."


@dataclass(frozen=True)
class TemplateProblem:
    """One thing to fix in one template, said in French; ``str()`` is what the user reads."""

    template: str  # file name, e.g. "relance_1.docx"
    message: str
    excerpt: str = ""  # the text around the tag, as the user sees it in Word
    part: str = ""  # "corps du document", "en-tête", "pied de page"…
    path: Path | None = None

    def __str__(self) -> str:
        if not self.template:
            return self.message
        where = f"Modèle {self.template}" + (f" ({self.part})" if self.part else "")
        text = f"{where} : {self.message}"
        if self.excerpt:
            text += f"\n    Texte concerné : « {self.excerpt} »"
        return text


@dataclass(frozen=True)
class RenderResult:
    """Letters written, in the order of the letters given, and French warnings."""

    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()
    templates: dict[int, Path] = field(default_factory=dict)


# --- where the templates are -------------------------------------------------------------


def default_templates_dir() -> Path:
    """The shipped templates: in the installed package, else the repository's folder."""
    candidates: list[Path] = []
    try:
        from importlib import resources

        res = resources.files("relance_xlsx.templates_word")
        candidates.append(Path(str(res)))
    except (ImportError, ModuleNotFoundError, TypeError, ValueError):
        pass
    package = Path(__file__).resolve().parent
    candidates += [package / "templates_word", package.parent / "templates_word"]
    for folder in candidates:
        if (folder / tier_of(1).template).is_file():
            return folder
    return package.parent / "templates_word"


def _find_in_folder(folder: Path, filename: str) -> Path | None:
    """``filename`` in ``folder``, ignoring case (Word users rename files freely)."""
    exact = folder / filename
    if exact.is_file():
        return exact
    try:
        for entry in folder.iterdir():
            if entry.name.casefold() == filename.casefold() and entry.is_file():
                return entry
    except OSError:
        return None
    return None


def _locate(
    folder: Path | None, tiers: Iterable[int]
) -> tuple[dict[int, Path], list[str], list[TemplateProblem]]:
    """Template path per tier: the user's folder first, else the shipped one (warning)."""
    default = default_templates_dir()
    paths: dict[int, Path] = {}
    warnings: list[str] = []
    problems: list[TemplateProblem] = []
    if folder is not None and not Path(folder).is_dir():
        problems.append(
            TemplateProblem(
                template="",
                message=(
                    f"Dossier de modèles introuvable : {folder}\nCorrigez le chemin dans les "
                    "réglages ([modeles] dossier), ou laissez dossier = \"\" pour utiliser les "
                    "modèles fournis."
                ),
                path=Path(folder),
            )
        )
        return paths, warnings, problems
    for tier in sorted(set(tiers)):
        filename = tier_of(tier).template
        found = _find_in_folder(Path(folder), filename) if folder is not None else None
        if found is None and folder is not None:
            stem = Path(filename).stem
            others = sorted(
                p.name for p in Path(folder).glob(f"{stem}.*")
                if p.suffix.lower() in {".doc", ".dotx", ".odt", ".docm", ".rtf"}
            )
            hint = (
                f" (« {others[0]} » n'est pas au format .docx : dans Word, « Enregistrer "
                "sous » › « Document Word (*.docx) »)" if others else ""
            )
            warnings.append(
                f"Modèle « {filename} » absent du dossier {folder}{hint} : le modèle fourni "
                f"est utilisé pour les courriers « {tier_of(tier).label} »."
            )
        if found is None:
            found = default / filename
            if not found.is_file():
                problems.append(
                    TemplateProblem(
                        template=filename,
                        message=(
                            f"le modèle fourni est introuvable ({found}). Réinstallez "
                            "relance-xlsx ou indiquez votre propre dossier de modèles."
                        ),
                        path=found,
                    )
                )
                continue
        paths[tier] = found
    return paths, warnings, problems


# --- reading and patching a template -------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = "{" + W_NS + "}"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PART_LABELS = {
    "word/document.xml": "corps du document",
    "word/footnotes.xml": "notes de bas de page",
    "word/endnotes.xml": "notes de fin",
}
_TEMPLATED_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")


def _part_label(name: str) -> str:
    if name in PART_LABELS:
        return PART_LABELS[name]
    if "header" in name:
        return "en-tête"
    if "footer" in name:
        return "pied de page"
    return name


# Characters Word puts in typed text that Jinja does not understand inside a tag.
_TAG_CHARS = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u2002": " ",
        "\u2003": " ", "\u200b": None, "\u2060": None, "\ufeff": None,
        "\u2013": "-", "\u2014": "-", "\u2212": "-",
    }
)
# French Word turns " into « » with non-breaking spaces inside
_GUILLEMETS = re.compile(r"«\s*|\s*»")


def normalise_tag_text(text: str) -> str:
    """Curly quotes, guillemets, dashes and odd spaces typed by Word, made plain."""
    return _GUILLEMETS.sub('"', text).translate(_TAG_CHARS)


# docxtpl's first step: "{<xml>{" -> "{{" (Word splits the braces of a tag into two runs)
_SPLIT_BRACES = re.compile(
    r"(?<={)(<[^>]*>)+(?=[\{%\#])|(?<=[%\}\#])(<[^>]*>)+(?=\})", re.DOTALL
)
_TAG_SPAN = re.compile(r"{%(?:(?!%}).)*%}|{#(?:(?!#}).)*#}|{{(?:(?!}}).)*}}", re.DOTALL)
_MARKUP = re.compile(r"(<[^>]*>)")


def _normalise_tags_in_xml(xml: str) -> str:
    """Normalise the text (not the markup) of every tag, even when split across runs."""
    xml = _SPLIT_BRACES.sub("", xml)

    def fix(match: re.Match[str]) -> str:
        pieces = _MARKUP.split(match.group(0))
        return "".join(p if p.startswith("<") else normalise_tag_text(p) for p in pieces)

    return _TAG_SPAN.sub(fix, xml)


def _docxtpl() -> Any:
    """A bare DocxTemplate: its ``patch_xml``/``resolve_listing`` use no instance state."""
    from docxtpl import DocxTemplate

    return DocxTemplate.__new__(DocxTemplate)


_PARA_START = re.compile(r"<w:p([ >])")
_PARA_MARK = re.compile(r"\n<w:p([ >])")


def patch_part_xml(xml: str) -> str:
    """The Jinja source of one part: tags normalised, docxtpl-patched, one line per paragraph.

    The line breaks before each ``<w:p`` let a Jinja line number point to a paragraph, as
    docxtpl does; they are removed again after rendering.
    """
    xml = _normalise_tags_in_xml(xml)
    xml = _docxtpl().patch_xml(xml)
    return _PARA_START.sub(r"\n<w:p\1", xml)


@dataclass
class _Paragraph:
    """A paragraph as the user sees it in Word: its text and where it sits."""

    text: str
    cell: Any  # the enclosing <w:tc>, or None
    row: Any  # the enclosing <w:tr>, or None


def _paragraphs(root: Any) -> list[_Paragraph]:
    """Text of each paragraph (runs joined), in document order, with its table context."""
    texts: dict[Any, list[str]] = {}
    for t in root.iter(W + "t"):
        p = next(t.iterancestors(W + "p"), None)
        if p is not None:
            texts.setdefault(p, []).append(t.text or "")
    out = []
    for p, parts in texts.items():
        cell = next(p.iterancestors(W + "tc"), None)
        row = next(p.iterancestors(W + "tr"), None)
        out.append(_Paragraph(normalise_tag_text("".join(parts)), cell, row))
    return out


@dataclass
class _Entry:
    """One zip entry of the template, compressed once: copied as is into every letter."""

    name: str
    data: bytes
    crc: int
    size: int
    method: int


@dataclass
class _Part:
    name: str
    source: str  # Jinja source (patched XML)
    paragraphs: list[_Paragraph]
    fix_tables: bool  # {%tc / colspan / hm used: docxtpl's fix_tables is needed


@dataclass
class PreparedTemplate:
    """A template read, checked and compiled once; renders one letter in a few ms."""

    path: Path
    tier: int
    entries: list[_Entry]
    parts: dict[str, _Part]
    compiled: dict[str, Any] = field(default_factory=dict)
    problems: list[TemplateProblem] = field(default_factory=list)
    tried: bool = False  # rendered with the sample letters (``_trial_render``)

    @property
    def name(self) -> str:
        return self.path.name

    def render(self, context: dict[str, Any], stamp: tuple[int, int]) -> bytes:
        """The .docx bytes of one letter."""
        rendered = {}
        for name, tpl in self.compiled.items():
            try:
                xml = _finish_xml(tpl.render(context), self.parts[name])
            except Exception as exc:  # noqa: BLE001 - reported in French, with the tag
                raise TemplateError(str(_render_problem(self, name, exc))) from exc
            rendered[name] = (XML_DECLARATION + xml).encode("utf-8")
        return _zip_bytes(self.entries, rendered, stamp)


def _deflate(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _problem(tpl: Path, message: str, excerpt: str = "", part: str = "") -> TemplateProblem:
    return TemplateProblem(tpl.name, message, excerpt, _part_label(part) if part else "", tpl)


def prepare_template(path: Path, tier: int) -> PreparedTemplate:
    """Read one template: zip entries, patched parts, static checks, compiled Jinja."""
    path = Path(path)
    prepared = PreparedTemplate(path, tier, [], {})
    try:
        with zipfile.ZipFile(path) as zin:
            infos = zin.infolist()
            raw = {i.filename: zin.read(i.filename) for i in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, OSError) as exc:
        reason = (
            "le fichier est introuvable ou illisible" if isinstance(exc, OSError)
            else "ce n'est pas un document Word .docx valide (fichier abîmé, protégé par mot "
            "de passe, ou enregistré dans un autre format)"
        )
        prepared.problems.append(
            _problem(path, f"{reason}. Ouvrez-le dans Word et enregistrez-le au format "
                           "« Document Word (*.docx) », sans mot de passe.")
        )
        return prepared
    if "word/document.xml" not in raw:
        prepared.problems.append(
            _problem(path, "ce fichier n'est pas un document Word (.docx) : il ne contient "
                           "pas de texte Word. Enregistrez-le depuis Word au format .docx.")
        )
        return prepared

    for info in infos:
        name, data = info.filename, raw[info.filename]
        if _TEMPLATED_PART.match(name):
            try:
                root = etree.fromstring(data)
            except etree.XMLSyntaxError:
                prepared.problems.append(
                    _problem(path, "le document est abîmé (XML illisible). Ouvrez-le dans "
                                   "Word, enregistrez-le de nouveau au format .docx.", part=name)
                )
                continue
            paragraphs = _paragraphs(root)
            if any("{" in p.text or "}" in p.text for p in paragraphs):
                xml = etree.tostring(root, encoding="unicode")
                fix = bool(re.search(r"{%\s*(hm|colspan)|{%tc ", "\n".join(
                    p.text for p in paragraphs)))
                prepared.parts[name] = _Part(name, patch_part_xml(xml), paragraphs, fix)
                prepared.entries.append(_Entry(name, b"", 0, 0, zipfile.ZIP_DEFLATED))
                continue
        if info.compress_type == zipfile.ZIP_STORED or name.endswith("/"):
            entry = _Entry(name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)
        else:
            entry = _Entry(name, _deflate(data, 6), zlib.crc32(data), len(data),
                           zipfile.ZIP_DEFLATED)
        prepared.entries.append(entry)

    for part in prepared.parts.values():
        problems = _scan_tags(path, part)
        if problems:
            prepared.problems += problems
            continue
        try:
            ast = _ENV.parse(part.source)
        except TemplateSyntaxError as exc:
            prepared.problems.append(_syntax_problem(path, part, exc))
            continue
        unknown = _unknown_variables(path, part, ast)
        if unknown:
            prepared.problems += unknown
            continue
        prepared.compiled[part.name] = _ENV.from_string(part.source)
    return prepared


# --- checks --------------------------------------------------------------------------------

_OPEN = re.compile(r"{[{%#]")
_CLOSERS = {"{": "}}", "%": "%}", "#": "#}"}
_SINGLE_BRACE = re.compile(r"(?<![{%])\{\s*([A-Za-z_][\w.]*)\s*\}(?![}%])")
_PREFIXED = re.compile(r"^{%-?(tr|tc|p|r) ")
_KEYWORD = re.compile(r"^{%-?(?:tr |tc |p |r )?\s*-?\s*([A-Za-z_]\w*)")
OPENERS = {"if", "for", "with", "filter", "macro", "call", "autoescape", "raw", "block"}
JINJA_KEYWORDS = OPENERS | {"end" + k for k in OPENERS} | {
    "elif", "else", "set", "endset", "include", "import", "from", "extends", "do", "break",
    "continue", "trans", "endtrans", "pluralize",
}
DOCXTPL_TAGS = {"colspan", "cellbg", "vm", "hm"}
PREFIX_WORDS = {"tr": "ligne de tableau", "tc": "cellule de tableau", "p": "paragraphe",
                "r": "morceau de texte"}


def _excerpt(text: str, start: int = 0, end: int | None = None, width: int = 45) -> str:
    """The paragraph text around [start, end), shortened with … at both ends."""
    end = len(text) if end is None else end
    left = max(0, start - width)
    right = min(len(text), end + width)
    out = text[left:right].strip()
    return ("…" if left > 0 else "") + out + ("…" if right < len(text) else "")


@dataclass
class _Tag:
    text: str
    keyword: str
    prefix: str
    para: _Paragraph
    index: int  # paragraph number, for "same paragraph" checks
    start: int
    end: int


def _tag_form(prefix: str, keyword: str) -> str:
    """How a tag is written: ``{%p endif %}``, ``{% elif … %}``."""
    inner = keyword + (" …" if keyword in OPENERS or keyword == "elif" else "")
    return f"{{%{prefix} {inner} %}}" if prefix else f"{{% {inner} %}}"


def _scan_tags(path: Path, part: _Part) -> list[TemplateProblem]:
    """Problems visible in the text itself: unclosed tags, misplaced {%tr/{%p, blocks."""
    problems: list[TemplateProblem] = []

    def add(message: str, para: _Paragraph, start: int = 0, end: int | None = None) -> None:
        problems.append(_problem(path, message, _excerpt(para.text, start, end), part.name))

    tags: list[_Tag] = []
    for index, para in enumerate(part.paragraphs):
        text = para.text
        rest = list(text)
        pos = 0
        while (m := _OPEN.search(text, pos)) is not None:
            start = m.start()
            closer = _CLOSERS[text[start + 1]]
            end = text.find(closer, start + 2)
            following = _OPEN.search(text, start + 2)
            if end < 0 or (following is not None and following.start() < end):
                limit = following.start() if following is not None else len(text)
                wrong = [(text.find(c, start + 2), c) for c in _CLOSERS.values()
                         if c != closer and -1 < text.find(c, start + 2) < limit]
                opener = text[start:start + 2]
                if wrong:
                    at, other = min(wrong)
                    add(f"la balise ouverte par « {opener} » est fermée par « {other} » : "
                        f"fermez-la par « {closer} ».", para, start, at + 2)
                    rest[start:at + 2] = " " * (at + 2 - start)
                    pos = at + 2
                    continue
                add(f"balise non fermée : « {opener} » sans « {closer} » dans le même "
                    f"paragraphe. Ajoutez « {closer} » à la fin de la balise (une balise "
                    "doit tenir sur une seule ligne).", para, start, start + 2)
                pos = start + 2
                continue
            end += 2
            rest[start:end] = " " * (end - start)
            tag_text = text[start:end]
            if tag_text.startswith("{%"):
                km = _KEYWORD.match(tag_text)
                pm = _PREFIXED.match(tag_text)
                tags.append(_Tag(tag_text, km.group(1) if km else "", pm.group(1) if pm else "",
                                 para, index, start, end))
            elif tag_text.strip("{} ") == "":
                add("balise vide « {{ }} » : écrivez un nom de variable entre les accolades, "
                    "ex. {{ client.nom }}, ou supprimez-la.", para, start, end)
            pos = end
        left = "".join(rest)
        for stray in ("}}", "%}"):
            i = left.find(stray)
            if i >= 0:
                add(f"« {stray} » sans ouverture « {{{stray[0]} » correspondante : une accolade "
                    "manque au début de la balise.", para, i, i + 2)
        for sm in _SINGLE_BRACE.finditer(left):
            add(f"balise avec une seule accolade « {sm.group(0)} » : elle serait imprimée telle "
                f"quelle. Écrivez {{{{ {sm.group(1)} }}}} (deux accolades de chaque côté).",
                para, sm.start(), sm.end())

    rows_with_tr: dict[Any, _Tag] = {}
    paras_with_p: dict[int, _Tag] = {}
    stack: list[_Tag] = []
    for tag in tags:
        para = tag.para
        if not tag.prefix and tag.keyword in PREFIX_WORDS:
            fixed = re.sub(r"^{%-?\s*" + tag.keyword + r"\s+", "{%" + tag.keyword + " ",
                           tag.text)
            add(f"« {tag.text} » : pas d'espace entre « {{% » et « {tag.keyword} » ; écrivez "
                f"« {fixed} ».", para, tag.start, tag.end)
            km = _KEYWORD.match(fixed)  # go on as if corrected: no cascade of problems
            tag.prefix, tag.keyword = tag.keyword, km.group(1) if km else ""
        if tag.keyword and tag.keyword not in JINJA_KEYWORDS | DOCXTPL_TAGS:
            close = difflib.get_close_matches(tag.keyword.lower(), sorted(JINJA_KEYWORDS), n=1)
            hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
            add(f"mot-clé inconnu « {tag.keyword} » dans « {tag.text} »{hint} Mots-clés "
                "possibles : if, elif, else, endif, for, endfor.", para, tag.start, tag.end)
            if close and (close[0] in OPENERS or close[0] in ("elif", "else")
                          or close[0].startswith("end")):
                tag.keyword = close[0]  # go on as if corrected: no cascade of problems
            else:
                continue
        if tag.prefix in ("tr", "tc"):
            if para.cell is None:
                add(f"« {tag.text} » n'est pas dans un tableau. Une balise {{%{tag.prefix} … %}} "
                    f"se place dans une {PREFIX_WORDS[tag.prefix]} ; dans un paragraphe "
                    f"ordinaire, utilisez {{%p … %}}.", para, tag.start, tag.end)
                continue
            if tag.prefix == "tr":
                if para.row in rows_with_tr:
                    add(f"deux balises {{%tr … %}} dans la même ligne de tableau : « "
                        f"{rows_with_tr[para.row].text} » et « {tag.text} ». Mettez chacune "
                        "dans sa propre ligne.", para, tag.start, tag.end)
                    continue
                rows_with_tr[para.row] = tag
                other = "".join(
                    p.text for p in part.paragraphs if p.row is para.row
                ).replace(tag.text, "", 1).strip()
                if other:
                    add(f"la ligne de tableau de « {tag.text} » contient aussi « "
                        f"{_excerpt(other, 0, 0, 30)} », qui serait supprimé : une ligne "
                        "{%tr … %} ne doit contenir que cette balise.", para, tag.start, tag.end)
                    continue
        if tag.prefix == "p":
            if tag.index in paras_with_p:
                add("deux balises {%p … %} dans le même paragraphe : mettez chacune seule sur "
                    "sa ligne.", para, tag.start, tag.end)
                continue
            paras_with_p[tag.index] = tag
            other = (para.text[:tag.start] + para.text[tag.end:]).strip()
            if other:
                add(f"le texte « {_excerpt(other, 0, 0, 30)} » est sur la même ligne que « "
                    f"{tag.text} » et serait supprimé : une balise {{%p … %}} doit être seule "
                    "sur sa ligne (appuyez sur Entrée avant et après).", para, tag.start,
                    tag.end)
                continue
        kw = tag.keyword
        if kw in DOCXTPL_TAGS or not kw:
            continue
        if kw in OPENERS or (kw == "set" and "=" not in tag.text):
            stack.append(tag)
            continue
        if kw not in ("elif", "else") and not kw.startswith("end"):
            continue
        expected = {kw[3:]} if kw.startswith("end") else {"if"} if kw == "elif" else {"if", "for"}
        if not stack or stack[-1].keyword not in expected:
            opening = f"{{% {kw[3:]} … %}}" if kw.startswith("end") else "{% if … %}"
            last = f" (le dernier bloc ouvert est « {stack[-1].text} »)" if stack else ""
            add(f"« {tag.text} » n'a pas de « {opening} » ouvert avant{last}. Ajoutez "
                "l'ouverture qui manque ou supprimez cette balise.", para, tag.start, tag.end)
            continue
        top = stack.pop() if kw.startswith("end") else stack[-1]
        if top.prefix != tag.prefix:
            add(f"« {tag.text} » ne va pas avec « {top.text} » : écrivez « "
                f"{_tag_form(top.prefix, kw)} », du même type que l'ouverture.",
                para, tag.start, tag.end)
            continue
        if not tag.prefix and top.index != tag.index:
            add(f"le bloc « {top.text} » … « {tag.text} » s'étend sur plusieurs paragraphes, "
                "qui seraient fusionnés. Pour afficher ou masquer des paragraphes entiers, "
                f"mettez « {_tag_form('p', top.keyword)} » et « {_tag_form('p', kw)} » chacun "
                "seul sur sa ligne ; sinon gardez l'ouverture et la fermeture dans le même "
                "paragraphe.", para, tag.start, tag.end)
            continue
        if tag.prefix == "tr" and kw.startswith("end") and top.para.row is para.row:
            add(f"« {top.text} » et « {tag.text} » sont dans la même ligne de tableau : la "
                "ligne à répéter se place entre une ligne « {%tr for … %} » et une ligne "
                "« {%tr endfor %} ».", para, tag.start, tag.end)
    for tag in stack:
        end_kw = "end" + tag.keyword
        closing = f"{{%{tag.prefix} {end_kw} %}}" if tag.prefix else f"{{% {end_kw} %}}"
        add(f"le bloc « {tag.text} » n'est jamais fermé : ajoutez « {closing} » à l'endroit où "
            "il doit se terminer.", tag.para, tag.start, tag.end)
    return problems


_SYNTAX_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"unknown tag '(end\w+|else|elif)'"),
     "« {{% {0} %}} » ne correspond à aucun bloc ouvert."),
    (re.compile(r"unknown tag '(\w+)'"),
     "mot-clé inconnu « {0} » après « {{% » ; mots-clés possibles : if, elif, else, endif, "
     "for, endfor."),
    (re.compile(r"expected token 'end of print statement', got '([^']*)'"),
     "expression incorrecte entre {{{{ et }}}} près de « {0} » : un nom de variable est attendu, "
     "avec un point entre l'objet et le champ, ex. {{{{ client.nom }}}}."),
    (re.compile(r"expected token 'end of statement block', got '([^']*)'"),
     "condition incorrecte entre {{% et %}} près de « {0} »."),
    (re.compile(r"unexpected end of template", re.I),
     "un bloc « {{% if %}} » ou « {{% for %}} » n'est pas fermé."),
    (re.compile(r"unexpected '([^']*)'"),
     "caractère inattendu « {0} » dans une balise."),
    (re.compile(r"unexpected char '([^']*)'"),
     "caractère inattendu « {0} » dans une balise (guillemets ou symbole tapé par Word ?)."),
)


def _line_text(source: str, lineno: int | None) -> str:
    """Visible text of the Jinja source line (one paragraph) at ``lineno``."""
    if not lineno:
        return ""
    lines = source.splitlines()
    if not 0 < lineno <= len(lines):
        return ""
    return re.sub(r"<[^>]+>", "", lines[lineno - 1]).strip()


def _syntax_problem(path: Path, part: _Part, exc: TemplateSyntaxError) -> TemplateProblem:
    detail = exc.message or str(exc)
    for pattern, french in _SYNTAX_HINTS:
        m = pattern.search(detail)
        if m:
            message = french.format(*m.groups())
            break
    else:
        message = f"syntaxe de balise incorrecte ({detail})."
    text = _line_text(part.source, exc.lineno)
    return _problem(path, message + " " + FIX, _excerpt(text, 0, 0, 60) if text else "",
                    part.name)


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def suggest_variable(wrong: str, loop_var: str = "f") -> str | None:
    """The known name closest to ``wrong`` (difflib), e.g. ``client_nom`` -> ``client.nom``."""
    candidates = sorted(TOP_LEVEL) + [
        f"{obj}.{f}" for obj, fields in OBJECT_FIELDS.items() for f in fields
    ] + [f"{loop_var}.{f}" for f in FACTURE_FIELDS]
    folded = {_ascii_fold(c): c for c in candidates}
    best: tuple[float, str] | None = None
    folded_wrong = _ascii_fold(wrong)
    for variant in dict.fromkeys((folded_wrong, folded_wrong.replace("_", ".", 1),
                                  folded_wrong.replace(" ", "."))):
        for match in difflib.get_close_matches(variant, list(folded), n=1, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, variant, match).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, folded[match])
    return best[1] if best else None


def _loop_targets(ast: nodes.Template) -> set[str]:
    """Names of loop variables that iterate over ``factures`` (``f`` by default)."""
    found = set()
    for loop in ast.find_all(nodes.For):
        iterated = {n.name for n in loop.iter.find_all(nodes.Name)}
        if isinstance(loop.iter, nodes.Name):
            iterated.add(loop.iter.name)
        if LOOP_LIST in iterated:
            found |= {n.name for n in loop.target.find_all(nodes.Name)} | (
                {loop.target.name} if isinstance(loop.target, nodes.Name) else set()
            )
    return found


def _attributes(ast: nodes.Template) -> list[tuple[str, str]]:
    """(object, attribute) pairs read as ``obj.attr`` or ``obj["attr"]``."""
    pairs = []
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            pairs.append((node.node.name, node.attr))
    for node in ast.find_all(nodes.Getitem):
        if isinstance(node.node, nodes.Name) and isinstance(node.arg, nodes.Const) and isinstance(
            node.arg.value, str
        ):
            pairs.append((node.node.name, node.arg.value))
    return pairs


def _where_used(part: _Part, token: str) -> str:
    """The paragraph text around the first tag that mentions ``token``."""
    pattern = re.compile(r"{[{%][^}%]*\b" + re.escape(token) + r"\b[^}%]*[}%]}")
    for para in part.paragraphs:
        m = pattern.search(para.text)
        if m:
            return _excerpt(para.text, m.start(), m.end())
    return ""


def _unknown_variables(path: Path, part: _Part, ast: nodes.Template) -> list[TemplateProblem]:
    """Names and fields the context will not have, each with the closest known name."""
    problems: list[TemplateProblem] = []
    loops = _loop_targets(ast)
    loop_var = sorted(loops)[0] if loops else "f"
    attributes = _attributes(ast)
    seen: set[str] = set()

    def report(shown: str, token: str, message: str) -> None:
        if shown in seen:
            return
        seen.add(shown)
        problems.append(_problem(path, message, _where_used(part, token), part.name))

    for name in sorted(meta.find_undeclared_variables(ast) - TOP_LEVEL - JINJA_NAMES):
        attrs = sorted({a for obj, a in attributes if obj == name})
        shown = f"{name}.{attrs[0]}" if attrs else name
        if name == "f" or (attrs and set(attrs) <= set(FACTURE_FIELDS)):
            report(shown, name, (
                f"{{{{ {shown} }}}} est un champ d'une ligne du tableau des factures : il ne "
                "s'utilise que dans la ligne répétée, entre « {%tr for f in factures %} » et "
                "« {%tr endfor %} »."
            ))
            continue
        suggestion = suggest_variable(shown, loop_var)
        hint = (f" ; vouliez-vous dire {{{{ {suggestion} }}}} ?" if suggestion
                else " (voir la liste des variables).")
        case = (" Attention aux majuscules : Word en ajoute parfois tout seul en début de "
                "phrase." if suggestion and suggestion.lower() == shown.lower()
                and suggestion != shown else "")
        report(shown, name, f"{{{{ {shown} }}}} n'existe pas{hint}{case}")
    for obj, attr in attributes:
        if obj in OBJECT_FIELDS:
            fields = OBJECT_FIELDS[obj]
        elif obj in loops:
            fields = FACTURE_FIELDS
        else:
            continue
        if attr in fields:
            continue
        shown = f"{obj}.{attr}"
        close = difflib.get_close_matches(_ascii_fold(attr), list(fields), n=1, cutoff=0.5)
        hint = (f" ; vouliez-vous dire {{{{ {obj}.{close[0]} }}}} ?" if close else
                f" ; champs possibles : {', '.join(obj + '.' + f for f in fields)}.")
        report(shown, attr, f"{{{{ {shown} }}}} n'existe pas{hint}")
    return problems


def _template_line(exc: BaseException) -> int | None:
    """Line (paragraph) of the Jinja source where a render error happened."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def _render_problem(
    prepared: PreparedTemplate, name: str, exc: BaseException
) -> TemplateProblem:
    part = prepared.parts[name]
    text = _line_text(part.source, _template_line(exc))
    if isinstance(exc, UndefinedError):
        detail = exc.message or ""
        m = re.search(r"has no attribute '([^']+)'", detail) or re.search(
            r"'([^']+)' is undefined", detail)
        message = (f"« {m.group(1)} » n'existe pas à cet endroit (voir la liste des variables)."
                   if m else "variable ou champ inconnu.")
    elif isinstance(exc, SecurityError):
        message = "opération non autorisée dans une balise (seuls l'affichage de variables, " \
                  "les conditions et les boucles sont permis)."
    else:
        message = f"la balise ne peut pas être calculée ({type(exc).__name__} : {exc})."
    return _problem(prepared.path, message + " " + FIX, _excerpt(text, 0, 0, 60), name)


def _trial_render(prepared: PreparedTemplate) -> list[TemplateProblem]:
    """Render with sample letters (business/consumer, full/empty settings): errors, bad XML."""
    problems: list[TemplateProblem] = []
    for context in sample_contexts(prepared.tier):
        for name, tpl in prepared.compiled.items():
            try:
                xml = _finish_xml(tpl.render(context), prepared.parts[name])
            except Exception as exc:  # noqa: BLE001 - any template failure is reported
                problems.append(_render_problem(prepared, name, exc))
                return problems
            try:
                etree.fromstring(xml.encode("utf-8"))
            except etree.XMLSyntaxError:
                problems.append(_problem(
                    prepared.path,
                    "le modèle produit un document Word abîmé. Cause probable : une balise "
                    "{% if %}/{% for %} ouverte dans une cellule de tableau ou un paragraphe et "
                    "fermée dans un autre. Utilisez {%tr … %} pour répéter ou masquer des "
                    "lignes de tableau et {%p … %} pour des paragraphes entiers.",
                    part=name,
                ))
                return problems
    return problems


_CACHE: dict[tuple[str, int, int, int], PreparedTemplate] = {}


def _prepared(path: Path, tier: int, *, trial: bool = True) -> PreparedTemplate:
    """Prepared template, cached per process while the file does not change."""
    try:
        st = Path(path).stat()
        key = (str(Path(path).resolve()), tier, st.st_mtime_ns, st.st_size)
    except OSError:
        key = (str(path), tier, 0, 0)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = prepare_template(Path(path), tier)
    if trial and not cached.tried:
        if not cached.problems:
            cached.problems += _trial_render(cached)
        cached.tried = True
    return cached


def check_templates(folder: Path | None, tiers: Iterable[int] = (1, 2, 3)) -> list[TemplateProblem]:
    """Every problem of the templates of ``tiers`` (user's folder, else shipped), in French."""
    paths, _warnings, problems = _locate(folder, tiers)
    for tier, path in paths.items():
        problems += _prepared(path, tier).problems
    return problems


def template_warnings(folder: Path | None, tiers: Iterable[int] = (1, 2, 3)) -> list[str]:
    """French warnings about templates taken from the shipped ones (missing in ``folder``)."""
    return _locate(folder, tiers)[1]


def require_templates(
    folder: Path | None, tiers: Iterable[int] = (1, 2, 3)
) -> tuple[dict[int, Path], list[str]]:
    """Template per tier and warnings; raises ``TemplateError`` listing every problem."""
    paths, warnings, problems = _locate(folder, tiers)
    for tier, path in paths.items():
        problems += _prepared(path, tier).problems
    if problems:
        count = len(problems)
        raise TemplateError(
            f"{count} problème{'s' if count > 1 else ''} dans les modèles de courriers ; aucun "
            "courrier n'a été écrit.\n\n"
            + "\n\n".join(str(p) for p in problems)
            + "\n\n" + WHAT_TO_DO
        )
    return paths, warnings


# --- rendering one part --------------------------------------------------------------------

# A <w:t> holding a line break from the data (addresses): docxtpl's resolve_listing does the
# same for every paragraph and costs ~3 ms per letter; tabs and other control characters
# never reach here (``clean_text``).
_TEXT_WITH_NEWLINE = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*\n[^<]*)(</w:t>)")


def _line_breaks(m: re.Match[str]) -> str:
    opening = m.group(1)
    if "xml:space" not in opening:
        opening = '<w:t xml:space="preserve">'
    inner = m.group(2).replace("\n", '</w:t><w:br/><w:t xml:space="preserve">')
    return opening + inner + m.group(3)


_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
_JINJA_ESCAPES = (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}"))


def _finish_xml(xml: str, part: _Part) -> str:
    """docxtpl's post-processing, only the steps the rendered text needs."""
    xml = _PARA_MARK.sub(r"<w:p\1", xml)
    for old, new in _JINJA_ESCAPES:
        if old in xml:
            xml = xml.replace(old, new)
    if "\n" in xml:
        xml = _TEXT_WITH_NEWLINE.sub(_line_breaks, xml)
    if part.fix_tables:
        xml = etree.tostring(_docxtpl().fix_tables(xml), encoding="unicode")
    if part.name == "word/document.xml" and "<wp:docPr" in xml:  # images repeated by a loop
        counter = iter(range(1001, 10**9))
        xml = _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(3)}", xml)
    return xml


def _make_env() -> ImmutableSandboxedEnvironment:
    """Sandboxed (templates are user files), autoescaped (&, <, >), strict (no silent blanks)."""
    return ImmutableSandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )


_ENV = _make_env()


# --- the zip writer ------------------------------------------------------------------------


def _dos_stamp(moment: datetime) -> tuple[int, int]:
    """(time, date) in the MS-DOS format of zip headers."""
    year = max(1980, moment.year)
    return (
        (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2),
        ((year - 1980) << 9) | (moment.month << 5) | moment.day,
    )


def _zip_bytes(
    entries: Sequence[_Entry], rendered: dict[str, bytes], stamp: tuple[int, int], level: int = 1
) -> bytes:
    """A .docx: the template's entries in order, rendered parts compressed at ``level``."""
    dostime, dosdate = stamp
    out = bytearray()
    central = bytearray()
    for entry in entries:
        if entry.name in rendered:
            data = rendered[entry.name]
            entry = _Entry(entry.name, _deflate(data, level), zlib.crc32(data), len(data),
                           zipfile.ZIP_DEFLATED)
        name = entry.name.encode("utf-8")
        flags = 0 if entry.name.isascii() else 0x800
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, entry.method, dostime,
                           dosdate, entry.crc, len(entry.data), entry.size, len(name), 0)
        out += name
        out += entry.data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, entry.method,
                               dostime, dosdate, entry.crc, len(entry.data), entry.size,
                               len(name), 0, 0, 0, 0, 0, offset)
        central += name
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       start, 0)
    return bytes(out)


# --- the context of one letter -------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
NBSP = "\u00a0"


def clean_text(value: Any, multiline: bool = False) -> str:
    """Text safe for Word XML: no control characters; line breaks kept only if ``multiline``."""
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    text = str(value)
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




def letter_context(
    letter: PlannedLetter, settings: Settings, amounts: LetterAmounts | None = None
) -> dict[str, Any]:
    """The template variables of one letter (see ``VARIABLES``), formatted for print."""
    if amounts is None:
        amounts = letter_amounts(letter, settings)
    money = amounts_context(letter, amounts)
    per_line = money.pop("factures_montants")
    soc = settings.societe
    societe = {k: clean_text(getattr(soc, k), multiline=k == "adresse") for k in SOCIETE_FIELDS}
    client = {
        "nom": clean_text(letter.client),
        "code": clean_text(letter.code_client),
        "contact": clean_text(letter.contact),
        "adresse": clean_text(letter.adresse, multiline=True),
        "code_postal": clean_text(letter.code_postal),
        "ville": clean_text(letter.ville),
        "email": clean_text(letter.email),
        "telephone": clean_text(letter.telephone),
    }
    factures = []
    for line, extra in zip(letter.lignes, per_line, strict=True):
        credit = bool(line.avoir or line.reste_du < 0)
        regle = line.montant_regle
        if regle is None and line.montant_ttc is not None and not credit:
            regle = line.montant_ttc - line.reste_du
        if credit and not regle:
            regle = None  # nothing is "paid" on a credit note: leave the cell empty
        days = int(extra.get("jours_retard") or 0)
        factures.append({
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
        })
    numbers = [clean_text(n) for n in letter.numeros]
    context: dict[str, Any] = {
        "societe": societe,
        "client": client,
        "lieu": societe["ville"],
        "date_courrier": format_date_long(letter.date),
        "niveau": tier_of(letter.niveau).label,
        "numero_relance": letter.niveau,
        "objet": f"{tier_of(letter.niveau).subject} – {_invoice_phrase(numbers)}",
        "numeros_factures": ", ".join(numbers),
        "nombre_factures": len(numbers),
        "date_courrier_precedent": format_date_long(letter.date_precedent),
        "particulier": bool(amounts.particulier),
        "factures": factures,
    }
    for key, value in money.items():
        context[key] = clean_text(value) if isinstance(value, str) else value
    return context


# --- samples (checks, documentation, tests) ------------------------------------------------

SAMPLE_SOCIETE = Societe(
    nom="Menuiserie Martin SARL",
    adresse="4 avenue de la Gare\nZone artisanale des Glaises",
    code_postal="38000",
    ville="Grenoble",
    telephone="04 76 00 00 00",
    email="compta@menuiserie-martin.fr",
    siret="123 456 789 00012",
    iban="FR76 3000 6000 0112 3456 7890 189",
    bic="AGRIFRPPXXX",
    signataire="Claire Martin",
    fonction="Responsable comptabilité clients",
)


def sample_letter(tier: int = 2, particulier: bool = False) -> PlannedLetter:
    """A realistic letter: two late invoices (one partly paid) and a credit note."""
    d = Decimal
    lines = (
        LetterLine("F2026-001", date(2026, 9, 15), date(2026, 10, 15), d("2400.00"),
                   d("1000.00"), d("1400.00"), 39, False, 2),
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
        date_precedent=date(2026, 11, 9) if tier > 1 else None,
    )


def sample_contexts(tier: int) -> list[dict[str, Any]]:
    """Contexts that visit every branch of a template: business client with every setting
    filled, the same with penalties shown or hidden against the default, consumer with
    empty settings."""
    full = Settings(societe=SAMPLE_SOCIETE)
    flipped = () if tier_of(tier).key in full.montants.afficher_penalites else LETTER_KEYS
    toggled = dataclasses.replace(
        full, montants=dataclasses.replace(full.montants, afficher_penalites=flipped)
    )
    bare = Settings(societe=Societe(nom="Société", ville=""))
    business = sample_letter(tier)
    consumer = dataclasses.replace(sample_letter(tier, particulier=True), contact="",
                                   code_client="", date_precedent=None)

    def context(letter: PlannedLetter, settings: Settings) -> dict[str, Any]:
        amounts = letter_amounts(letter, settings, is_business_day=lambda d: d.weekday() < 5)
        return letter_context(letter, settings, amounts)

    return [context(business, full), context(business, toggled), context(consumer, bare)]


# --- file names ----------------------------------------------------------------------------

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


def letter_filenames(letters: Sequence[PlannedLetter]) -> list[str]:
    """Unique names (case-insensitive, as Windows compares them): client code, then (2), (3)."""
    names = [letter_filename(x.client, x.niveau, x.date) for x in letters]

    def key(name: str) -> str:
        return unicodedata.normalize("NFC", name).casefold()

    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(key(name), []).append(i)
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
        while key(name) in seen:
            name = letter_filename(letters[i].client, letters[i].niveau, letters[i].date,
                                   f" ({n})")
            n += 1
        names[i] = name
        seen.add(key(name))
    return names


# --- rendering many letters ----------------------------------------------------------------

# Fewer letters than this: no worker processes, their start-up costs more. A forked worker
# starts in ~20 ms; a spawned one (Windows, macOS) re-imports pandas, about a second.
SERIAL_BELOW = {"fork": 40}
SERIAL_BELOW_SPAWN = 400


@dataclass
class _RunTools:
    """What every letter of a run needs, built once per process."""

    settings: Settings
    templates: dict[int, PreparedTemplate]
    table: Any
    business_day: Callable[[date], bool]


_WORKER: dict[str, _RunTools] = {}


def _run_tools(settings: Settings, paths: dict[int, Path]) -> _RunTools:
    table = None
    if settings.montants.taux_penalites is None:
        table = load_rate_table()
    return _RunTools(
        settings=settings,
        templates={tier: _prepared(Path(p), tier, trial=False) for tier, p in paths.items()},
        table=table,
        business_day=default_business_day(settings.subdivision),
    )


def _worker_init(settings: Settings, paths: dict[int, str]) -> None:
    _WORKER["tools"] = _run_tools(settings, {t: Path(p) for t, p in paths.items()})


def _write_atomic(target: Path, data: bytes, index: int = 0) -> None:
    """Write ``data`` to a temporary file beside ``target``, then replace it in one step."""
    try:
        write_bytes_atomic(target, data)
    except PermissionError as exc:
        raise RelanceError(
            f"Impossible d'écrire le courrier « {target.name} » : le fichier est peut-être "
            "ouvert dans Word. Fermez-le, puis relancez."
        ) from exc


def _render_chunk(
    items: Sequence[tuple[int, PlannedLetter, str, LetterAmounts | None]],
    out_dir: str,
    stamp: tuple[int, int],
    tools: _RunTools | None = None,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Render and write some letters; returns (index, path, amount warnings) for each."""
    tools = tools or _WORKER["tools"]
    done = []
    for index, letter, filename, given in items:
        amounts = given or letter_amounts(letter, tools.settings, tools.table,
                                          is_business_day=tools.business_day)
        context = letter_context(letter, tools.settings, amounts)
        try:
            data = tools.templates[letter.niveau].render(context, stamp)
        except TemplateError as exc:
            raise TemplateError(
                f"Courrier de « {letter.client} » : {exc.message}\nLes courriers suivants "
                "n'ont pas été écrits."
            ) from exc
        target = Path(out_dir) / filename
        _write_atomic(target, data, index)
        done.append((index, str(target), amounts.warnings))
    return done


def _picklable(settings: Settings) -> Settings:
    """Settings without MappingProxyType (not picklable), for worker processes."""
    return dataclasses.replace(
        settings, colonnes=dict(settings.colonnes), taux_bce=dict(settings.taux_bce)
    )


def render_letters(
    letters: Sequence[PlannedLetter],
    settings: Settings,
    out_dir: Path,
    *,
    jobs: int | None = None,
    amounts: Sequence[LetterAmounts] = (),
) -> RenderResult:
    """Write one .docx per letter into ``out_dir``, in the order of ``letters``.

    ``amounts`` (aligned with ``letters``) are the pipeline's; computed here when absent.

    The templates of the tiers used are checked first: on any problem a ``TemplateError``
    lists them all and nothing is written.
    """
    tiers = sorted({x.niveau for x in letters}) or [1, 2, 3]
    paths, warnings = require_templates(settings.modeles_dossier, tiers)
    if not letters:
        return RenderResult((), tuple(warnings), paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = letter_filenames(letters)
    given = list(amounts) if len(amounts) == len(letters) else [None] * len(letters)
    items = [(i, letter, names[i], given[i]) for i, letter in enumerate(letters)]
    # the letter date, not the clock: a same-date re-run writes byte-identical files
    stamp = _dos_stamp(datetime.combine(letters[0].date, datetime.min.time()))
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    results: list[tuple[int, str, tuple[str, ...]]] = []
    method = (multiprocessing.get_start_method(allow_none=True)
              or multiprocessing.get_all_start_methods()[0])  # the default, without fixing it
    threshold = SERIAL_BELOW.get(method, SERIAL_BELOW_SPAWN)
    if jobs > 1 and len(letters) >= threshold:
        results = _render_parallel(items, settings, paths, out_dir, stamp, jobs)
    if not results:
        results = _render_chunk(items, str(out_dir), stamp, _run_tools(settings, paths))
    files: list[Path | None] = [None] * len(letters)
    for index, file, amount_warnings in results:
        files[index] = Path(file)
        warnings += [w for w in amount_warnings if w not in warnings]
    return RenderResult(tuple(f for f in files if f is not None), tuple(warnings), paths)


def _render_parallel(
    items: list[tuple[int, PlannedLetter, str, LetterAmounts | None]],
    settings: Settings,
    paths: dict[int, Path],
    out_dir: Path,
    stamp: tuple[int, int],
    jobs: int,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Share the letters among ``jobs`` processes; [] when processes cannot be used here."""
    size = max(10, -(-len(items) // (jobs * 4)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    try:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            initializer=_worker_init,
            initargs=(_picklable(settings), {t: str(p) for t, p in paths.items()}),
        )
    except (OSError, ValueError, NotImplementedError, ImportError):
        return []
    results: list[tuple[int, str, tuple[str, ...]]] = []
    try:
        with pool:
            futures = [pool.submit(_render_chunk, chunk, str(out_dir), stamp)
                       for chunk in chunks]
            for future in futures:
                results += future.result()
    except concurrent.futures.process.BrokenProcessPool:
        return []  # e.g. no fork/spawn allowed: the caller renders everything in-process
    return results


# --- listing -------------------------------------------------------------------------------


def variables_table() -> str:
    """The variables as French text, grouped, for ``relance-xlsx modeles --variables``."""
    width = max(len(v.name) for v in VARIABLES) + 8
    out = [
        "Variables utilisables dans les modèles de courriers Word",
        "Écrivez-les entre doubles accolades : {{ client.nom }}",
        "",
    ]
    group = None
    for v in VARIABLES:
        if v.group != group:
            group = v.group
            out += ["", group, "-" * min(len(group), 80)]
        indent = " " * (width + 1)
        lines = textwrap.wrap(v.description, 100, initial_indent=f"  {{{{ {v.name} }}}}"
                              .ljust(width) + " ", subsequent_indent=indent)
        example = f"ex. : {v.example}" if v.example else ""
        if example and len(lines[-1]) + 3 + len(example) <= 100:
            lines[-1] += "   " + example
        elif example:
            lines += textwrap.wrap(example, 100, initial_indent=indent, subsequent_indent=indent)
        out += lines
    out += [
        "",
        "Tableau des factures : une ligne de tableau contenant seulement",
        "  {%tr for f in factures %}, puis la ligne avec {{ f.numero }}, {{ f.reste_du }}…,",
        "  puis une ligne contenant seulement {%tr endfor %}.",
        "Paragraphe affiché sous condition : {%p if afficher_penalites %} seul sur sa ligne,",
        "  les paragraphes, puis {%p endif %} seul sur sa ligne.",
        "Guide complet : VARIABLES.md, à côté des modèles fournis.",
    ]
    return "\n".join(out)
