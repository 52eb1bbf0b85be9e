"""Where the templates are, and each one read, checked and compiled once.

The user's folder (``[modeles] dossier``) comes first; a template missing there is taken from
the shipped ones, with a warning. A template is read once per process while its file does
not change (``prepared``): its zip entries compressed once, its parts patched and compiled
by Jinja once, its problems found once. ``require_templates`` raises before any letter is
written when one of them has a problem.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree

from ..errors import TemplateError
from ..tiers import LETTER_LEVELS, LETTER_TIERS
from ..tiers import tier as tier_of
from .checks import (
    LimitError,
    TemplateProblem,
    make_problem,
    render_problem,
    scan_tags,
    syntax_problem,
    trial_render,
    unknown_variables,
)
from .docx import (
    TEMPLATED_PART,
    XML_DECLARATION_BYTES,
    Entry,
    Part,
    finish_xml,
    stored_entry,
    templated_part,
    zip_bytes,
)
from .qr import QR_MEDIA, QrImage, add_qr_slot

WHAT_TO_DO = (
    "Ouvrez le modèle dans Word, corrigez la balise (voir VARIABLES.md, à côté des modèles "
    "fournis, ou la commande « relance-xlsx modeles --variables »), enregistrez, puis relancez."
)
OTHER_FORMATS = {".doc", ".dotx", ".odt", ".docm", ".rtf"}


# --- where the templates are -------------------------------------------------------------------


def default_templates_dir() -> Path:
    """The shipped templates: in the installed package, else the repository's folder."""
    candidates: list[Path] = []
    try:
        from importlib import resources

        res = resources.files("relance_xlsx.templates_word")
        candidates.append(Path(str(res)))
    except (ImportError, ModuleNotFoundError, TypeError, ValueError):
        pass
    package = Path(__file__).resolve().parent.parent  # relance_xlsx/
    candidates += [package / "templates_word", package.parent / "templates_word"]
    for folder in candidates:
        if (folder / LETTER_TIERS[0].template).is_file():
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


def _fallback_warning(folder: Path, level: int) -> str:
    """The user's folder lacks this tier's template: say so, and spot a .doc/.odt copy."""
    filename = tier_of(level).template
    stem = Path(filename).stem
    others = sorted(p.name for p in folder.glob(f"{stem}.*") if p.suffix.lower() in OTHER_FORMATS)
    hint = (
        f" (« {others[0]} » n'est pas au format .docx : dans Word, « Enregistrer "
        "sous » › « Document Word (*.docx) »)" if others else ""
    )
    return (
        f"Modèle « {filename} » absent du dossier {folder}{hint} : le modèle fourni "
        f"est utilisé pour les courriers « {tier_of(level).label} »."
    )


def _locate(
    folder: Path | None, tiers: Iterable[int]
) -> tuple[dict[int, Path], list[str], list[TemplateProblem]]:
    """Template path per tier: the user's folder first, else the shipped one (warning)."""
    default = default_templates_dir()
    paths: dict[int, Path] = {}
    warnings: list[str] = []
    problems: list[TemplateProblem] = []
    if folder is not None and not Path(folder).is_dir():
        message = (
            f"Dossier de modèles introuvable : {folder}\nCorrigez le chemin dans les "
            "réglages ([modeles] dossier), ou laissez dossier = \"\" pour utiliser les "
            "modèles fournis."
        )
        return paths, warnings, [TemplateProblem("", message, path=Path(folder))]
    for level in sorted(set(tiers)):
        filename = tier_of(level).template
        found = _find_in_folder(Path(folder), filename) if folder is not None else None
        if found is None and folder is not None:
            warnings.append(_fallback_warning(Path(folder), level))
        if found is None:
            found = default / filename
            if not found.is_file():
                problems.append(TemplateProblem(
                    filename,
                    f"le modèle fourni est introuvable ({found}). Réinstallez relance-xlsx ou "
                    "indiquez votre propre dossier de modèles.",
                    path=found,
                ))
                continue
        paths[level] = found
    return paths, warnings, problems


# --- one template, prepared --------------------------------------------------------------------


