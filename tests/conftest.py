"""Shared builders: exports as accountants' software writes them, and a CLI runner."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

HEADERS = ["Code client", "Client", "N° facture", "Date facture", "Échéance", "Montant TTC",
           "Réglé", "Reste dû"]  # fmt: skip


def invoice(
    number: str,
    due: date | str,
    amount: float | str = 1000.0,
    *,
    client: str = "Alpha SARL",
    code: str = "C001",
    paid: float | None = None,
    rest: float | str | None = None,
    issued: date | str | None = None,
) -> list[object]:
    """One export row in the HEADERS layout."""
    if rest is None and isinstance(amount, int | float):
        rest = round(amount - (paid or 0), 2)
    return [code, client, number, issued or due, due, amount, paid, rest]


def write_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]],
    headers: Sequence[str] = HEADERS,
    *,
    title_rows: Sequence[str] = ("Échéancier clients", ""),
    sheet: str = "Export",
) -> Path:
    """An export with title rows above the header, as most packages write it."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for t in title_rows:
        ws.append([t] if t else [])
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def priced(letters, settings):  # noqa: ANN001, ANN201 - PlannedLetter(s), Settings
    """Letters with their amounts (stage 5), as rendering and e-mail drafts take them."""
    from relance_xlsx.amounts import letter_amounts
    from relance_xlsx.model import PlannedLetter, PricedLetter

    if isinstance(letters, PlannedLetter):
        return PricedLetter(letters, letter_amounts(letters, settings))
    return [PricedLetter(x, letter_amounts(x, settings)) for x in letters]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*args: object, cwd: Path | None = None):
    """Invoke the CLI like a user would (French usage errors, exit codes)."""
    from relance_xlsx.cli import cli

    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def status_column(path: Path, sheet: str | None = None) -> dict[str, str]:
    """Invoice number -> status text, read back from a written workbook."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    header_row = None
    for row in ws.iter_rows(min_row=1, max_row=15):
        values = [c.value for c in row]
        if "Statut relance" in values:
            header_row = row[0].row
            status_col = values.index("Statut relance")
            number_col = next(
                i for i, v in enumerate(values) if isinstance(v, str) and "facture" in v.lower()
                or v in ("N° pièce", "Numéro")
            )
            break
    assert header_row is not None, "no status column"
    out = {}
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[number_col]:
            out[str(row[number_col])] = row[status_col] if len(row) > status_col else None
    return out


@pytest.fixture
def runner_cwd(tmp_path, monkeypatch):
    """Run in an empty folder so no stray relance.toml is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def all_text(path: Path) -> str:
    """Every visible text of a .docx: paragraphs, tables (nested), headers and footers."""
    import docx

    document = docx.Document(str(path))
    out: list[str] = []

    def walk(container) -> None:  # noqa: ANN001
        for p in container.paragraphs:
            out.append(p.text)
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    walk(cell)

    walk(document)
    for section in document.sections:
        walk(section.footer)
        walk(section.header)
    return "\n".join(out)
