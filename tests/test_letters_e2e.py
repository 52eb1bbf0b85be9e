"""Every letter of the demo export, end to end through the CLI: content, and LibreOffice."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from conftest import digest, run_cli
from relance_xlsx.formatting import format_eur
from relance_xlsx.letters import variables_table

RUN = "2026-11-23"


def text_of(path: Path) -> str:
    doc = docx.Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
            for cell in row.cells:
                for inner in cell.tables:
                    for r in inner.rows:
                        parts.extend(c.text for c in r.cells)
    for section in doc.sections:
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


@pytest.fixture
def demo_run(runner_cwd):
    from make_sample import build

    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    from datetime import date

    from relance_xlsx.pipeline import RunOptions, run

    result = run(RunOptions(export=export, run_date=date(2026, 11, 23)))
    return runner_cwd, result


def test_every_demo_letter_names_client_invoices_and_total(demo_run):
    folder, result = demo_run
    assert len(result.letter_files) == len(result.letters) >= 10
    assert sum(x.deja_relancee for x in result.letters) >= 2  # some mixed histories
    for letter, path in zip(result.letters, result.letter_files, strict=True):
        text = text_of(path)
        assert "{{" not in text and "{%" not in text, path.name
        assert letter.client in text, path.name
        for line in letter.lignes:
            assert line.numero in text, (path.name, line.numero)
        assert format_eur(letter.solde) in text, (path.name, format_eur(letter.solde))
        # each invoice tells its own history; no earlier reminder is claimed for the others
        told = [line.relancee_le for line in letter.lignes if line.relancee_le]
        assert text.count("relancée le") == len(told), path.name
        for day in told:
            assert f"relancée le {day:%d/%m/%Y}" in text, (path.name, day)
        if not letter.deja_relancee:
            assert "Malgré" not in text and "Par courrier du" not in text, path.name


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice absent")
def test_every_demo_letter_opens_in_libreoffice(demo_run, tmp_path):
    _folder, result = demo_run
    out = tmp_path / "pdf"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, result.letter_files)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    for path in result.letter_files:
        pdf = out / (path.stem + ".pdf")
        assert pdf.exists() and pdf.stat().st_size > 5000, path.name
        assert pdf.read_bytes().startswith(b"%PDF")


def test_run_with_a_broken_template_writes_nothing(runner_cwd):
    from make_sample import build

    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    models = runner_cwd / "modeles"
    models.mkdir()
    import docx as _docx

    doc = _docx.Document()
    doc.add_paragraph("Bonjour {{ client_nom }}, {{ date_courrier")
    doc.save(models / "relance_1.docx")
    (runner_cwd / "relance.toml").write_text('[modeles]\ndossier = "modeles"\n',
                                             encoding="utf-8")  # fmt: skip
    before = digest(export)
    result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 1, result.output
    assert "relance_1.docx" in result.output and "Traceback" not in result.output
    assert digest(export) == before
    assert not (runner_cwd / "courriers").exists()
    assert not (runner_cwd / "journal_relances.sqlite").exists()


def test_templates_command_lists_and_checks(runner_cwd):
    result = run_cli("modeles", "--variables")
    assert result.exit_code == 0 and "client.nom" in result.output
    assert variables_table() in result.output
    result = run_cli("modeles")
    assert result.exit_code == 0 and "Modèles corrects" in result.output
