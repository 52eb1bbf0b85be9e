"""Word's XML, as docxtpl needs it, and the zip writer of the letters.

Why not one ``DocxTemplate`` per letter: it re-reads, re-patches and re-compiles the template
for every letter (about 35 letters/s). Here docxtpl's ``patch_xml`` runs once per template
part; after rendering only the post-processing steps the text needs are applied
(``finish_xml``), and a letter's zip copies every untemplated entry, already compressed, as
is (``zip_bytes``), with the letter's date as the entries' date so that a same-date re-run
writes byte-identical files.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = "{" + W_NS + "}"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
XML_DECLARATION_BYTES = XML_DECLARATION.encode("ascii")
PART_LABELS = {
    "word/document.xml": "corps du document",
    "word/footnotes.xml": "notes de bas de page",
    "word/endnotes.xml": "notes de fin",
}
TEMPLATED_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")


def part_label(name: str) -> str:
    """The French name of a part, as the user knows it in Word ("en-tête")."""
    if name in PART_LABELS:
        return PART_LABELS[name]
    if "header" in name:
        return "en-tête"
    if "footer" in name:
        return "pied de page"
    return name


# --- tags typed in Word ----------------------------------------------------------------------

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
    """A bare DocxTemplate: its ``patch_xml``/``fix_tables`` use no instance state."""
    from docxtpl import DocxTemplate

    return DocxTemplate.__new__(DocxTemplate)


_PARA_START = re.compile(r"<w:p([ >])")


def patch_part_xml(xml: str) -> str:
    """The Jinja source of one part: tags normalised, docxtpl-patched, one line per paragraph.

    The line breaks before each ``<w:p`` let a Jinja line number point to a paragraph, as
    docxtpl does; they are removed again after rendering.
    """
    xml = _normalise_tags_in_xml(xml)
    xml = _docxtpl().patch_xml(xml)
    return _PARA_START.sub(r"\n<w:p\1", xml)


# --- parts and paragraphs ----------------------------------------------------------------------


@dataclass
class Paragraph:
    """A paragraph as the user sees it in Word: its text and where it sits."""

    text: str
    cell: Any  # the enclosing <w:tc>, or None
    row: Any  # the enclosing <w:tr>, or None


def paragraphs(root: Any) -> list[Paragraph]:
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
        out.append(Paragraph(normalise_tag_text("".join(parts)), cell, row))
    return out


@dataclass
class Entry:
    """One zip entry of the template, compressed once: copied as is into every letter."""

    name: str
    data: bytes
    crc: int
    size: int
    method: int


@dataclass
class Part:
    """A part holding tags: its Jinja source and its paragraphs (for the messages)."""

    name: str
    source: str  # Jinja source (patched XML)
    paragraphs: list[Paragraph]
    fix_tables: bool  # {%tc / colspan / hm used: docxtpl's fix_tables is needed


def templated_part(name: str, root: Any) -> Part | None:
    """The part's Jinja source when its text holds a brace, else None (copied as is)."""
    paras = paragraphs(root)
    if not any("{" in p.text or "}" in p.text for p in paras):
        return None
    xml = etree.tostring(root, encoding="unicode")
    fix = bool(re.search(r"{%\s*(hm|colspan)|{%tc ", "\n".join(p.text for p in paras)))
    return Part(name, patch_part_xml(xml), paras, fix)


def stored_entry(name: str, data: bytes, compress_type: int) -> Entry:
    """An untemplated entry, compressed once (level 6) unless the template stored it."""
    if compress_type == zipfile.ZIP_STORED or name.endswith("/"):
        return Entry(name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)
    return Entry(name, deflate(data, 6), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED)


# --- after rendering ---------------------------------------------------------------------------

# A <w:t> holding a line break from the data (addresses) gets a <w:br/> for each: docxtpl's
# resolve_listing does the same for every paragraph and costs ~3 ms per letter; tabs and
# other control characters never reach here (``clean_text``).
_BREAK = b'</w:t><w:br/><w:t xml:space="preserve">'
_DOCPR_ID = re.compile(rb'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
_JINJA_ESCAPES = ((b"{_{", b"{{"), (b"}_}", b"}}"), (b"{_%", b"{%"), (b"%_}", b"%}"))


def _line_breaks(xml: bytes) -> bytes:
    """Each line break inside the text of a ``<w:t>`` made a ``<w:br/>`` (a line break
    elsewhere, between tags or inside one, is left as it is)."""
    out, last = [], 0
    pos = xml.find(b"\n")
    while pos != -1:
        start = xml.rfind(b"<", 0, pos)  # the tag before the text: its <w:t>?
        close = xml.find(b"<", pos)
        opened = xml.find(b">", start) + 1
        tag = xml[start:opened]
        if 0 < opened <= pos and (tag == b"<w:t>" or tag.startswith(b"<w:t ")) \
                and xml.startswith(b"</w:t>", close):  # fmt: skip
            if b"xml:space" not in tag:
                tag = b'<w:t xml:space="preserve">'
            out += [xml[last:start], tag, xml[opened:close].replace(b"\n", _BREAK)]
            last = close
            pos = xml.find(b"\n", close)
        else:
            pos = xml.find(b"\n", pos + 1)
    if not out:
        return xml
    out.append(xml[last:])
    return b"".join(out)


def finish_xml(xml: str, part: Part) -> bytes:
    """docxtpl's post-processing, only the steps the rendered text needs; the part's XML
    as UTF-8. On bytes: a letter's text holds "€" and "–", which make Python's ``str``
    searches several times slower, and no UTF-8 sequence holds an ASCII byte."""
    data = xml.encode("utf-8")
    data = data.replace(b"\n<w:p ", b"<w:p ").replace(b"\n<w:p>", b"<w:p>")  # _PARA_START's
    for old, new in _JINJA_ESCAPES:
        if old in data:
            data = data.replace(old, new)
    if b"\n" in data:
        data = _line_breaks(data)
    if part.fix_tables:
        fixed = _docxtpl().fix_tables(data.decode("utf-8"))
        data = etree.tostring(fixed, encoding="unicode").encode("utf-8")
    if part.name == "word/document.xml" and b"<wp:docPr" in data:  # images repeated by a loop
        counter = iter(range(1001, 10**9))
        data = _DOCPR_ID.sub(lambda m: b"%s%d%s" % (m.group(1), next(counter), m.group(3)),
                             data)  # fmt: skip
    return data


# --- the zip writer ----------------------------------------------------------------------------


def deflate(data: bytes, level: int) -> bytes:
    """Raw deflate, as a zip entry holds it."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def dos_stamp(moment: datetime) -> tuple[int, int]:
    """(time, date) in the MS-DOS format of zip headers."""
    year = max(1980, moment.year)
    return (
        (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2),
        ((year - 1980) << 9) | (moment.month << 5) | moment.day,
    )


def zip_bytes(
    entries: Sequence[Entry], rendered: dict[str, bytes], stamp: tuple[int, int], level: int = 1
) -> bytes:
    """A .docx: the template's entries in order, rendered parts compressed at ``level``."""
    dostime, dosdate = stamp
    out = bytearray()
    central = bytearray()
    for entry in entries:
        if entry.name in rendered:
            data = rendered[entry.name]
            entry = Entry(entry.name, deflate(data, level), zlib.crc32(data), len(data),
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
