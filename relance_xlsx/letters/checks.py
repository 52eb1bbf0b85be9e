"""The template checker: every problem of a Word template, explained in French.

Templates are edited in Word by people who never saw Jinja, so every problem is found before
any letter is written and said with the template, the part ("en-tête"…), the text around
the tag as the user sees it in Word, and what to do. Four passes: the text itself
(``scan_tags``: unclosed tags, misplaced ``{%tr``/``{%p``, unbalanced blocks), Jinja's parser
(``syntax_problem``), the names against the catalogue (``unknown_variables``), then a trial
render with sample letters (``trial_render``).
"""

from __future__ import annotations

import difflib
import re
import traceback
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2 import meta as jinja_meta
from jinja2.exceptions import SecurityError, UndefinedError
from lxml import etree

from .context import sample_contexts
from .docx import Paragraph, Part, finish_xml, part_label
from .variables import FACTURE_FIELDS, JINJA_NAMES, LOOP_LIST, OBJECT_FIELDS, TOP_LEVEL


class LimitError(SecurityError):
    """A tag that would build a huge value or number (the sandbox's bounds): in French."""

if TYPE_CHECKING:
    from .templates import PreparedTemplate

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


def make_problem(tpl: Path, message: str, excerpt: str = "", part: str = "") -> TemplateProblem:
    """A problem of template ``tpl``, in part ``part`` (a zip entry name) when given."""
    return TemplateProblem(tpl.name, message, excerpt, part_label(part) if part else "", tpl)


def excerpt(text: str, start: int = 0, end: int | None = None, width: int = 45) -> str:
    """The paragraph text around [start, end), shortened with … at both ends."""
    end = len(text) if end is None else end
    left = max(0, start - width)
    right = min(len(text), end + width)
    out = text[left:right].strip()
    return ("…" if left > 0 else "") + out + ("…" if right < len(text) else "")


# --- the text itself ---------------------------------------------------------------------------

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


@dataclass
class _Tag:
    text: str
    keyword: str
    prefix: str
    para: Paragraph
    index: int  # paragraph number, for "same paragraph" checks
    start: int
    end: int


def _tag_form(prefix: str, keyword: str) -> str:
    """How a tag is written: ``{%p endif %}``, ``{% elif … %}``."""
    inner = keyword + (" …" if keyword in OPENERS or keyword == "elif" else "")
    return f"{{%{prefix} {inner} %}}" if prefix else f"{{% {inner} %}}"


def scan_tags(path: Path, part: Part) -> list[TemplateProblem]:
    """Problems visible in the text itself: unclosed tags, misplaced {%tr/{%p, blocks."""
    return _TagScanner(path, part).scan()


