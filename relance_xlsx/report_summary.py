"""The report's Synthèse sheet: the week's to-do list, counts and amounts per state, the
letters produced, the follow-up workbook's news, the files written, the warnings and a native
Excel bar chart. Written block by block with the report's cell helpers (report_xlsx.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Border

from .formatting import format_date_short, format_eur
from .model import ETATS, RunResult
from .report import column_rows, handed_over_now, overdue_total, state_table
from .report_sheet import ReportSheet
from .report_xlsx import (
    BOLD,
    C_TOTAL,
    CHARTED,
    GREY,
    L_CLAIMED,
    L_REGISTERED,
    L_TIER,
    SECTION_FONT,
    SHEETS,
    STATE_COLOURS,
    THIN,
    TITLE_FONT,
    _header,
    _print_setup,
    put,
)
from .tiers import LETTER_TIERS


def summary_sheet(
    ws: ReportSheet,
    result: RunResult,
    letters: Sequence[Sequence[Any]],
    calls: int,
    litigation: Sequence[Sequence[Any]],
    errors: int,
    warnings: Sequence[str],
) -> None:
    inv = result.invoices
    ws.title = SHEETS[0]
    put(ws, 1, 1, f"Relances au {format_date_short(result.run_date)}").font = TITLE_FONT
    source = f"Export « {result.source.name} »"
    if result.sheet:
        source += f", feuille « {result.sheet} »"
    put(ws, 2, 1, f"{source} — {len(inv)} ligne(s) lue(s)").font = GREY

    _todo_block(ws, letters, calls, litigation, len(handed_over_now(inv)), errors)
    top = 10
    row = _states_block(ws, inv, top)
    row = _letters_block(ws, letters, row + 2)
    row = _followup_block(ws, result, row + 2)
    row = _files_block(ws, result, row + 2)
    row = _columns_block(ws, result, row + 2)
    row = _warnings_block(ws, warnings, row + 2)
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 18
    ws.column_dimensions["D"].width = 3
    charted = [float(ws.cell(top + 1 + i, 3).value or 0) for i, e in enumerate(ETATS)
               if e.value in CHARTED]  # fmt: skip
    _state_chart(ws, top, max(charted, default=0.0))
    ws.sheet_view.showGridLines = False  # a dashboard, not a table
    _print_setup(ws, header_row=False)  # a dashboard: no header row to repeat


def _todo_block(ws: ReportSheet, letters: Sequence[Sequence[Any]], calls: int,
                litigation: Sequence[Sequence[Any]], new_handovers: int,
                errors: int) -> None:  # fmt: skip
    """What to do this week, first: the reason the report exists."""
    put(ws, 4, 1, "À faire cette semaine").font = SECTION_FONT
    registered = sum(1 for r in letters if r[L_REGISTERED] == "Oui")
    to_collect = sum(r[C_TOTAL] for r in litigation)
    todo = [
        ("Courriers à poster", len(letters),
         f"dont {registered} en recommandé avec AR — onglet « Courriers »" if registered
         else "onglet « Courriers »"),
        ("Clients à appeler", calls, "onglet « À appeler »"),
        ("Factures à transmettre au contentieux", new_handovers,
         f"{len(litigation)} facture(s) au contentieux, {_eur_text(to_collect)} à recouvrer "
         "— onglet « Contentieux »" if litigation else "onglet « Contentieux »"),
        ("Lignes illisibles à corriger dans l'export", errors, "onglet « Erreurs »"),
    ]  # fmt: skip
    for i, (label, count, where) in enumerate(todo, start=5):
        put(ws, i, 1, label)
        put(ws, i, 2, count, "int").font = BOLD
        put(ws, i, 3, where).font = GREY


def _states_block(ws: ReportSheet, inv: pd.DataFrame, top: int) -> int:
    """Counts and amounts per state (every state, 0 when absent: the chart reads these
    rows); returns the total's row."""
    _header(ws, top, ("État", "Factures", "Reste dû"), kinds=("text", "int", "eur"))
    table = state_table(inv).set_index("etat") if not inv.empty else None
    for i, state in enumerate(ETATS, start=top + 1):
        known = table is not None and state.value in table.index
        put(ws, i, 1, state.value)
        put(ws, i, 2, int(table.loc[state.value, "factures"]) if known else 0, "int")
        put(ws, i, 3, round(float(table.loc[state.value, "montant"]), 2) if known else 0.0,
            "eur")  # fmt: skip
    total_row = top + len(ETATS) + 1
    count, amount = overdue_total(inv)
    put(ws, total_row, 1, "Total échu").font = BOLD
    put(ws, total_row, 2, count, "int").font = BOLD
    put(ws, total_row, 3, amount, "eur").font = BOLD
    for col in (1, 2, 3):
        ws.cell(total_row, col).border = Border(top=THIN)

    return total_row


