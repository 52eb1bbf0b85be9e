"""The payment QR code of a letter: an EPC (SEPA credit transfer) code the client's banking
app scans to fill in the beneficiary, the IBAN, the amount and the invoice numbers.

Why not docxtpl's ``InlineImage``: letters are rendered part by part into a prepared zip
(``docx.py``), without a python-docx document per letter. The same inline drawing docxtpl
writes is printed by ``{{ qr_paiement }}``; the template gets, once when it is prepared, a
relationship to ``word/media/qr_paiement.png`` and a blank image there, which each letter
replaces with its own code.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..config import Societe
from .docx import Entry, stored_entry

QR_MEDIA = "word/media/qr_paiement.png"
QR_REL_ID = "rIdQrPaiement"
SIZE_EMU = 792_000  # 2.2 cm: above the 2 cm the EPC guidelines ask for
MAX_TEXT = 140  # EPC remittance text
MAX_NAME = 70  # EPC beneficiary name
MASK = 2  # any of the 8 QR masks is valid; choosing one spares trying them all
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_NS_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"

# the run docxtpl's InlineImage prints: it closes the text run the tag sits in
DRAWING = (
    f'</w:t></w:r><w:r><w:drawing><wp:inline xmlns:wp="{_NS_WP}" distT="0" distB="0" '
    f'distL="0" distR="0"><wp:extent cx="{SIZE_EMU}" cy="{SIZE_EMU}"/><wp:docPr id="4242" '
    'name="QR paiement" descr="QR code de paiement par virement SEPA"/>'
    f'<a:graphic xmlns:a="{_NS_A}"><a:graphicData uri="{_NS_PIC}"><pic:pic xmlns:pic="{_NS_PIC}">'
    '<pic:nvPicPr><pic:cNvPr id="0" name="qr_paiement.png"/><pic:cNvPicPr/></pic:nvPicPr>'
    f'<pic:blipFill><a:blip xmlns:r="{_NS_R}" r:embed="{QR_REL_ID}"/><a:stretch><a:fillRect/>'
    '</a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
    f'<a:ext cx="{SIZE_EMU}" cy="{SIZE_EMU}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
    '</a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing>'
    '</w:r><w:r><w:t xml:space="preserve">'
)


class QrImage:
    """``{{ qr_paiement }}``: prints the drawing; carries the PNG the renderer stores."""

    def __init__(self, png: bytes) -> None:
        self.png = png

    def __html__(self) -> str:  # Jinja's autoescape prints it as is
        return DRAWING

    def __str__(self) -> str:
        return DRAWING


def remittance_text(numbers: Sequence[str]) -> str:
    """« Factures F1 F2 » within the 140 characters of the EPC text (« … » when cut)."""
    head = "Facture" if len(numbers) == 1 else "Factures"
    text = " ".join([head, *numbers])
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 2].rsplit(" ", 1)[0] + " …"


def epc_payload(name: str, iban: str, amount: Decimal, text: str, bic: str = "") -> str:
    """The EPC069-12 text (version 002, UTF-8, SEPA credit transfer), as
    ``segno.helpers.make_epc_qr`` writes it: one field a line, the amount as "EUR12.3"."""
    euros = f"{amount.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
    fields = ["BCD", "002", "1", "SCT", bic, name, iban, f"EUR{euros}", "", "", text]
    return "\n".join(fields).rstrip("\n")


def payment_qr(societe: Societe, amount: Decimal, numbers: Sequence[str]) -> QrImage | None:
    """The EPC code of a letter, or None without an IBAN or an amount to pay.

    Why not ``make_epc_qr`` itself: it tries the 8 QR masks (~30 ms a code, more than a
    letter's whole rendering); any mask is valid, so the code is made with one, from the
    same text (tests compare both decoded)."""
    import segno  # only when asked for: the import costs ~20 ms
    import segno.encoder  # noqa: F401 - loaded once, for fast_matrix

    iban = re.sub(r"\s+", "", societe.iban or "").upper()
    if not _IBAN.fullmatch(iban) or amount <= 0 or amount > Decimal("999999999.99"):
        return None
    name = " ".join((societe.nom or "").split())[:MAX_NAME]
    bic = re.sub(r"\s+", "", societe.bic or "").upper()
    payload = epc_payload(name, iban, amount, remittance_text(numbers), bic)
    matrix = fast_matrix(payload)
    if matrix is None:  # segno's internals changed: its public (slower) way
        matrix = segno.make_qr(payload, error="m", boost_error=False, mask=MASK,
                               encoding="utf-8").matrix
    return QrImage(png_1bit(matrix, scale=8, border=4))


def fast_matrix(payload: str) -> Any:
    """The QR matrix segno makes for ``payload`` (level M, mask ``MASK``, UTF-8, byte mode),
    in a fraction of the time: the bit stream is built as segno builds it (mode, count,
    data, terminator, padding), with segno's tables, but as one integer; the Reed-Solomon
    codewords come from a table per generator; numpy places the bits on the fixed modules
    of the version, the mask being linear (a test compares with segno.make_qr for every
    version an EPC code takes). None when segno's tables are not the ones this was written
    for: the caller then asks segno."""
    try:
        codewords, version = _message(payload.encode("utf-8"))
        base, places = _layout(version)
    except Exception:  # noqa: BLE001 - any surprise: the public way
        return None
    import numpy as np

    bits = np.unpackbits(np.frombuffer(codewords, dtype=np.uint8))
    remainder = len(places[0]) - len(bits)  # 0, 3, 4 or 7 remainder bits, all zero
    if remainder not in (0, 3, 4, 7):
        return None
    out = base.copy()
    out[places[0][: len(bits)], places[1][: len(bits)]] ^= bits
    return out


def _message(data: bytes) -> tuple[bytes, int]:
    """The final codewords (data blocks then error blocks, interleaved) and the version, as
    segno's encoder makes them for byte mode at level M."""
    from segno import consts

    error = consts.ERROR_LEVEL_M
    count_bits = consts.CHAR_COUNT_INDICATOR_LENGTH[consts.MODE_BYTE]
    for version in range(1, 41):
        cc = count_bits[1 if version < 10 else 2 if version < 27 else 3]
        length = 4 + cc + 8 * len(data)
        capacity = consts.SYMBOL_CAPACITY[version][error]
        if capacity >= length:
            break
    else:
        raise ValueError("too long for a QR code")
    stream = (((consts.MODE_BYTE << cc) | len(data)) << 8 * len(data)) | int.from_bytes(
        data, "big")
    terminator = min(capacity - length, consts.TERMINATOR_LENGTH[None])
    length += terminator
    padding = 8 - length % 8  # as segno: a whole zero byte when already on a boundary
    length += padding
    stream <<= terminator + padding
    raw = stream.to_bytes(length // 8, "big")
    pads = max(0, capacity // 8 - length // 8)
    raw += (b"\xec\x11" * (pads // 2 + 1))[:pads]
    data_blocks, error_blocks = [], []
    offset = 0
    for info in consts.ECC[version][error]:
        table = _rs_table(info.num_total - info.num_data)
        ec = info.num_total - info.num_data
        top, mask = 8 * (ec - 1), (1 << 8 * ec) - 1
        for _ in range(info.num_blocks):
            block = raw[offset:offset + info.num_data]
            offset += info.num_data
            rem = 0
            for byte in block:
                rem = ((rem << 8) & mask) ^ table[(rem >> top) ^ byte]
            data_blocks.append(block)
            error_blocks.append(rem.to_bytes(ec, "big"))
    return _interleave(data_blocks) + _interleave(error_blocks), version


def _interleave(blocks: list[bytes]) -> bytes:
    """Column by column: first byte of each block, then the second… (the longer blocks,
    always last in the QR tables, give the last column alone)."""
    short = min(len(b) for b in blocks)
    head = b"".join(bytes(column) for column in zip(*(b[:short] for b in blocks), strict=True))
    return head + bytes(b[i] for i in range(short, max(len(b) for b in blocks))
                        for b in blocks if len(b) > i)


@functools.lru_cache(maxsize=16)
def _rs_table(ec: int) -> tuple[int, ...]:
    """For each leading coefficient, the generator polynomial times it, as an integer of
    ``ec`` bytes: one XOR a data codeword in the Reed-Solomon division."""
    from segno import consts

    log, exp, gen = consts.GALIOS_LOG, consts.GALIOS_EXP, consts.GEN_POLY[ec]
    table = [0]
    for coef in range(1, 256):
        table.append(int.from_bytes(bytes(exp[log[coef] + g] for g in gen[:ec]), "big"))
    return tuple(table)


@functools.lru_cache(maxsize=8)
def _layout(version: int) -> tuple[Any, tuple[Any, Any]]:
    """For one version (level M, mask ``MASK``): the finished matrix of an all-zero message,
    and the data modules in the order the bit stream fills them, as segno places them."""
    import numpy as np
    from segno import consts
    from segno import encoder as enc

    size = enc.calc_matrix_size(version)
    matrix = enc.make_matrix(size, size)
    enc.add_finder_patterns(matrix, size, size)
    enc.add_alignment_patterns(matrix, size, size)
    free = sum(row.count(0x2) for row in matrix)
    order = [list(row) for row in matrix]
    enc.add_codewords(order, list(range(3, free + 3)), version)  # the place of each bit
    rank = np.array(order, dtype=np.int64)
    rows, cols = np.nonzero(rank >= 3)
    sequence = np.argsort(rank[rows, cols])
    enc.add_codewords(matrix, bytearray(free), version)
    _mask, matrix = enc.find_and_apply_best_mask(matrix, size, size, MASK)
    enc.add_format_info(matrix, version, consts.ERROR_LEVEL_M, MASK)
    enc.add_version_info(matrix, version)
    base = np.array([list(row) for row in matrix], dtype=np.uint8)
    return base, (rows[sequence], cols[sequence])


def png_1bit(matrix: Sequence[Sequence[int]], scale: int, border: int) -> bytes:
    """A black-and-white PNG of a QR matrix (1 = dark), with numpy: segno's own PNG writer
    takes ~7 ms a code, this one a tenth of a millisecond."""
    import numpy as np

    inner = np.asarray(matrix, dtype=np.uint8)
    dark = np.zeros((inner.shape[0] + 2 * border, inner.shape[1] + 2 * border), np.uint8)
    dark[border:border + inner.shape[0], border:border + inner.shape[1]] = inner
    if scale == 8:  # a module is one byte of a row: no pixel array
        rows = np.where(dark == 0, 0xFF, 0x00).astype(np.uint8)
    else:
        pixels = np.repeat(dark, scale, axis=1)
        rows = np.packbits(pixels == 0, axis=1)  # 1 bit a pixel, 1 = white
    rows = np.repeat(rows, scale, axis=0)
    raw = np.hstack([np.zeros((rows.shape[0], 1), np.uint8), rows]).tobytes()  # filter 0
    size = dark.shape[0] * scale
    header = size.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # grey, 1 bit
    return _png(header, zlib.compress(raw, 1))  # level 1: a few KB, a tenth of the time


def _png(header: bytes, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(
            4, "big")

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def _blank_png() -> bytes:
    """A 1×1 white PNG: the image of a letter without a code."""
    return png_1bit([[0]], scale=1, border=0)


def add_qr_slot(entries: list[Entry]) -> list[Entry]:
    """The template's entries with the QR image's relationship, content type and file."""
    names = {e.name for e in entries}
    if QR_MEDIA in names:
        return entries
    out: list[Entry] = []
    for entry in entries:
        if entry.name in ("word/_rels/document.xml.rels", "[Content_Types].xml"):
            xml = _inflate(entry).decode("utf-8")
            if entry.name.endswith(".rels"):
                xml = xml.replace("</Relationships>", f'<Relationship Id="{QR_REL_ID}" '
                                  f'Type="{_REL_TYPE}" Target="media/qr_paiement.png"/>'
                                  "</Relationships>")  # fmt: skip
            elif 'Extension="png"' not in xml:
                xml = xml.replace("</Types>", '<Default Extension="png" '
                                  'ContentType="image/png"/></Types>')
            entry = stored_entry(entry.name, xml.encode("utf-8"), entry.method)
        out.append(entry)
    out.append(stored_entry(QR_MEDIA, _blank_png(), 0))  # ZIP_STORED: a PNG is compressed
    return out


def _inflate(entry: Entry) -> bytes:
    if entry.method == 0:
        return entry.data
    return zlib.decompress(entry.data, -15)
