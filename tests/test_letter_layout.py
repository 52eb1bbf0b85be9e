"""Layout of long letters in PDF: the closing and the signature never stand alone on a page,
and the invoice table's header row repeats on each page it runs over."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import priced
from relance_xlsx import letters as L
from relance_xlsx.config import Settings
from relance_xlsx.model import LetterLine, PlannedLetter
from relance_xlsx.printing import convert_to_pdf, find_soffice

SETTINGS = Settings(societe=L.SAMPLE_SOCIETE, qr_paiement=True)
# the paragraph just before the closing, by tier: the closing must share its page
BEFORE_CLOSING = {1: "échéancier de paiement", 2: "préalable à une procédure",
                  3: "mis à votre charge"}


def long_letter(tier: int, count: int) -> PlannedLetter:
    base = L.sample_letter(tier)
    day = date(2026, 9, 1)
    lines = tuple(
        LetterLine(f"FA-2026-{i:04d}", day + timedelta(days=i), day + timedelta(days=i + 30),
                   Decimal("1200.00"), None, Decimal("1200.00"), 40, False, i + 2)
        for i in range(count)
    )  # fmt: skip
    return dataclasses.replace(base, lignes=lines, client=f"Client {tier}-{count}")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice absent")
def test_closing_never_alone_and_header_repeats(tmp_path: Path) -> None:
    planned = [long_letter(t, n) for t in (1, 2, 3) for n in (1, 7, 20, 60)]
    rendered = L.render_letters(priced(planned, SETTINGS), SETTINGS, tmp_path).letters
    pdfs, warnings = convert_to_pdf([x.docx for x in rendered], tmp_path / "pdf",
                                    find_soffice() or "soffice")  # fmt: skip
    assert all(pdfs), warnings
    for letter, pdf in zip(planned, pdfs, strict=True):
        pages = [flat(p.extract_text()) for p in PdfReader(pdf).pages]
        where = f"{letter.client} ({len(pages)} page(s))"
        (last,) = [i for i, p in enumerate(pages) if "Claire Martin" in p]
        assert last == len(pages) - 1, where
        assert "Nous vous prions d'agréer" in pages[last], where
        assert BEFORE_CLOSING[letter.niveau] in pages[last], where  # not alone on its page
        for i, page in enumerate(pages):
            if re.search(r"FA-2026-\d{4}", page):
                assert "N° facture" in page, f"{where}: page {i + 1} sans en-tête du tableau"
        numbers = {m for p in pages for m in re.findall(r"FA-2026-\d{4}", p)}
        assert len(numbers) == len(letter.lignes), where