MAX_VALUE_LENGTH = 100_000  # characters (or items) a tag may produce by repetition
MAX_EXPONENT = 64


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` bounded: ``{{ 'a' * 3000000000 }}`` would take
    gigabytes and ``{{ 7 ** 999999999 }}`` would never end."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``f.numero`` on a context dict: its key at once. Jinja tries the attribute first
        and gets an exception for every field a letter prints; a dict has no attribute but
        its methods, so the answer is the same."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) \
                        and len(seq) * n > MAX_VALUE_LENGTH:  # fmt: skip
                    raise LimitError("une balise fabrique un texte de plus de "
                                     f"{MAX_VALUE_LENGTH} caractères (un texte multiplié) : "
                                     "trop long pour un courrier.")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise LimitError(f"une balise calcule une puissance de plus de {MAX_EXPONENT} : "
                             "trop grand.")
        return super().call_binop(context, operator, left, right)


def _make_env() -> ImmutableSandboxedEnvironment:
    """Sandboxed (templates are user files), autoescaped (&, <, >), strict (no silent blanks),
    with repetition and powers bounded."""
    return _Sandbox(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


_ENV = _make_env()


@dataclass
class PreparedTemplate:
    """A template read, checked and compiled once; renders one letter in a few ms."""

    path: Path
    tier: int
    entries: list[Entry]
    parts: dict[str, Part]
    compiled: dict[str, Any] = field(default_factory=dict)
    problems: list[TemplateProblem] = field(default_factory=list)
    tried: bool = False  # rendered with the sample letters (``trial_render``)

    @property
    def name(self) -> str:
        return self.path.name

    def render(self, context: dict[str, Any], stamp: tuple[int, int]) -> bytes:
        """The .docx bytes of one letter."""
        rendered = {}
        for name, tpl in self.compiled.items():
            try:
                xml = finish_xml(tpl.render(context), self.parts[name])
            except Exception as exc:  # noqa: BLE001 - reported in French, with the tag
                raise TemplateError(str(render_problem(self, name, exc))) from exc
            rendered[name] = XML_DECLARATION_BYTES + xml
        qr = context.get("qr_paiement")
        if isinstance(qr, QrImage):  # the letter's code replaces the template's blank image
            rendered[QR_MEDIA] = qr.png
        return zip_bytes(self.entries, rendered, stamp)


def _read_zip(path: Path) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]] | TemplateProblem:
    """The template's entries and their bytes, or why it is no Word document."""
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
        return make_problem(path, f"{reason}. Ouvrez-le dans Word et enregistrez-le au format "
                                  "« Document Word (*.docx) », sans mot de passe.")
    if "word/document.xml" not in raw:
        return make_problem(path, "ce fichier n'est pas un document Word (.docx) : il ne "
                                  "contient pas de texte Word. Enregistrez-le depuis Word au "
                                  "format .docx.")
    return infos, raw


def _load_entries(prepared: PreparedTemplate, infos: list[zipfile.ZipInfo],
                  raw: dict[str, bytes]) -> None:
    """Split the entries: parts with tags (compiled later) and the rest, compressed once."""
    for info in infos:
        name, data = info.filename, raw[info.filename]
        if TEMPLATED_PART.match(name):
            try:
                root = etree.fromstring(data)
            except etree.XMLSyntaxError:
                prepared.problems.append(make_problem(
                    prepared.path, "le document est abîmé (XML illisible). Ouvrez-le dans "
                    "Word, enregistrez-le de nouveau au format .docx.", part=name))
                continue
            part = templated_part(name, root)
            if part is not None:
                prepared.parts[name] = part
                prepared.entries.append(Entry(name, b"", 0, 0, zipfile.ZIP_DEFLATED))
                continue
        prepared.entries.append(stored_entry(name, data, info.compress_type))


def _compile_parts(prepared: PreparedTemplate) -> None:
    """Check each part (text, syntax, names) and compile the ones without a problem."""
    path = prepared.path
    for part in prepared.parts.values():
        problems = scan_tags(path, part)
        if problems:
            prepared.problems += problems
            continue
        try:
            ast = _ENV.parse(part.source)
        except TemplateSyntaxError as exc:
            prepared.problems.append(syntax_problem(path, part, exc))
            continue
        unknown = unknown_variables(path, part, ast)
        if unknown:
            prepared.problems += unknown
            continue
        prepared.compiled[part.name] = _ENV.from_string(ast)  # parsed once, not twice


def prepare_template(path: Path, tier: int) -> PreparedTemplate:
    """Read one template: zip entries, patched parts, static checks, compiled Jinja."""
    path = Path(path)
    prepared = PreparedTemplate(path, tier, [], {})
    read = _read_zip(path)
    if isinstance(read, TemplateProblem):
        prepared.problems.append(read)
        return prepared
    _load_entries(prepared, *read)
    if any("qr_paiement" in part.source for part in prepared.parts.values()):
        prepared.entries = add_qr_slot(prepared.entries)
    _compile_parts(prepared)
    return prepared


_CACHE: dict[tuple[str, int, int, int], PreparedTemplate] = {}


def prepared(path: Path, tier: int, *, trial: bool = True) -> PreparedTemplate:
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
            cached.problems += trial_render(cached)
        cached.tried = True
    return cached


# --- what the pipeline and the CLI ask -----------------------------------------------------------


def check_templates(
    folder: Path | None, tiers: Iterable[int] = LETTER_LEVELS
) -> list[TemplateProblem]:
    """Every problem of the templates of ``tiers`` (user's folder, else shipped), in French."""
    paths, _warnings, problems = _locate(folder, tiers)
    for level, path in paths.items():
        problems += prepared(path, level).problems
    return problems


def template_warnings(folder: Path | None, tiers: Iterable[int] = LETTER_LEVELS) -> list[str]:
    """French warnings about templates taken from the shipped ones (missing in ``folder``)."""
    return _locate(folder, tiers)[1]


def require_templates(
    folder: Path | None, tiers: Iterable[int] = LETTER_LEVELS
) -> tuple[dict[int, Path], list[str]]:
    """Template per tier and warnings; raises ``TemplateError`` listing every problem."""
    paths, warnings, problems = _locate(folder, tiers)
    for level, path in paths.items():
        problems += prepared(path, level).problems
    if problems:
        count = len(problems)
        raise TemplateError(
            f"{count} problème{'s' if count > 1 else ''} dans les modèles de courriers ; aucun "
            "courrier n'a été écrit.\n\n"
            + "\n\n".join(str(p) for p in problems)
            + "\n\n" + WHAT_TO_DO
        )
    return paths, warnings
