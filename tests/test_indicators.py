"""Aged balance, DSO, D441-6 and recovery: every figure equal to a count made by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from conftest import HEADERS, invoice, run_cli, write_xlsx
from relance_xlsx.config import load_settings
from relance_xlsx.indicators import aged_balance, dso, load_recovery, recovery
from relance_xlsx.journal import JournalData
from relance_xlsx.payment_terms import payment_terms
from relance_xlsx.pipeline import classify_export
from relance_xlsx.reader import read_export

DAY = date(2026, 11, 23)  # the run date and the closing date
ISSUED = DAY - timedelta(days=200)


def ago(days: int) -> date:
    return DAY - timedelta(days=days)


def row(number: str, due: date, amount: float, client: str, code: str, *, paid: float = 0.0,
        dispute: str = "", issued: date = ISSUED) -> list[object]:  # fmt: skip
    return invoice(number, due, amount, client=client, code=code, paid=paid or None,
                   issued=issued) + [dispute]  # fmt: skip


# Each side of every edge: due in 10 days, due today, 1, 30/31, 60/61, 90/91 days late;
# a disputed invoice, a credit note, a paid one, a partly paid one, one issued after closing.
ROWS = [
    row("F-NE", ago(-10), 100, "Alpha", "C1"),
    row("F-0", DAY, 200, "Alpha", "C1"),
    row("F-1", ago(1), 300, "Alpha", "C1"),
    row("F-AFTER", ago(-32), 50, "Alpha", "C1", issued=ago(-2)),
    row("F-30", ago(30), 400, "Beta", "C2"),
    row("F-31", ago(31), 500, "Beta", "C2", paid=120),
    row("F-LIT", ago(45), 250, "Beta", "C2", dispute="oui"),
    row("F-60", ago(60), 600, "Gamma", "C3"),
    row("F-61", ago(61), 700, "Gamma", "C3"),
    row("F-90", ago(90), 800, "Delta", "C4"),
    row("F-91", ago(91), 900, "Delta", "C4"),
    row("AV-1", ago(20), -150, "Delta", "C4"),
    row("F-PAY", ago(40), 1000, "Delta", "C4", paid=1000),
    row("F-X", ago(100), 75, "=HYPERLINK(\"http://x\")", "C5"),
]
# By hand: client -> non échu, 1-30, 31-60, 61-90, > 90, credits, total
AGED = {
    "Alpha": (350.0, 300.0, 0.0, 0.0, 0.0, 0.0, 650.0),  # F-NE + F-0 + F-AFTER; F-1
    "Beta": (0.0, 400.0, 630.0, 0.0, 0.0, 0.0, 1030.0),  # F-30; F-31 (380) + F-LIT (250)
    "Gamma": (0.0, 0.0, 600.0, 700.0, 0.0, 0.0, 1300.0),
    "Delta": (0.0, 0.0, 0.0, 800.0, 900.0, -150.0, 1550.0),
    '=HYPERLINK("http://x")': (0.0, 0.0, 0.0, 0.0, 75.0, 0.0, 75.0),
}
AGED_TOTAL = (350.0, 700.0, 1230.0, 1500.0, 975.0, -150.0, 4605.0)
# D441-6 at the closing date: 0 jour, 1-30, 31-60, 61-90, 91+, total 1+ (F-AFTER, AV-1,
# F-PAY left out; F-LIT in (B))
D441_COUNTS = (2, 2, 2, 2, 2, 8)  # F-NE F-0 | F-1 F-30 | F-31 F-60 | F-61 F-90 | F-91 F-X
D441_AMOUNTS = (300.0, 700.0, 980.0, 1500.0, 975.0, 4155.0)


@pytest.fixture
def export(tmp_path):
    path = write_xlsx(tmp_path / "export.xlsx", ROWS, [*HEADERS, "Litige"])
    wb = load_workbook(path)
    for cells in wb.active.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a client really named so, as text in the export
    wb.save(path)
    return path


def classified(path, settings=None, on=DAY):
    settings = settings or load_settings(None)
    read = read_export(path, settings)
    return classify_export(read, settings, JournalData.empty(), on)[0]


def test_aged_balance_by_hand(export):
    aged = aged_balance(classified(export), DAY)
    got = {r.client: (*r.buckets, r.credits, r.total) for r in aged.rows}
    assert got == AGED
    assert (*aged.total.buckets, aged.total.credits, aged.total.total) == AGED_TOTAL


def test_payment_terms_by_hand(export):
    terms = payment_terms(classified(export), DAY, turnover=100000.0)
    assert terms.counts == D441_COUNTS
    assert terms.amounts == D441_AMOUNTS
    assert terms.percents == (0.003, 0.007, 0.0098, 0.015, 0.00975, 0.04155)
    assert (terms.disputed_count, terms.disputed_amount) == (1, 250.0)
    assert (terms.credit_notes, terms.after_closing) == (1, 1)
    assert payment_terms(classified(export), DAY).percents == (None,) * 6  # never guessed


def test_payment_terms_at_another_closing_date(export):
    """Lateness is counted to the closing date, not to the run date."""
    closing = DAY + timedelta(days=1)  # every invoice one day later: edges move by one
    terms = payment_terms(classified(export), closing)
    # F-NE | F-0 F-1 (1, 2 days) | F-30 (31) F-31 | F-60 (61) F-61 | F-90 (91) F-91 F-X
    assert terms.counts == (1, 2, 2, 2, 3, 9)
    assert terms.amounts == (100.0, 500.0, 780.0, 1300.0, 1775.0, 4355.0)


def test_dso_only_with_the_turnover():
    assert dso(4605.0, None) is None
    value = dso(4605.0, 120000.0)
    assert value is not None and value.days == round(4605 / 120000 * 365, 1) == 14.0
    assert "4\u00a0605,00\u00a0€ ÷ 120\u00a0000,00\u00a0€ × 365" in value.formula


def sheet_rows(ws, first: int, last: int, cols: int) -> list[tuple]:
    return [tuple(ws.cell(r, c).value for c in range(1, cols + 1)) for r in range(first, last)]


def test_report_sheets_and_summary(export, runner_cwd):
    (runner_cwd / "relance.toml").write_text(
        "[indicateurs]\nchiffre_affaires_ttc_12_mois = 120000\ndate_cloture = 2026-11-23\n"
        "chiffre_affaires_exercice_ttc = 100000\n", encoding="utf-8")  # fmt: skip
    result = run_cli("run", export, "--date", DAY.isoformat())
    assert result.exit_code == 0, result.output
    wb = load_workbook(runner_cwd / "courriers" / DAY.isoformat() / f"rapport – {DAY}.xlsx")
    ws = wb["Balance âgée"]
    assert ws.cell(1, 3).value == "Non échu" and ws.cell(1, 9).value == "Total"
    got = {r[0]: tuple(r[2:]) for r in sheet_rows(ws, 2, 2 + len(AGED), 9)}
    assert got == AGED
    total = sheet_rows(ws, 2 + len(AGED), 3 + len(AGED), 9)[0]
    assert total[0] == "Total" and tuple(total[2:]) == AGED_TOTAL
    name = ws.cell(2 + list(sorted(AGED, key=str.casefold)).index(
        '=HYPERLINK("http://x")'), 1)  # fmt: skip
    assert name.data_type == "s"  # text, never a formula
    assert ws.cell(2, 3).number_format.endswith('"€"_)')
    assert len(ws._charts) == 1 and ws._charts[0].grouping == "stacked"

    terms = wb["Délais de paiement"]
    assert [terms.cell(4, c).value for c in range(2, 8)] == [
        "0 jour (indicatif)", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours",
        "91 jours et plus", "Total (1 jour et plus)"]  # fmt: skip
    assert tuple(terms.cell(6, c).value for c in range(2, 8)) == D441_COUNTS
    assert tuple(terms.cell(7, c).value for c in range(2, 8)) == D441_AMOUNTS
    assert terms.cell(8, 7).value == pytest.approx(0.04155)
    assert terms.cell(7, 1).value == "Montant total des factures concernées (TTC)"
    assert (terms.cell(10, 2).value, terms.cell(11, 2).value) == (1, 250.0)

    summary = wb["Synthèse"]
    cells = {summary.cell(r, 1).value: (summary.cell(r, 2), summary.cell(r, 3))
             for r in range(1, summary.max_row + 1)}  # fmt: skip
    assert cells["Total net (onglet « Balance âgée »)"][1].value == 4605.0
    assert cells["Plus de 90 jours"][1].value == 975.0
    days = cells["DSO (délai moyen de paiement clients)"][0]
    assert days.value == 14.0 and days.comment is not None
    assert days.comment.text.startswith("DSO = encours clients TTC")
    assert any(str(k).startswith("DSO = encours clients TTC ÷") for k in cells)


def test_no_dso_and_no_d441_without_settings(export, runner_cwd):
    result = run_cli("run", export, "--date", DAY.isoformat())
    assert result.exit_code == 0, result.output
    wb = load_workbook(runner_cwd / "courriers" / DAY.isoformat() / f"rapport – {DAY}.xlsx")
    assert "Délais de paiement" not in wb.sheetnames and "Balance âgée" in wb.sheetnames
    labels = [c.value for c in wb["Synthèse"]["A"] if isinstance(c.value, str)]
    assert not any(x.startswith("DSO") for x in labels)


def test_delais_paiement_command(export, runner_cwd):
    result = run_cli("delais-paiement", export, "--cloture", "2026-11-23", "--ht",
                     "--ca", "100 000")  # fmt: skip
    assert result.exit_code == 0, result.output
    path = export.parent / "délais de paiement – 2026-11-23.xlsx"
    ws = load_workbook(path).active
    assert ws.title == "Délais de paiement"
    assert tuple(ws.cell(6, c).value for c in range(2, 8)) == D441_COUNTS
    assert tuple(ws.cell(7, c).value for c in range(2, 8)) == D441_AMOUNTS
    assert ws.cell(7, 1).value == "Montant total des factures concernées (HT)"
    assert ws.cell(8, 2).value == pytest.approx(0.003)
    assert ws.cell(8, 2).number_format == "0.00\\ %"
    assert ws.cell(5, 1).value == "(A) Tranches de retard de paiement"

    out = runner_cwd / "tableaux"
    result = run_cli("delais-paiement", export, "--cloture", "2026-11-23", "--out", out)
    assert result.exit_code == 0, result.output
    ws = load_workbook(out / "délais de paiement – 2026-11-23.xlsx").active
    assert ws.cell(8, 2).value is None  # no turnover: left empty, never guessed
    assert "(TTC)" in ws.cell(7, 1).value


@pytest.mark.parametrize("args, message", [
    (("--cloture", "31-12-2026"), "date « 31-12-2026 » incorrecte"),
    (("--cloture", "2026-12-31", "--ca", "beaucoup"), "montant « beaucoup » incorrect"),
    ((), "--cloture"),
])  # fmt: skip
def test_delais_paiement_usage_errors(export, runner_cwd, args, message):
    result = run_cli("delais-paiement", export, *args)
    assert result.exit_code == 2
    assert message in result.output


# --- recovery over weekly runs -------------------------------------------------------------

WEEKS = [date(2026, 10, 5) + timedelta(weeks=i) for i in range(8)]  # Mondays
DUE = date(2026, 9, 1)
# balances each week (None: gone from the export, i.e. paid)
BALANCES = {
    "A1": [1000, None, None, None, None, None, None, None],
    "B1": [500, 200, 200, 200, 200, None, None, None],
    "C1": [800, 800, 800, 800, 500, 500, 500, 500],
}
CLIENTS = {"A1": ("Client A", "CA"), "B1": ("Client B", "CB"), "C1": ("Client C", "CC")}


def weekly_runs(folder, weeks):
    for i, day in enumerate(weeks):
        rows = []
        for number, rests in BALANCES.items():
            if rests[i] is None:
                continue
            name, code = CLIENTS[number]
            amount = max(rests[0], 0)
            rows.append(invoice(number, DUE, amount, client=name, code=code,
                                paid=amount - rests[i], issued=date(2026, 8, 1)))  # fmt: skip
        path = write_xlsx(folder / f"export_{day}.xlsx", rows)
        result = run_cli("run", path, "--date", day.isoformat())
        assert result.exit_code == 0, result.output


def test_recovery_by_hand_over_weekly_runs(runner_cwd):
    """Relance 1 to A, B, C on 5/10; relance 2 to B and C on 19/10; mise en demeure to C
    on 23/11 (its windows not over yet). By hand:

    relance 1, chased 2 300 €: within 15 days (runs 12/10, 19/10) A 1 000 + B 300 = 1 300
    (56.52 %); within 30 days (to 4/11: runs to 2/11) + C 300 = 1 600 (69.57 %).
    relance 2, chased 200 + 800: within 15 days (26/10, 2/11) C 300 (30 %); within 30 days
    (to 18/11) B 200 (gone on 9/11) + C 300 = 500 (50 %).
    """
    weekly_runs(runner_cwd, WEEKS)
    data = load_recovery(runner_cwd / "journal_relances.sqlite")
    assert data is not None
    rec = recovery(data, WEEKS[-1])
    assert rec.complete and (rec.start, rec.end) == (WEEKS[0], WEEKS[-1])
    one, two, three = rec.tiers
    assert (one.letters, one.chased) == (3, 2300.0)
    assert one.windows == ((15, 3, 2300.0, 1300.0), (30, 3, 2300.0, 1600.0))
    assert (one.share(15), one.share(30)) == (0.5652, 0.6957)
    assert (two.letters, two.chased) == (2, 1000.0)
    assert two.windows == ((15, 2, 1000.0, 300.0), (30, 2, 1000.0, 500.0))
    assert (three.letters, three.chased) == (1, 500.0)
    assert three.windows == ((15, 0, 0.0, 0.0), (30, 0, 0.0, 0.0))
    assert three.share(30) is None

    report = runner_cwd / "courriers" / WEEKS[-1].isoformat() / f"rapport – {WEEKS[-1]}.xlsx"
    ws = load_workbook(report)["Synthèse"]
    rows = {ws.cell(r, 1).value: (ws.cell(r, 2).value, ws.cell(r, 3).value)
            for r in range(1, ws.max_row + 1)}  # fmt: skip
    assert rows["Relance 1 : 3 courrier(s), 2\u00a0300,00\u00a0€"] == (0.5652, 0.6957)
    assert rows["Relance 2 : 2 courrier(s), 1\u00a0000,00\u00a0€"] == (0.3, 0.5)


def test_recovery_hidden_before_a_full_cycle(runner_cwd):
    weekly_runs(runner_cwd, WEEKS[:3])
    rec = recovery(load_recovery(runner_cwd / "journal_relances.sqlite"), WEEKS[2])
    assert not rec.complete
    report = runner_cwd / "courriers" / WEEKS[2].isoformat() / f"rapport – {WEEKS[2]}.xlsx"
    texts = [c.value for c in load_workbook(report)["Synthèse"]["A"] if c.value]
    assert any(str(t).startswith("Affiché quand le journal couvre") for t in texts)
    assert not any(str(t).startswith("Relance 1 :") for t in texts)


def test_a_first_run_does_not_read_the_balances_back(runner_cwd):
    # no letter is 15 days old: what the runs saw (a million rows a run) is not read back
    weekly_runs(runner_cwd, WEEKS[:1])
    data = load_recovery(runner_cwd / "journal_relances.sqlite")
    assert data is not None and data.balances.empty and len(data.lines) == 3
    one = recovery(data, WEEKS[0]).tiers[0]
    assert (one.letters, one.chased) == (3, 2300.0)
    assert one.windows == ((15, 0, 0.0, 0.0), (30, 0, 0.0, 0.0))