class _TagScanner:
    """One pass over a part's paragraphs, then over its ``{% %}`` tags in order.

    After a mistake it recognises (``{% tr``, ``{% iff``) it goes on as if the tag were
    corrected, so one slip gives one message, not a cascade.
    """

    def __init__(self, path: Path, part: Part) -> None:
        self.path = path
        self.part = part
        self.problems: list[TemplateProblem] = []
        self.rows_with_tr: dict[Any, _Tag] = {}
        self.paras_with_p: dict[int, _Tag] = {}
        self.stack: list[_Tag] = []  # the blocks open so far

    def add(self, message: str, para: Paragraph, start: int = 0, end: int | None = None) -> None:
        self.problems.append(make_problem(self.path, message, excerpt(para.text, start, end),
                                          self.part.name))

    def scan(self) -> list[TemplateProblem]:
        tags: list[_Tag] = []
        for index, para in enumerate(self.part.paragraphs):
            tags += self._tags_of(index, para)
        for tag in tags:
            if self._keyword_ok(tag) and self._placement_ok(tag):
                self._nest(tag)
        for tag in self.stack:
            end_kw = "end" + tag.keyword
            closing = f"{{%{tag.prefix} {end_kw} %}}" if tag.prefix else f"{{% {end_kw} %}}"
            self.add(f"le bloc « {tag.text} » n'est jamais fermé : ajoutez « {closing} » à "
                     "l'endroit où il doit se terminer.", tag.para, tag.start, tag.end)
        return self.problems

    # --- one paragraph's text

    def _tags_of(self, index: int, para: Paragraph) -> list[_Tag]:
        """The complete ``{% %}`` tags of one paragraph; unclosed, empty, stray ones reported."""
        text = para.text
        rest = list(text)  # the text with every tag blanked out, for the stray checks
        tags: list[_Tag] = []
        pos = 0
        while (m := _OPEN.search(text, pos)) is not None:
            start = m.start()
            closer = _CLOSERS[text[start + 1]]
            end = text.find(closer, start + 2)
            following = _OPEN.search(text, start + 2)
            if end < 0 or (following is not None and following.start() < end):
                limit = following.start() if following is not None else len(text)
                pos = self._unclosed(para, start, closer, limit, rest)
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
                self.add("balise vide « {{ }} » : écrivez un nom de variable entre les "
                         "accolades, ex. {{ client.nom }}, ou supprimez-la.", para, start, end)
            pos = end
        self._strays(para, "".join(rest))
        return tags

    def _unclosed(self, para: Paragraph, start: int, closer: str, limit: int,
                  rest: list[str]) -> int:
        """A tag closed by another closer, or not at all, before ``limit``; where to go on."""
        text = para.text
        wrong = [(text.find(c, start + 2), c) for c in _CLOSERS.values()
                 if c != closer and -1 < text.find(c, start + 2) < limit]
        opener = text[start:start + 2]
        if wrong:
            at, other = min(wrong)
            self.add(f"la balise ouverte par « {opener} » est fermée par « {other} » : "
                     f"fermez-la par « {closer} ».", para, start, at + 2)
            rest[start:at + 2] = " " * (at + 2 - start)
            return at + 2
        self.add(f"balise non fermée : « {opener} » sans « {closer} » dans le même "
                 f"paragraphe. Ajoutez « {closer} » à la fin de la balise (une balise "
                 "doit tenir sur une seule ligne).", para, start, start + 2)
        return start + 2

    def _strays(self, para: Paragraph, left: str) -> None:
        """Closers without an opener, and ``{name}`` with single braces, outside any tag."""
        for stray in ("}}", "%}"):
            i = left.find(stray)
            if i >= 0:
                self.add(f"« {stray} » sans ouverture « {{{stray[0]} » correspondante : une "
                         "accolade manque au début de la balise.", para, i, i + 2)
        for sm in _SINGLE_BRACE.finditer(left):
            self.add(f"balise avec une seule accolade « {sm.group(0)} » : elle serait imprimée "
                     f"telle quelle. Écrivez {{{{ {sm.group(1)} }}}} (deux accolades de chaque "
                     "côté).", para, sm.start(), sm.end())

    # --- one tag

    def _keyword_ok(self, tag: _Tag) -> bool:
        """``{% tr …`` (spaced prefix) and unknown keywords; False when the tag is unusable."""
        if not tag.prefix and tag.keyword in PREFIX_WORDS:
            fixed = re.sub(r"^{%-?\s*" + tag.keyword + r"\s+", "{%" + tag.keyword + " ",
                           tag.text)
            self.add(f"« {tag.text} » : pas d'espace entre « {{% » et « {tag.keyword} » ; "
                     f"écrivez « {fixed} ».", tag.para, tag.start, tag.end)
            km = _KEYWORD.match(fixed)  # go on as if corrected: no cascade of problems
            tag.prefix, tag.keyword = tag.keyword, km.group(1) if km else ""
        if not tag.keyword or tag.keyword in JINJA_KEYWORDS | DOCXTPL_TAGS:
            return True
        close = difflib.get_close_matches(tag.keyword.lower(), sorted(JINJA_KEYWORDS), n=1)
        hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
        self.add(f"mot-clé inconnu « {tag.keyword} » dans « {tag.text} »{hint} Mots-clés "
                 "possibles : if, elif, else, endif, for, endfor.", tag.para, tag.start, tag.end)
        if close and (close[0] in OPENERS or close[0] in ("elif", "else")
                      or close[0].startswith("end")):
            tag.keyword = close[0]  # go on as if corrected: no cascade of problems
            return True
        return False

    def _placement_ok(self, tag: _Tag) -> bool:
        """``{%tr``/``{%tc`` inside a table, alone in their row; ``{%p`` alone on its line."""
        para = tag.para
        if tag.prefix in ("tr", "tc") and para.cell is None:
            self.add(f"« {tag.text} » n'est pas dans un tableau. Une balise {{%{tag.prefix} … "
                     f"%}} se place dans une {PREFIX_WORDS[tag.prefix]} ; dans un paragraphe "
                     "ordinaire, utilisez {%p … %}.", para, tag.start, tag.end)
            return False
        if tag.prefix == "tr":
            if para.row in self.rows_with_tr:
                self.add(f"deux balises {{%tr … %}} dans la même ligne de tableau : « "
                         f"{self.rows_with_tr[para.row].text} » et « {tag.text} ». Mettez "
                         "chacune dans sa propre ligne.", para, tag.start, tag.end)
                return False
            self.rows_with_tr[para.row] = tag
            other = "".join(
                p.text for p in self.part.paragraphs if p.row is para.row
            ).replace(tag.text, "", 1).strip()
            if other:
                self.add(f"la ligne de tableau de « {tag.text} » contient aussi « "
                         f"{excerpt(other, 0, 0, 30)} », qui serait supprimé : une ligne "
                         "{%tr … %} ne doit contenir que cette balise.", para, tag.start,
                         tag.end)
                return False
        if tag.prefix == "p":
            if tag.index in self.paras_with_p:
                self.add("deux balises {%p … %} dans le même paragraphe : mettez chacune seule "
                         "sur sa ligne.", para, tag.start, tag.end)
                return False
            self.paras_with_p[tag.index] = tag
            other = (para.text[:tag.start] + para.text[tag.end:]).strip()
            if other:
                self.add(f"le texte « {excerpt(other, 0, 0, 30)} » est sur la même ligne que « "
                         f"{tag.text} » et serait supprimé : une balise {{%p … %}} doit être "
                         "seule sur sa ligne (appuyez sur Entrée avant et après).", para,
                         tag.start, tag.end)
                return False
        return True

    def _nest(self, tag: _Tag) -> None:
        """Blocks: each ``elif``/``else``/``end…`` matches the open block, of the same kind."""
        kw, para = tag.keyword, tag.para
        if kw in DOCXTPL_TAGS or not kw:
            return
        if kw in OPENERS or (kw == "set" and "=" not in tag.text):
            self.stack.append(tag)
            return
        if kw not in ("elif", "else") and not kw.startswith("end"):
            return
        expected = {kw[3:]} if kw.startswith("end") else {"if"} if kw == "elif" else {"if", "for"}
        stack = self.stack
        if not stack or stack[-1].keyword not in expected:
            opening = f"{{% {kw[3:]} … %}}" if kw.startswith("end") else "{% if … %}"
            last = f" (le dernier bloc ouvert est « {stack[-1].text} »)" if stack else ""
            self.add(f"« {tag.text} » n'a pas de « {opening} » ouvert avant{last}. Ajoutez "
                     "l'ouverture qui manque ou supprimez cette balise.", para, tag.start, tag.end)
            return
        top = stack.pop() if kw.startswith("end") else stack[-1]
        if top.prefix != tag.prefix:
            self.add(f"« {tag.text} » ne va pas avec « {top.text} » : écrivez « "
                     f"{_tag_form(top.prefix, kw)} », du même type que l'ouverture.",
                     para, tag.start, tag.end)
        elif not tag.prefix and top.index != tag.index:
            self.add(f"le bloc « {top.text} » … « {tag.text} » s'étend sur plusieurs "
                     "paragraphes, qui seraient fusionnés. Pour afficher ou masquer des "
                     f"paragraphes entiers, mettez « {_tag_form('p', top.keyword)} » et « "
                     f"{_tag_form('p', kw)} » chacun seul sur sa ligne ; sinon gardez "
                     "l'ouverture et la fermeture dans le même paragraphe.", para, tag.start,
                     tag.end)
        elif tag.prefix == "tr" and kw.startswith("end") and top.para.row is para.row:
            self.add(f"« {top.text} » et « {tag.text} » sont dans la même ligne de tableau : la "
                     "ligne à répéter se place entre une ligne « {%tr for … %} » et une ligne "
                     "« {%tr endfor %} ».", para, tag.start, tag.end)