def _letters_block(ws: ReportSheet, letters: Sequence[Sequence[Any]], row: int) -> int:
    """Letters produced, per tier; returns the last row written."""
    _header(ws, row, ("Courriers produits", "Courriers", "Total réclamé"),
            kinds=("text", "int", "eur"))  # fmt: skip
    for t in LETTER_TIERS:
        row += 1
        mine = [r for r in letters if r[L_TIER] == t.label]
        label = t.label + (" (recommandé AR)" if t.registered else "")
        put(ws, row, 1, label)
        put(ws, row, 2, len(mine), "int")
        put(ws, row, 3, round(sum(r[L_CLAIMED] for r in mine), 2), "eur")
    row += 1
    put(ws, row, 1, "Total").font = BOLD
    put(ws, row, 2, len(letters), "int").font = BOLD
    put(ws, row, 3, round(sum(r[L_CLAIMED] for r in letters), 2), "eur").font = BOLD
    for col in (1, 2, 3):
        ws.cell(row, col).border = Border(top=THIN)

    return row


def _followup_block(ws: ReportSheet, result: RunResult, row: int) -> int:
    """What the accountant's follow-up workbook changes this week: promises not kept (the
    cycle resumes: call them), holds and promises falling due within the week."""
    put(ws, row, 1, "Suivi des clients (suivi_relances.xlsx)").font = SECTION_FONT
    items = [("Promesse non tenue", str(x)) for x in result.promesses_non_tenues]
    items += [("Cette semaine", x) for x in result.suivi_semaine]
    if not items:
        row += 1
        put(ws, row, 1, "Aucune promesse non tenue, aucune échéance de suivi cette semaine."
            ).font = GREY  # fmt: skip
    for label, text in items:
        row += 1
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, text)
    return row


def _files_block(ws: ReportSheet, result: RunResult, row: int) -> int:
    """Where things are: relative to the working folder (where relance.toml is), shorter."""
    base = Path(result.files.settings).resolve().parent if result.files.settings else \
        result.source.resolve().parent  # fmt: skip

    def where(path: object) -> str | None:
        if path is None:
            return None
        p = Path(str(path)).resolve()
        return str(p.relative_to(base)) if p.is_relative_to(base) else str(p)

    files = [
        ("Dossier de travail", str(base)),
        ("Courriers", where(result.out_dir) if result.letter_files else None),
        ("PDF à imprimer", where(result.files.print_batch)),
        ("Brouillons d'e-mails", f"{len(result.files.emails)} fichier(s) .eml à côté des "
         "courriers" if result.files.emails else None),
        ("Classeur avec la colonne de statut", where(result.workbook_written)),
        ("Sauvegarde du classeur d'origine", where(result.backup)),
        ("Journal des relances", where(result.files.journal)),
    ]  # fmt: skip
    put(ws, row, 1, "Fichiers").font = SECTION_FONT
    for label, value in files:
        if value:
            row += 1
            put(ws, row, 1, label)
            put(ws, row, 2, str(value)).font = GREY

    return row


def _columns_block(ws: ReportSheet, result: RunResult, row: int) -> int:
    """Which column of the export fed each field, as in the summary's « Colonnes lues »."""
    put(ws, row, 1, "Colonnes lues").font = SECTION_FONT
    for label, text in column_rows(result):
        row += 1
        put(ws, row, 1, label)
        put(ws, row, 2, text).font = GREY
    return row


def _warnings_block(ws: ReportSheet, warnings: Sequence[str], row: int) -> int:
    put(ws, row, 1, "Avertissements").font = SECTION_FONT
    if not warnings:
        row += 1
        put(ws, row, 1, "Aucun.").font = GREY
    for w in warnings:
        row += 1
        cell = put(ws, row, 1, w)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=10)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 15 * (1 + len(w) // 130)

    return row


def _eur_text(value: float) -> str:

    return format_eur(value)


def _state_chart(ws: ReportSheet, header_row: int, largest: float = 0.0) -> None:
    """Native bar chart of the amount outstanding per state (rows of ``CHARTED``).

    ``largest`` (the biggest charted amount) sets the axis a third beyond it, so the label
    of the longest bar stays inside the chart in every spreadsheet program.
    """
    names = [e.value for e in ETATS]
    first = header_row + 1 + names.index(CHARTED[0])
    last = header_row + 1 + names.index(CHARTED[-1])
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Reste dû par état"
    chart.legend = None
    chart.varyColors = False
    data = Reference(ws, min_col=3, min_row=first, max_row=last)
    labels = Reference(ws, min_col=1, min_row=first, max_row=last)
    chart.add_data(data, titles_from_data=False)
    chart.set_categories(labels)
    series = chart.series[0]
    for i, state in enumerate(CHARTED):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = STATE_COLOURS[state]
        point.graphicalProperties.line.solidFill = STATE_COLOURS[state]
        series.dPt.append(point)
    series.dLbls = DataLabelList()  # the amounts on the bars: no value axis needed
    series.dLbls.showVal = True
    for flag in ("showSerName", "showCatName", "showLegendKey", "showPercent"):
        setattr(series.dLbls, flag, False)
    chart.x_axis.scaling.orientation = "maxMin"  # first state on top, as in the table
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    chart.y_axis.delete = True
    chart.y_axis.majorGridlines = None
    if largest > 0:
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = round(largest * 1.35, 2)
    chart.gapWidth = 60
    chart.height = 8.5
    chart.width = 18
    ws.add_chart(chart, f"E{header_row}")


