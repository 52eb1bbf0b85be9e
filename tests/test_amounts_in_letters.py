"""The figures of the law, computed by hand, printed in the letters (through the CLI)."""

from __future__ import annotations

from datetime import date

from docx import Document

from conftest import run_cli, status_column, write_xlsx

HEADERS = ["Code client", "Client", "N° facture", "Date facture", "Échéance", "Montant TTC",
           "Réglé", "Reste dû", "Niveau de relance", "Date dernière relance",
           "Type client"]  # fmt: skip


def docx_text(path) -> str:
    doc = Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts).replace("\u00a0", " ").replace("\u202f", " ")


def test_relance_2_and_mise_en_demeure_show_the_hand_computed_figures(runner_cwd):
    # 10 000,00 € due 10/06/2025, letter of 01/09/2025, default rate:
    # 20 days at 13,15 % (ECB 3,15 + 10, first half 2025) = 72,055 €
    # 63 days at 12,15 % (ECB 2,15 + 10, second half 2025) = 209,712 €  -> 281,77 €
    # + 40,00 € indemnity -> 10 321,77 € claimed.
    rows = [
        ["C1", "Alpha Industrie", "FA-100", date(2025, 5, 10), date(2025, 6, 10), 10000.0,
         None, 10000.0, 2, date(2025, 7, 15), "Professionnel"],
        ["C2", "Beta Services", "FA-200", date(2025, 5, 10), date(2025, 6, 10), 10000.0,
         None, 10000.0, 1, date(2025, 8, 1), "Professionnel"],
        ["C3", "Mme Gamma", "FA-300", date(2025, 5, 10), date(2025, 6, 10), 1000.0,
         None, 1000.0, 1, date(2025, 8, 1), "Particulier"],
    ]  # fmt: skip
    export = write_xlsx(runner_cwd / "export.xlsx", rows, HEADERS)
    result = run_cli("run", export, "--date", "2025-09-01")
    assert result.exit_code == 0, result.output
    statuses = status_column(export)
    assert statuses["FA-100"].startswith("Mise en demeure – 01/09/2025")
    assert statuses["FA-200"].startswith("Relance 2 – 01/09/2025")
    folder = runner_cwd / "courriers" / "2025-09-01"

    med = docx_text(folder / "Alpha Industrie – Mise en demeure – 2025-09-01.docx")
    for figure in ("10 000,00 €", "281,77 €", "40,00 €", "10 321,77 €",
                   "dix mille trois cent vingt et un euros et soixante-dix-sept centimes",
                   "L441-10", "FA-100", "Alpha Industrie"):  # fmt: skip
        assert figure in med, figure
    # deadline: 01/09/2025, received Thu 04/09 (3 business days) + 8 days = Fri 12/09/2025
    assert "12 septembre 2025" in med and "à compter de la réception de la présente" in med
    assert "{{" not in med and "{%" not in med

    r2 = docx_text(folder / "Beta Services – Relance 2 – 2025-09-01.docx")
    for figure in ("281,77 €", "40,00 €", "10 321,77 €", "L441-10", "FA-200"):
        assert figure in r2, figure

    # a consumer at relance 2: no indemnity, no penalty amounts
    consumer = docx_text(folder / "Mme Gamma – Relance 2 – 2025-09-01.docx")
    assert "FA-300" in consumer and "1 000,00 €" in consumer
    assert "40,00 €" not in consumer
    assert "28,18 €" not in consumer  # what 1 000 € would earn at the B2B rate


def test_settings_rate_is_used_in_the_letter(runner_cwd):
    (runner_cwd / "relance.toml").write_text("[montants]\ntaux_penalites = 15\n", encoding="utf-8")
    rows = [["C1", "Alpha Industrie", "FA-100", date(2025, 5, 10), date(2025, 6, 10), 10000.0,
             None, 10000.0, 1, date(2025, 8, 1), ""]]  # fmt: skip
    export = write_xlsx(runner_cwd / "export.xlsx", rows, HEADERS)
    assert run_cli("run", export, "--date", "2025-09-01").exit_code == 0
    text = docx_text(runner_cwd / "courriers" / "2025-09-01" /
                     "Alpha Industrie – Relance 2 – 2025-09-01.docx")  # fmt: skip
    # 10 000 × 15 % × 83 / 365 = 341,0958… -> 341,10 € ; + 40 -> 10 381,10 €
    assert "341,10 €" in text and "10 381,10 €" in text and "15,00 %" in text