# --- Jinja's parser ------------------------------------------------------------------------------

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


def syntax_problem(path: Path, part: Part, exc: TemplateSyntaxError) -> TemplateProblem:
    """Jinja's English syntax error, said in French with the paragraph's text."""
    detail = exc.message or str(exc)
    for pattern, french in _SYNTAX_HINTS:
        m = pattern.search(detail)
        if m:
            message = french.format(*m.groups())
            break
    else:
        message = f"syntaxe de balise incorrecte ({detail})."
    text = _line_text(part.source, exc.lineno)
    return make_problem(path, message + " " + FIX, excerpt(text, 0, 0, 60) if text else "",
                        part.name)


# --- names against the catalogue -----------------------------------------------------------------


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


def _where_used(part: Part, token: str) -> str:
    """The paragraph text around the first tag that mentions ``token``."""
    pattern = re.compile(r"{[{%][^}%]*\b" + re.escape(token) + r"\b[^}%]*[}%]}")
    for para in part.paragraphs:
        m = pattern.search(para.text)
        if m:
            return excerpt(para.text, m.start(), m.end())
    return ""


def unknown_variables(path: Path, part: Part, ast: nodes.Template) -> list[TemplateProblem]:
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
        problems.append(make_problem(path, message, _where_used(part, token), part.name))

    for name in sorted(jinja_meta.find_undeclared_variables(ast) - TOP_LEVEL - JINJA_NAMES):
        attrs = sorted({a for obj, a in attributes if obj == name})
        shown = f"{name}.{attrs[0]}" if attrs else name
        report(shown, name, _unknown_name_message(name, shown, attrs, loop_var))
    for obj, attr in attributes:
        if obj in OBJECT_FIELDS:
            fields = OBJECT_FIELDS[obj]
        elif obj in loops:
            fields = FACTURE_FIELDS
        else:
            continue
        if attr in fields:
            continue
        close = difflib.get_close_matches(_ascii_fold(attr), list(fields), n=1, cutoff=0.5)
        hint = (f" ; vouliez-vous dire {{{{ {obj}.{close[0]} }}}} ?" if close else
                f" ; champs possibles : {', '.join(obj + '.' + f for f in fields)}.")
        report(f"{obj}.{attr}", attr, f"{{{{ {obj}.{attr} }}}} n'existe pas{hint}")
    return problems


