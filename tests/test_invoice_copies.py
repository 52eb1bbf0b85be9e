"""Invoice copies: found by number in file names, after their letter in the print batch and
in its e-mail, missing ones in the report; ambiguous files are never attached."""

from __future__ import annotations

import dataclasses
import email
import shutil
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter

from conftest import HEADERS, invoice, priced, run_cli, write_xlsx
from relance_xlsx import letters as L
from relance_xlsx.config import Settings
from relance_xlsx.emails import write_drafts
from relance_xlsx.invoice_copies import find_copies, match_copies, name_holds
from relance_xlsx.printing import print_batch


def pdf(path: Path, pages: int = 1, width: float = 500) -> Path:
    """A blank PDF whose page width tells it apart in a batch."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=700)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


@pytest.mark.parametrize(
    "name, number, holds",
    [("FA-2026-0142", "FA-2026-0142", True),
     ("Facture FA20260142 Dupont", "FA-2026-0142", True),
     ("facture_fa_2026_0142", "FA-2026-0142", True),
     ("FA-2026-0142 duplicata", "fa 2026 0142", True),
     ("FactureFA-2026-0142", "FA-2026-0142", False),  # glued to a word: not on its own
     ("FA-2026-01420", "FA-2026-0142", False),  # another, longer number
     ("FA-2026-0142", "FA-2026-014", False),
     ("Facture 142", "142", True),
     ("FA-2026-0142", "142", False),
     ("F142-avoir", "F142", True),
     ("Dupont", "", False)],
)  # fmt: skip
def test_number_in_file_name(name: str, number: str, holds: bool) -> None:
    assert name_holds(name, number) is holds


def test_ambiguous_files_are_warned_never_attached(tmp_path: Path) -> None:
    files = [pdf(tmp_path / "FA-1 et FA-2.pdf"), pdf(tmp_path / "FA-3.pdf"),
             pdf(tmp_path / "FA-3 (copie).pdf"), pdf(tmp_path / "2026" / "FA-4.pdf")]
    found, warnings = match_copies(["FA-1", "FA-2", "FA-3", "FA-4", "FA-5"], files)
    assert found == {"FA-4": tmp_path / "2026" / "FA-4.pdf"}
    assert any("« FA-1 et FA-2.pdf »" in w and "plusieurs factures" in w for w in warnings)
    assert any(w.startswith("Facture FA-3 : plusieurs duplicata") for w in warnings)


def rendered_letters(tmp_path: Path) -> list:
    """Two letters: F2026-001 and F2026-014 (Dupont), then G-7 and G-8 (another client)."""
    settings = Settings(societe=L.SAMPLE_SOCIETE)
    first = L.sample_letter(1)
    line = first.lignes[0]
    other = dataclasses.replace(first, cle_client="C9", client="Gamma", code_client="C9",
                                lignes=(dataclasses.replace(line, numero="G-7"),
                                        dataclasses.replace(line, numero="G-8", ligne=9)),
                                email="compta@gamma.fr")  # fmt: skip
    return list(L.render_letters(priced([first, other], settings), settings,
                                 tmp_path / "courriers").letters)  # fmt: skip


def test_copies_follow_letters_in_emails_and_report_lists_missing(tmp_path: Path) -> None:
    folder = tmp_path / "factures"
    pdf(folder / "F2026-014.pdf"), pdf(folder / "Facture F2026001 Dupont.pdf")
    pdf(folder / "G-8.pdf"), pdf(folder / "H-1.pdf")
    found = find_copies(rendered_letters(tmp_path), folder)
    dupont, gamma = found.letters
    assert dupont.copies == (folder / "Facture F2026001 Dupont.pdf", folder / "F2026-014.pdf")
    assert dupont.missing_copies == () and gamma.missing_copies == ("G-7",)
    assert gamma.copies == (folder / "G-8.pdf",)
    assert any("1 courrier(s) sans le duplicata" in w for w in found.warnings)
    drafts = write_drafts(found.letters, Settings(societe=L.SAMPLE_SOCIETE))
    message = email.message_from_bytes(drafts.letters[0].email.read_bytes(),
                                       policy=policy.default)  # fmt: skip
    assert [a.get_filename() for a in message.iter_attachments()] == [
        dupont.docx.name, "Facture F2026001 Dupont.pdf", "F2026-014.pdf"]


def test_number_in_two_letters_is_attached_to_none(tmp_path: Path) -> None:
    folder = tmp_path / "factures"
    pdf(folder / "F2026-001.pdf"), pdf(folder / "G-8.pdf")
    dupont, gamma = rendered_letters(tmp_path)
    line = dataclasses.replace(gamma.letter.lignes[0], numero="F2026-001")
    gamma = dataclasses.replace(gamma, priced=dataclasses.replace(
        gamma.priced, letter=dataclasses.replace(gamma.letter, lignes=(
            line, *gamma.letter.lignes[1:]))))
    found = find_copies([dupont, gamma], folder)
    assert found.letters[0].copies == () and found.letters[1].copies == (folder / "G-8.pdf",)
    assert "F2026-001" in found.letters[0].missing_copies
    assert any("plusieurs courriers" in w for w in found.warnings)


def test_no_folder_no_change(tmp_path: Path) -> None:
    letters = rendered_letters(tmp_path)
    assert find_copies(letters, None).letters == tuple(letters)
    missing = find_copies(letters, tmp_path / "absent")
    assert missing.letters == tuple(letters) and "introuvable" in missing.warnings[0]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice absent")
def test_print_batch_puts_copies_after_their_letter(tmp_path: Path) -> None:
    folder = tmp_path / "factures"
    pdf(folder / "F2026-001.pdf", pages=2, width=401)
    pdf(folder / "F2026-014.pdf", width=402)
    pdf(folder / "G-7.pdf", width=403)
    found = find_copies(rendered_letters(tmp_path), folder)
    out = tmp_path / "courriers"
    printed = print_batch([x.docx for x in found.letters], out, "a_imprimer.pdf",
                          [x.copies for x in found.letters])  # fmt: skip
    assert printed.batch is not None, printed.warnings
    widths = [round(float(p.mediabox.width)) for p in PdfReader(printed.batch).pages]
    letter_pages = [len(PdfReader(p).pages) for p in printed.pdfs]
    expected = ([595] * letter_pages[0] + [401, 401, 402]
                + [595] * letter_pages[1] + [403])
    assert widths == expected  # letter, its copies in invoice order, next letter, its copy


def test_run_attaches_copies_and_reports_missing(runner_cwd: Path) -> None:
    folder = runner_cwd / "Factures PDF"
    pdf(folder / "FA-1.pdf")
    (runner_cwd / "relance.toml").write_text('[factures]\ndossier = "Factures PDF"\n',
                                             encoding="utf-8")
    rows = [[*invoice(n, due, client="Alpha", code="C1"), "compta@alpha.fr"]
            for n, due in (("FA-1", "2026-09-01"), ("FA-2", "2026-09-02"))]
    export = write_xlsx(runner_cwd / "export.xlsx", rows, [*HEADERS, "E-mail"])
    result = run_cli("run", export, "--date", "2026-11-23", "--emails")
    assert result.exit_code == 0, result.output
    run_dir = runner_cwd / "courriers" / "2026-11-23"
    draft = email.message_from_bytes(next(run_dir.glob("*.eml")).read_bytes(),
                                     policy=policy.default)  # fmt: skip
    assert [a.get_filename() for a in draft.iter_attachments()][1:] == ["FA-1.pdf"]
    ws = load_workbook(next(run_dir.glob("rapport*.xlsx")))["Courriers"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("Duplicata manquants") + 1).value == "FA-2"
