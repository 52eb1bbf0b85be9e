"""E-mail drafts (.eml): what Outlook or Thunderbird opens, ready to send; nothing is sent."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date
from decimal import Decimal
from email import policy

import pytest

from conftest import priced, run_cli
from relance_xlsx.config import Settings, Societe
from relance_xlsx.emails import body, build_draft, parse_addresses, subject
from relance_xlsx.model import LetterLine, PlannedLetter

RUN = "2026-11-23"


def letter(tier: int = 1, **kw) -> PlannedLetter:
    """``reminded=True``: every invoice had the step before ``tier``, on 9 November."""
    history = ({"niveau_avant": tier - 1, "relancee_le": date(2026, 11, 9)}
               if kw.pop("reminded", False) else {})  # fmt: skip
    lines = tuple(
        LetterLine(f"FA{i}", date(2026, 8, 1), date(2026, 9, 1), Decimal("100"), None,
                   Decimal("100"), 83, False, i + 4, **history)
        for i in range(kw.pop("n", 2))
    )  # fmt: skip
    base = PlannedLetter(cle_client="C1", client="Dupont & Fils <SAS>", code_client="C1",
                         niveau=tier, date=date(2026, 11, 23), lignes=lines,
                         contact="M. Jean Dupont", email="compta@dupont.fr")  # fmt: skip
    return replace(base, **kw)


def read(path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


@pytest.mark.parametrize(
    "cell, good, bad",
    [("compta@dupont.fr", ["compta@dupont.fr"], []),
     ("a@b.fr; c@d.fr, e@f.fr", ["a@b.fr", "c@d.fr", "e@f.fr"], []),
     ("compta@hôtel.fr", ["compta@xn--htel-vqa.fr"], []),
     ("compta@m..fr", [], ["compta@m..fr"]),
     ("jean dupont", [], ["jean dupont"]),
     ("", [], [])],
)  # fmt: skip
def test_parse_addresses(cell, good, bad):
    found, wrong = parse_addresses(cell)
    assert [str(a.addr_spec) for a in found] == good
    assert wrong == bad


def test_draft_is_an_unsent_message_with_the_letter(tmp_path):
    docx = tmp_path / "Dupont – Relance 2 – 2026-11-23.docx"
    docx.write_bytes(b"PK fake docx")
    settings = Settings(societe=Societe(nom="Société Exemple SARL", email="compta@exemple.fr",
                                        signataire="Claire Martin"))  # fmt: skip
    msg = build_draft(priced(letter(2), settings), settings, [docx])
    parsed = email.message_from_bytes(msg.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert parsed["X-Unsent"] == "1"
    assert parsed["To"].addresses[0].addr_spec == "compta@dupont.fr"
    assert parsed["To"].addresses[0].display_name == "Dupont & Fils <SAS>"
    assert parsed["From"].addresses[0].addr_spec == "compta@exemple.fr"
    assert parsed["Subject"] == "Deuxième relance – factures n° FA0, FA1 – Société Exemple SARL"
    text = parsed.get_body(("plain",)).get_content()
    assert text.startswith("Monsieur Dupont,\r\n")
    assert "les factures n° FA0 et FA1" in text and "Claire Martin" in text
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == [docx.name]
    assert attachments[0].get_content() == b"PK fake docx"
    assert attachments[0].get_content_type().endswith("wordprocessingml.document")
    assert "Bcc" not in parsed and "Date" not in parsed


def test_write_drafts_sets_each_letters_draft(tmp_path):
    from relance_xlsx.emails import write_drafts
    from relance_xlsx.model import RenderedLetter

    rendered = []
    for name, address in (("a", "compta@a.fr"), ("b", ""), ("c", "pas une adresse"),
                          ("d", "compta@d.fr")):
        docx = tmp_path / f"{name}.docx"
        docx.write_bytes(b"PK")
        pdf = tmp_path / f"{name}.pdf" if name == "a" else None
        if pdf:
            pdf.write_bytes(b"%PDF")
        rendered.append(RenderedLetter(priced(letter(1, email=address, client=name), Settings()),
                                       docx, pdf))
    drafts = write_drafts(rendered, Settings())
    assert drafts.files == (tmp_path / "a.eml", None, None, tmp_path / "d.eml")
    assert [x.priced for x in drafts.letters] == [x.priced for x in rendered]
    assert drafts.letters[0].pdf == tmp_path / "a.pdf"
    names = [a.get_filename() for a in read(tmp_path / "a.eml").iter_attachments()]
    assert names == ["a.pdf"]  # the PDF, not an editable letter
    names = [a.get_filename() for a in read(tmp_path / "d.eml").iter_attachments()]
    assert names == ["d.docx"]  # no PDF made: the .docx
    assert any("« c »" in w and "courrier à poster" in w for w in drafts.warnings)
    assert any("sans adresse e-mail" in w and ": b." in w for w in drafts.warnings)


def test_tone_differs_by_tier():
    from relance_xlsx.amounts import letter_amounts

    texts = {}
    for tier in (1, 2, 3):
        lt = letter(tier, n=1, reminded=tier > 1)  # as the pipeline plans them
        texts[tier] = body(lt, Settings(), letter_amounts(lt, Settings()))
    assert "Sauf erreur de notre part, la facture n° FA0 reste à ce jour impayée." in texts[1]
    assert "Malgré notre premier rappel" in texts[2] and "échéancier" in texts[2]
    assert "mise en demeure" in texts[3] and "recommandée avec accusé de réception" in texts[3]
    assert all(t.startswith("Monsieur Dupont,\n") for t in texts.values())  # as the letter
    assert len({t.split("\n")[2] for t in texts.values()}) == 3
    assert subject(letter(3, n=6), Settings()).startswith("Mise en demeure de payer – 6 factures")


def test_second_reminder_email_speaks_only_of_the_reminders_sent():
    from relance_xlsx.amounts import letter_amounts

    fresh = letter(2, n=2)
    first = replace(fresh.lignes[0], niveau_avant=1, relancee_le=date(2026, 10, 15))
    mixed = replace(fresh, lignes=(first, fresh.lignes[1]))
    text = body(mixed, Settings(), letter_amounts(mixed, Settings()))
    assert ("Malgré notre premier rappel, la facture n° FA0 n'a toujours pas été réglée ; la "
            "facture n° FA1, qui n'avait pas encore fait l'objet d'un rappel, est également "
            "échue.") in text
    text = body(fresh, Settings(), letter_amounts(fresh, Settings()))
    assert "Sauf erreur de notre part, les factures n° FA0 et FA1 restent à ce jour " \
           "impayées." in text
    assert "Malgré" not in text and "rappel," not in text and "premier rappel" not in text


def test_header_injection_from_the_export_is_neutralised(tmp_path):
    docx = tmp_path / "l.docx"
    docx.write_bytes(b"x")
    evil = letter(1, client="Evil\r\nBcc: pirate@example.com", email="a@b.fr\nBcc: c@d.fr")
    raw = build_draft(priced(evil, Settings()), Settings(), [docx]).as_bytes(policy=policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in parsed
    assert b"\r\nBcc:" not in raw


def test_run_with_emails_writes_one_draft_per_letter_with_an_address(runner_cwd):
    from make_sample import build

    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    result = run_cli("run", export, "--date", RUN, "--emails")
    assert result.exit_code == 0, result.output
    run_dir = runner_cwd / "courriers" / RUN
    letters = sorted(run_dir.glob("*.docx"))
    drafts = sorted(run_dir.glob("*.eml"))
    assert drafts and len(drafts) == len(letters)  # every demo client has an address
    assert f"Brouillons d'e-mails : {len(drafts)} fichier(s) .eml" in result.output
    for draft in drafts:
        msg = read(draft)
        docx = draft.with_suffix(".docx")
        assert msg["X-Unsent"] == "1" and msg["To"]
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_filename() == docx.name
        assert attachment.get_content() == docx.read_bytes()
    hotel = read(next(d for d in drafts if d.name.startswith("Hôtel")))
    assert hotel["To"].addresses[0].addr_spec == "compta@hotel-beau.fr"


def test_no_drafts_without_the_option(runner_cwd):
    from make_sample import build

    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    assert run_cli("run", export, "--date", RUN).exit_code == 0
    assert not list(runner_cwd.rglob("*.eml"))


def test_named_recipient_is_an_address_not_a_warning():
    from relance_xlsx.emails import parse_addresses

    good, bad = parse_addresses("Anne Girard <anne.girard@hotel-beau.fr>; compta@x.fr")
    assert [g.addr_spec for g in good] == ["anne.girard@hotel-beau.fr", "compta@x.fr"]
    assert bad == []