def _unknown_name_message(name: str, shown: str, attrs: list[str], loop_var: str) -> str:
    """Why ``{{ shown }}`` is unknown: an invoice field outside its loop, or a typo."""
    if name == "f" or (attrs and set(attrs) <= set(FACTURE_FIELDS)):
        return (
            f"{{{{ {shown} }}}} est un champ d'une ligne du tableau des factures : il ne "
            "s'utilise que dans la ligne répétée, entre « {%tr for f in factures %} » et "
            "« {%tr endfor %} »."
        )
    suggestion = suggest_variable(shown, loop_var)
    hint = (f" ; vouliez-vous dire {{{{ {suggestion} }}}} ?" if suggestion
            else " (voir la liste des variables).")
    case = (" Attention aux majuscules : Word en ajoute parfois tout seul en début de "
            "phrase." if suggestion and suggestion.lower() == shown.lower()
            and suggestion != shown else "")
    return f"{{{{ {shown} }}}} n'existe pas{hint}{case}"


# --- rendering -----------------------------------------------------------------------------------


def _template_line(exc: BaseException) -> int | None:
    """Line (paragraph) of the Jinja source where a render error happened."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def render_problem(prepared: PreparedTemplate, name: str, exc: BaseException) -> TemplateProblem:
    """A failure while rendering part ``name``, with the paragraph where it happened."""
    part = prepared.parts[name]
    text = _line_text(part.source, _template_line(exc))
    if isinstance(exc, UndefinedError):
        detail = exc.message or ""
        m = re.search(r"has no attribute '([^']+)'", detail) or re.search(
            r"'([^']+)' is undefined", detail)
        message = (f"« {m.group(1)} » n'existe pas à cet endroit (voir la liste des variables)."
                   if m else "variable ou champ inconnu.")
    elif isinstance(exc, LimitError):
        message = str(exc)
    elif isinstance(exc, SecurityError):
        message = "opération non autorisée dans une balise (seuls l'affichage de variables, " \
                  "les conditions et les boucles sont permis)."
    else:
        message = f"la balise ne peut pas être calculée ({type(exc).__name__} : {exc})."
    return make_problem(prepared.path, message + " " + FIX, excerpt(text, 0, 0, 60), name)


def trial_render(prepared: PreparedTemplate) -> list[TemplateProblem]:
    """Render with sample letters (business/consumer, full/empty settings): errors, bad XML."""
    for context in sample_contexts(prepared.tier):
        for name, tpl in prepared.compiled.items():
            try:
                xml = finish_xml(tpl.render(context), prepared.parts[name])
            except Exception as exc:  # noqa: BLE001 - any template failure is reported
                return [render_problem(prepared, name, exc)]
            try:
                etree.fromstring(xml)
            except etree.XMLSyntaxError:
                return [make_problem(
                    prepared.path,
                    "le modèle produit un document Word abîmé. Cause probable : une balise "
                    "{% if %}/{% for %} ouverte dans une cellule de tableau ou un paragraphe et "
                    "fermée dans un autre. Utilisez {%tr … %} pour répéter ou masquer des "
                    "lignes de tableau et {%p … %} pour des paragraphes entiers.",
                    part=name,
                )]
    return []
