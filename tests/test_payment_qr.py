"""The payment QR code: an EPC (SEPA) code decoded from the rendered letter."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import docx
import pytest

from conftest import priced
from relance_xlsx import letters as L
from relance_xlsx.config import Settings
from relance_xlsx.letters.qr import QR_MEDIA, remittance_text

SETTINGS = Settings(societe=L.SAMPLE_SOCIETE, qr_paiement=True)


def decode(png: bytes, tmp_path: Path) -> list[str]:
    """The lines of the code, read by zbar (as a phone would)."""
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    # -Sbinary: the bytes as coded (zbar would guess Shift-JIS for UTF-8 accents); the
    # code's third line names its encoding, "1" = UTF-8
    out = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", str(image)],
                         capture_output=True, check=True, timeout=60)  # fmt: skip
    return out.stdout.decode("utf-8").rstrip("\n").split("\n")


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg absent (zbar-tools)")
@pytest.mark.parametrize("tier", [1, 2, 3])
def test_letter_carries_an_epc_code_with_every_field(tmp_path: Path, tier: int) -> None:
    item = priced(L.sample_letter(tier), SETTINGS)
    (rendered,) = L.render_letters([item], SETTINGS, tmp_path).letters
    with zipfile.ZipFile(rendered.docx) as z:
        assert z.testzip() is None
        png = z.read(QR_MEDIA)
        assert "rIdQrPaiement" in z.read("word/document.xml").decode()
    docx.Document(io.BytesIO(rendered.docx.read_bytes()))  # a valid Word document
    lines = decode(png, tmp_path)
    amount = item.amounts.total_reclame
    assert lines[:7] == ["BCD", "002", "1", "SCT", "AGRIFRPPXXX", "Menuiserie Martin SARL",
                         "FR7630006000011234567890189"]  # fmt: skip
    assert lines[7].startswith("EUR") and Decimal(lines[7][3:]) == amount
    assert lines[-1] == "Factures F2026-001 F2026-014"
    # the amount claimed: penalties included where the letter shows them
    assert (amount == Decimal("3450.00")) == (tier == 1)


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg absent (zbar-tools)")
def test_accented_beneficiary_and_no_bic(tmp_path: Path) -> None:
    societe = dataclasses.replace(L.SAMPLE_SOCIETE, nom="Société Générale d'Ébénisterie", bic="")
    settings = Settings(societe=societe, qr_paiement=True)
    (rendered,) = L.render_letters(priced([L.sample_letter(1)], settings), settings,
                                   tmp_path).letters  # fmt: skip
    with zipfile.ZipFile(rendered.docx) as z:
        lines = decode(z.read(QR_MEDIA), tmp_path)
    assert lines[4:7] == ["", "Société Générale d'Ébénisterie", "FR7630006000011234567890189"]


def test_no_code_without_the_setting_or_an_iban(tmp_path: Path) -> None:
    plain = Settings(societe=L.SAMPLE_SOCIETE)
    no_iban = Settings(societe=dataclasses.replace(L.SAMPLE_SOCIETE, iban=""), qr_paiement=True)
    for n, settings in enumerate((plain, no_iban)):
        (rendered,) = L.render_letters(priced([L.sample_letter(2)], settings), settings,
                                       tmp_path / str(n)).letters  # fmt: skip
        with zipfile.ZipFile(rendered.docx) as z:
            assert len(z.read(QR_MEDIA)) < 100  # the template's blank image
            assert "rIdQrPaiement" not in z.read("word/document.xml").decode()


def test_remittance_text_fits_the_epc_limit() -> None:
    assert remittance_text(["A1"]) == "Facture A1"
    long = remittance_text([f"FA-2026-{i:04d}" for i in range(40)])
    assert len(long) <= 140 and long.endswith(" …") and long.startswith("Factures FA-2026-0000")


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg absent (zbar-tools)")
@pytest.mark.parametrize("amount", ["3400.00", "0.01", "1234.5", "999999999.99"])
def test_same_text_as_segno_make_epc_qr(tmp_path: Path, amount: str) -> None:
    import segno.helpers

    from relance_xlsx.letters.qr import payment_qr

    societe = dataclasses.replace(L.SAMPLE_SOCIETE, nom="Société Générale d'Ébénisterie")
    ours = payment_qr(societe, Decimal(amount), ["F1", "F2"])
    assert ours is not None
    reference = segno.helpers.make_epc_qr(
        name="Société Générale d'Ébénisterie", iban="FR7630006000011234567890189",
        amount=Decimal(amount), text="Factures F1 F2", bic="AGRIFRPPXXX", encoding="utf-8")
    out = io.BytesIO()
    reference.save(out, kind="png", scale=4)
    assert decode(ours.png, tmp_path) == decode(out.getvalue(), tmp_path)


def test_no_code_for_nothing_to_pay_or_a_wrong_iban() -> None:
    from relance_xlsx.letters.qr import payment_qr

    assert payment_qr(L.SAMPLE_SOCIETE, Decimal("0"), ["F1"]) is None
    wrong = dataclasses.replace(L.SAMPLE_SOCIETE, iban="voir RIB joint")
    assert payment_qr(wrong, Decimal("10"), ["F1"]) is None


def test_fast_matrix_is_segno_make_qr() -> None:
    """The numpy placement gives segno's own matrix, module for module, for every version
    an EPC code can take (remainder bits included: versions 4 to 6 and 14 and more)."""
    import random

    import numpy as np
    import segno

    from relance_xlsx.letters.qr import MASK, fast_matrix

    rng = random.Random(12)
    versions = set()
    for _ in range(120):
        text = "".join(rng.choice("ABCabc0123 -éÉ'\n") for _ in range(rng.randint(40, 330)))
        reference = segno.make_qr(text, error="m", boost_error=False, mask=MASK,
                                  encoding="utf-8")  # fmt: skip
        versions.add(reference.version)
        assert np.array_equal(fast_matrix(text), np.array([list(r) for r in reference.matrix]))
    assert {4, 6, 8, 13, 14} <= versions
