"""What each tier says, for a consumer and a company, with and without a contact: the
salutation, the deadline, penalties shown or not, the legal mentions; and the e-mail agrees."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest

from conftest import all_text, priced, run_cli
from relance_xlsx import letters as L
from relance_xlsx.config import Settings
from relance_xlsx.emails import body
from relance_xlsx.model import LetterLine, PlannedLetter

NBSP = "\u00a0"
SETTINGS = Settings(societe=L.SAMPLE_SOCIETE)
CONTACT = "Mme Élodie Favre, Direction administrative et financière"
# due Friday 20/11/2026, letter Monday 23/11: one business day late, never charged
RECENT = LetterLine("F2026-031", date(2026, 10, 21), date(2026, 11, 20), Decimal("500.00"),
                    None, Decimal("500.00"), 3, False, 5)


text_of = all_text  # every visible text: paragraphs, nested tables, headers, footers


def make(tier: int, consumer: bool, contact: str) -> PlannedLetter:
    base = L.sample_letter(tier, particulier=consumer)
    return dataclasses.replace(base, contact=contact, lignes=(*base.lignes, RECENT))


@pytest.mark.parametrize("contact", [CONTACT, ""], ids=["contact", "sans-contact"])
@pytest.mark.parametrize("consumer", [False, True], ids=["societe", "particulier"])
@pytest.mark.parametrize("tier", [1, 2, 3])
def test_letter_and_email_wording(tmp_path: Path, tier: int, consumer: bool,
                                  contact: str) -> None:  # fmt: skip
    item = priced(make(tier, consumer, contact), SETTINGS)
    (rendered,) = L.render_letters([item], SETTINGS, tmp_path).letters
    text = text_of(rendered.docx)
    mail = body(item.letter, SETTINGS, item.amounts)

    # salutation, the same in the letter and the e-mail
    greeting = "Madame Favre," if contact else "Madame, Monsieur,"
    assert f"\n{greeting}\n" in text and mail.startswith(greeting + "\n")
    assert ("Nous vous prions d'agréer, Madame, l'expression" if contact else
            "Nous vous prions d'agréer, Madame, Monsieur, l'expression") in text
    assert (f"À l'attention de {CONTACT}" in text) == bool(contact)
    assert "Bonjour" not in mail and "Direction administrative" not in mail

    # deadline: Monday 23/11/2026, received Thursday 26/11, + 8 days = Friday 4/12/2026
    if tier == 3:
        assert "à compter de la réception de la présente" in text
        assert "au plus tard le 4 décembre 2026" in text
        assert "au plus tard le 4 décembre 2026" in mail  # the letter's date, never another
    else:
        assert "au plus tard" not in text and "au plus tard" not in mail
    if tier == 2:
        assert "sans délai" in text and "sans délai" in mail and "huit jours" not in mail

    # penalties: companies at relance 2 and the notice, for the invoices late enough only
    shown = not consumer and tier >= 2
    assert ("L441-10" in text) == shown
    assert (f"40,00{NBSP}€" in text) == shown
    if shown:
        assert f"80,00{NBSP}€" in text  # two invoices late enough, not the recent one
        assert f"120,00{NBSP}€" not in text
        (row,) = [r for t in docx.Document(str(rendered.docx)).tables for r in t.rows
                  if r.cells[0].text.startswith("F2026-031")]
        assert [c.text for c in row.cells[-3:]] == ["3", "", ""]  # late, nothing charged
    if consumer:
        assert "indemnité" not in text.lower()
    if consumer and tier == 2:
        assert text.lower().count("mise en demeure") == 1  # announced once
        assert "1231-6" in text

    # legal mentions in the footer
    assert ("Menuiserie Martin SARL – SARL au capital de 50 000 € – RCS Grenoble 123 456 789 – "
            "SIRET 123 456 789 00012 – TVA FR 12 123456789") in text


def test_legal_mentions_missing_warn_for_a_notice(tmp_path: Path, runner_cwd: Path) -> None:
    bare = Settings(societe=dataclasses.replace(L.SAMPLE_SOCIETE, capital="", rcs=""))
    result = L.render_letters(priced([make(3, False, "")], bare), bare, tmp_path / "a")
    assert [w for w in result.warnings if "Mentions légales" in w] == [
        "Mentions légales incomplètes sur les mises en demeure : renseignez capital, rcs dans "
        "la section [societe] de relance.toml."]
    quiet = L.render_letters(priced([make(2, False, "")], bare), bare, tmp_path / "b")
    assert not [w for w in quiet.warnings if "Mentions légales" in w]
    full = L.render_letters(priced([make(3, False, "")], SETTINGS), SETTINGS, tmp_path / "c")
    assert not [w for w in full.warnings if "Mentions légales" in w]
    (runner_cwd / "relance.toml").write_text('[societe]\nnom = "X"\nforme_juridique = "SAS"\n',
                                            encoding="utf-8")
    out = run_cli("modeles")
    assert out.exit_code == 0
    assert "renseignez capital, rcs, tva_intracommunautaire" in out.output
