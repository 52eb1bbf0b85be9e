"""The report's numbers: the aged balance sheet, the D441-6 sheet and the indicators on
the Synthèse (aged-balance totals, DSO, what each reminder tier recovers).

The figures are computed by indicators.py and payment_terms.py; this module only writes
them, with the report's cell helpers (report_xlsx.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .config import Settings
from .formatting import format_date_short, format_eur
from .indicators import (
    BUCKETS,
    CREDITS,
    CYCLE_DAYS,
    WINDOWS,
    AgedBalance,
    Dso,
    Recovery,
    aged_balance,
    dso,
    load_recovery,
    recovery,
)
from .model import RunResult
from .payment_terms import COLUMNS as TERMS_COLUMNS
from .payment_terms import PaymentTerms, payment_terms
from .report_sheet import ReportSheet
from .report_xlsx import (
    BOLD,
    CENTRED,
    GREY,
    HEADER_FILL,
    SECTION_FONT,
    THIN,
    TITLE_FONT,
    Column,
    _header,
    _print_setup,
    _table_sheet,
    put,
)

AGED_SHEET, TERMS_SHEET = "Balance âgée", "Délais de paiement"
BUCKET_COLOURS = ("70AD47", "FFC000", "F4B183", "ED7D31", "C00000")
PERCENT = "0.00\\ %"
DAYS = '0.0\\ "jours"'
CHARTED_CLIENTS = 10  # largest balances in the aged-balance chart, the rest as « Autres »


# --- the numbers: aged balance, DSO, recovery, D441-6 -------------------------------------


@dataclass(frozen=True)
class Indicators:
    """The figures of the indicator sheets, computed once per report."""

    aged: AgedBalance
    dso: Dso | None
    recovery: Recovery | None
    terms: PaymentTerms | None
    warnings: tuple[str, ...] = ()


def compute_indicators(result: RunResult, settings: Settings) -> Indicators:
    """Aged balance and DSO always; recovery when a journal exists; D441-6 with a closing date.

    The journal is only read: a damaged one costs the recovery figures, not the report.
    """
    ind = settings.indicateurs
    aged = aged_balance(result.invoices, result.run_date)
    warnings: list[str] = []
    found = None
    if result.files.journal is not None:
        try:
            data = load_recovery(Path(result.files.journal))
            found = recovery(data, result.run_date) if data is not None else None
        except Exception as exc:  # noqa: BLE001 - an indicator, never a failed report
            warnings.append(f"Efficacité des relances non calculée ({exc}).")
    terms = None
    if ind.date_cloture is not None:
        terms = payment_terms(result.invoices, ind.date_cloture,
                              ind.chiffre_affaires_exercice_ttc)  # fmt: skip
    return Indicators(aged, dso(aged.total.total, ind.chiffre_affaires_ttc_12_mois), found,
                      terms, tuple(warnings))  # fmt: skip


def add_indicator_sheets(wb: Workbook, summary: ReportSheet, result: RunResult,
                         settings: Settings) -> list[ReportSheet]:  # fmt: skip
    """The sheets « Balance âgée » and « Délais de paiement », and the Synthèse's figures
    (``summary``). Returns the sheets added, to finish before saving (report_sheet.py)."""
    ind = compute_indicators(result, settings)
    sheets = [aged_sheet(wb, ind.aged)]
    if ind.terms is not None:
        source = f"Export « {result.source.name} » du {format_date_short(result.run_date)}"
        sheets.append(payment_terms_sheet(ReportSheet(wb, TERMS_SHEET), ind.terms, source,
                                          result.run_date))  # fmt: skip
    _summary_indicators(summary, ind)
    return sheets


AGED_COLUMNS = (
    Column("Client", width=30), Column("Code client", width=12),
    *(Column(b, "eur", 14) for b in BUCKETS), Column(CREDITS, "eur", 16),
    Column("Total", "eur", 15),
)  # fmt: skip


def aged_rows(aged: AgedBalance) -> list[list[Any]]:
    """Balance âgée: one row per client (also what the tests compare against)."""
    return [[r.client, r.code_client, *r.buckets, r.credits, r.total] for r in aged.rows]


def aged_sheet(wb: Workbook, aged: AgedBalance) -> ReportSheet:
    """Per client and in total, with the stacked chart of the largest balances."""
    rows = aged_rows(aged)
    ws = _table_sheet(wb, AGED_SHEET, AGED_COLUMNS, rows, "Aucune facture ouverte.")
    last = max(len(rows) + 1, 2)
    total = [aged.total.client, "", *aged.total.buckets, aged.total.credits, aged.total.total]
    for c, (column, value) in enumerate(zip(AGED_COLUMNS, total, strict=True), start=1):
        cell = put(ws, last + 1, c, value, column.kind)
        cell.font = BOLD
        cell.border = Border(top=THIN)
    note = put(ws, last + 3, 1,
               f"Reste dû au {format_date_short(aged.on)} par retard en jours calendaires depuis "
               "l'échéance (échéance du jour : non échu). Factures en litige comprises ; avoirs "
               "et règlements non affectés déduits du total ; factures payées et lignes "
               "illisibles exclues.")  # fmt: skip
    note.font = GREY
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=last + 3, start_column=1, end_row=last + 3,
                   end_column=len(AGED_COLUMNS))  # fmt: skip
    ws.row_dimensions[last + 3].height = 30
    if rows:
        _aged_chart(ws, aged, last + 5)
    return ws


def _aged_chart(ws: ReportSheet, aged: AgedBalance, top: int) -> None:
    """Below the table: the largest balances (plus all the others) and their stacked bars."""
    ranked = sorted(aged.rows, key=lambda r: -sum(max(b, 0.0) for b in r.buckets))
    shown, rest = ranked[:CHARTED_CLIENTS], ranked[CHARTED_CLIENTS:]
    _header(ws, top, ("Graphique : plus gros encours", "", *BUCKETS),
            kinds=("text", "text") + ("eur",) * len(BUCKETS))  # fmt: skip
    ws.row_dimensions[top].height = 30
    lines = [(r.client, r.buckets) for r in shown]
    if rest:
        others = tuple(round(sum(r.buckets[i] for r in rest), 2) for i in range(len(BUCKETS)))
        lines.append((f"Autres clients ({len(rest)})", others))
    for i, (name, buckets) in enumerate(lines, start=top + 1):
        put(ws, i, 1, name)
        for j, value in enumerate(buckets, start=3):
            put(ws, i, j, value, "eur")
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.style = 10
    chart.title = f"Balance âgée au {format_date_short(aged.on)} : plus gros encours"
    data = Reference(ws, min_col=3, max_col=2 + len(BUCKETS), min_row=top,
                     max_row=top + len(lines))  # fmt: skip
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(lines)))
    for series, colour in zip(chart.series, BUCKET_COLOURS, strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.x_axis.scaling.orientation = "maxMin"  # largest on top, as in the block
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.majorGridlines = None
    chart.legend.position = "b"
    chart.gapWidth = 50
    chart.height = 3 + 0.8 * len(lines)
    chart.width = 24
    ws.add_chart(chart, f"A{top + len(lines) + 2}")


def payment_terms_sheet(
    ws: Worksheet | ReportSheet, terms: PaymentTerms, source: str, export_day: date | None = None
) -> Worksheet | ReportSheet:
    """The D441-6 table in the layout of the official model, with its labels."""
    ws.title = TERMS_SHEET
    basis = terms.basis
    put(ws, 1, 1, "Délais de paiement clients – article D. 441-6 du Code de commerce"
        ).font = TITLE_FONT  # fmt: skip
    put(ws, 2, 1, f"Article D. 441 I.-2° : Factures émises non réglées à la date de clôture "
        f"de l'exercice dont le terme est échu — clôture au "
        f"{format_date_short(terms.closing)}").font = BOLD  # fmt: skip
    _header(ws, 4, ("", *TERMS_COLUMNS), kinds=("text",) + ("eur",) * len(TERMS_COLUMNS))
    ws.row_dimensions[4].height = 30

    def section(row: int, text: str) -> None:
        cell = put(ws, row, 1, text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=7)

    def label(row: int, text: str) -> None:
        put(ws, row, 1, text).alignment = Alignment(wrap_text=True, vertical="center")

    section(5, "(A) Tranches de retard de paiement")
    label(6, "Nombre de factures concernées")
    label(7, f"Montant total des factures concernées ({basis})")
    label(8, f"Pourcentage du chiffre d'affaires de l'exercice ({basis})")
    for c, (count, amount, share) in enumerate(
            zip(terms.counts, terms.amounts, terms.percents, strict=True), start=2):
        put(ws, 6, c, count, "int")
        put(ws, 7, c, amount, "eur")
        if share is not None:
            put(ws, 8, c, share, "pct").number_format = PERCENT
    section(9, "(B) Factures exclues du (A) relatives à des dettes et créances litigieuses ou "
            "non comptabilisées")  # fmt: skip
    label(10, "Nombre des factures exclues")
    label(11, f"Montant total des factures exclues ({basis})")
    put(ws, 10, 2, terms.disputed_count, "int")
    put(ws, 11, 2, terms.disputed_amount, "eur")
    section(12, "(C) Délais de paiement de référence utilisés (contractuel ou délai légal – "
            "article L. 441-10 du Code de commerce)")  # fmt: skip
    label(13, "Délais de paiement utilisés pour le calcul des retards de paiement")
    put(ws, 13, 2, "☒ Délais contractuels : échéances figurant dans l'export")
    put(ws, 14, 2, "☐ Délais légaux")
    for row in (10, 11, 13, 14):
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=7)
    for row in range(4, 15):
        for col in range(1, 8):
            cell = ws.cell(row, col)
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            if col > 1 and row not in (4, 13, 14):
                cell.alignment = Alignment(horizontal="center" if row in (6, 10) else "right",
                                           vertical="center")  # fmt: skip
    for row in (6, 7, 8, 10, 11, 13):
        ws.row_dimensions[row].height = 30

    notes = _terms_notes(terms, source, export_day)
    for i, note in enumerate(notes, start=16):
        put(ws, i, 1, note).font = GREY
    ws.column_dimensions["A"].width = 46
    for col in range(2, 8):
        ws.column_dimensions[get_column_letter(col)].width = 15
    ws.sheet_view.showGridLines = False
    _print_setup(ws)
    ws.print_title_rows = None
    return ws


def _terms_notes(terms: PaymentTerms, source: str, export_day: date | None) -> list[str]:
    """The notes under the D441-6 table: what was counted, and what was not."""
    basis = terms.basis
    notes = [
        f"{source}. Montants {basis} restant dus (une facture payée en partie compte pour son "
        "solde) ; retard en jours calendaires de l'échéance à la date de clôture.",
        "Avoirs exclus (jamais comptés comme factures)"
        + (f" : {terms.credit_notes} ligne(s)." if terms.credit_notes else "."),
        "Factures en litige : en (B), pas en (A).",
    ]
    if terms.after_closing:
        notes.append(f"{terms.after_closing} facture(s) datée(s) après la clôture exclue(s).")
    if terms.turnover:
        notes.append(f"Chiffre d'affaires {basis} de l'exercice : {format_eur(terms.turnover)}.")
    else:
        notes.append("Pourcentages non remplis : chiffre d'affaires de l'exercice non indiqué "
                     "(option --ca, ou [indicateurs] dans relance.toml).")  # fmt: skip
    if export_day is not None and export_day != terms.closing:
        notes.append(f"Attention : soldes de l'export du {format_date_short(export_day)}, pas "
                     "de la date de clôture. Pour le rapport de gestion, utilisez l'export "
                     "arrêté à la clôture (relance-xlsx delais-paiement).")  # fmt: skip
    return notes


def _summary_indicators(ws: ReportSheet, ind: Indicators) -> None:
    """Below the Synthèse: aged-balance totals, DSO, recovery per tier."""
    row = ws.max_row + 2
    aged = ind.aged
    _header(ws, row, (f"Balance âgée au {format_date_short(aged.on)}", "", "Reste dû"),
            kinds=("text", "int", "eur"))  # fmt: skip
    for name, value in (*zip(BUCKETS, aged.total.buckets, strict=True),
                        (CREDITS, aged.total.credits)):  # fmt: skip
        row += 1
        put(ws, row, 1, name)
        put(ws, row, 3, value, "eur")
    row += 1
    put(ws, row, 1, "Total net (onglet « Balance âgée »)").font = BOLD
    put(ws, row, 3, aged.total.total, "eur").font = BOLD
    for col in (1, 2, 3):
        ws.cell(row, col).border = Border(top=THIN)
    if ind.dso is not None:
        row += 2
        put(ws, row, 1, "DSO (délai moyen de paiement clients)").font = BOLD
        cell = put(ws, row, 2, ind.dso.days, "int")
        cell.number_format = DAYS
        cell.font = BOLD
        cell.comment = Comment(ind.dso.formula, "relance-xlsx", width=320, height=90)
        row += 1
        _summary_note(ws, row, ind.dso.formula)
    if ind.terms is not None:
        row += 2
        put(ws, row, 1, f"Délais de paiement (D441-6) au "
            f"{format_date_short(ind.terms.closing)}").font = BOLD  # fmt: skip
        put(ws, row, 3, f"{ind.terms.counts[-1]} facture(s) en retard, "
            f"{format_eur(ind.terms.amounts[-1])} — onglet « {TERMS_SHEET} »").font = GREY
    row += 2
    rec = ind.recovery
    if rec is None or not rec.complete:
        put(ws, row, 1, "Ce que rapporte chaque relance").font = SECTION_FONT
        _summary_note(ws, row + 1, f"Affiché quand le journal couvre au moins un cycle complet "
                      f": un courrier suivi d'exécutions pendant {CYCLE_DAYS} jours.")
        return
    labels = tuple(f"Payé sous {d} j" for d in WINDOWS)
    _header(ws, row, ("Ce que rapporte chaque relance", *labels),
            kinds=("text",) + ("int",) * len(labels))  # fmt: skip
    ws.row_dimensions[row].height = 30
    for t in rec.tiers:
        row += 1
        put(ws, row, 1, f"{t.label} : {t.letters} courrier(s), {format_eur(t.chased)}")
        for j, d in enumerate(WINDOWS, start=2):
            share = t.share(d)
            if share is not None:
                put(ws, row, j, share, "pct").number_format = "0\\ %"
                ws.cell(row, j).alignment = CENTRED
    row += 1
    period = f"du {format_date_short(rec.start)} au {format_date_short(rec.end)}" \
        if rec.start and rec.end else ""  # fmt: skip
    _summary_note(ws, row, f"Courriers des 12 derniers mois ({period}) : part du montant "
                  "relancé payée dans les 15 et 30 jours suivant le courrier, selon les exports "
                  "des exécutions suivantes (facture disparue ou solde en baisse). Seuls "
                  "comptent les courriers dont le délai est écoulé.")  # fmt: skip
    for extra in ind.warnings:
        row += 1
        _summary_note(ws, row, extra)


def _summary_note(ws: Worksheet | ReportSheet, row: int, text: str) -> None:
    """A grey note wrapped over the Synthèse's three columns: no text past the page."""
    cell = put(ws, row, 1, text)
    cell.font = GREY
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    ws.row_dimensions[row].height = 13 * (1 + len(text) // 80)
