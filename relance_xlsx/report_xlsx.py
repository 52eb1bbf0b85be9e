"""The run report as a workbook: what was done, what to post, whom to call, what to hand over.

``rapport – AAAA-MM-JJ.xlsx`` is saved beside the letters. Five sheets:

* Synthèse: the week's to-do list, counts and amounts per state, the letters produced,
  the files written, the run's warnings and a native Excel bar chart (amount per state).
* Courriers: one row per letter, in the order of the letters (and of the PDF print batch),
  with the address, so the registered-letter envelopes can be prepared.
* À appeler: clients at relance 2 (sent this run or earlier, no mise en demeure yet). The
  seeds advise alternating letters and calls; the call belongs between the second reminder
  and the formal notice, while it can still avoid it. Clients whose letter came back are not
  listed: returned mail is not tracked yet (no column, no setting for it). Clients who get a
  mise en demeure this run are not listed either: from then on the registered letter speaks.
  Then clients with an unallocated payment (ledger.py): which invoices does it pay?
  Their mise en demeure waits for the answer.
* Contentieux: invoices to hand over, with what a collection agency asks for (identity and
  contact, invoice, amounts, days late, date of the mise en demeure, interest and the 40 €
  indemnity as of the run date).
* Erreurs: rows that could not be read: sheet, row, reason.
* Balance âgée: open balances per client by days late (indicators.py), with a stacked chart
  of the largest balances; the Synthèse gets the totals, the DSO when the turnover is set
  and what each reminder tier recovers (from the journal, once it covers a full cycle).
* Délais de paiement: the D441-6 table (payment_terms.py), when the settings give a
  closing date.

Every text that comes from the export is written as a plain string, never a formula: a client
named "=HYPERLINK(…)" stays text. Amounts and dates are real numbers and dates (sortable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .amounts import RateTable, default_business_day, letter_amounts, load_rate_table
from .config import Settings
from .files import save_workbook_atomic
from .formatting import as_date, format_date_short, format_eur, to_decimal
from .ledger import UnallocatedCredit, by_client, unallocated_credits
from .model import Etat, LetterLine, PlannedLetter, RunResult
from .planning import client_details
from .report import OVERDUE, notice_held, to_call, to_hand_over
from .report_sheet import ReportSheet, discard
from .tiers import LAST_LETTER_LEVEL, tier

SHEETS = ("Synthèse", "Courriers", "À appeler", "Contentieux", "Erreurs")
# States charted on the summary sheet: the money still to collect (no paid, credit, error).
CHARTED = ("Non échue", "Litige", "En attente", "Relance 1", "Relance 2", "Mise en demeure",
           "Contentieux")  # fmt: skip
STATE_COLOURS = {
    "Non échue": "70AD47", "Litige": "A5A5A5", "En attente": "FFC000", "Relance 1": "F4B183",
    "Relance 2": "ED7D31", "Mise en demeure": "C00000", "Contentieux": "7B2C2C",
}  # fmt: skip

EUR = '#,##0.00\\ "€"_)'  # the trailing space keeps amounts off the next column's text
DATE = "DD/MM/YYYY"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FONT = "Calibri"  # a named font: a bare Font() would print in the viewer's default serif
TITLE_FONT = Font(name=FONT, bold=True, size=14)
SECTION_FONT = Font(name=FONT, bold=True, size=12)
BOLD = Font(name=FONT, bold=True)
GREY = Font(name=FONT, italic=True, color="666666")
CENTRED = Alignment(horizontal="center")
THIN = Side(style="thin", color="999999")


# --- rows: pure data, also what the tests compare against ----------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a table sheet: title, kind (text, eur, date, int) and width."""

    title: str
    kind: str = "text"
    width: float | None = None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _money(value: Any) -> float | None:
    """A cell amount rounded to the cent (numpy floats included), ``None`` when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(to_decimal(float(value)))


def letter_rows(result: RunResult) -> list[list[Any]]:
    """Courriers: one row per letter written by the run, in the order of the letters."""
    rows = []
    for written in result.rendered:
        letter, amounts = written.letter, written.priced.amounts
        invoices = [x.numero for x in letter.lignes]
        rows.append([
            letter.client, letter.code_client, letter.tier_name,
            "Oui" if tier(letter.niveau).registered else "Non", letter.contact, letter.adresse,
            letter.code_postal, letter.ville, ", ".join(invoices), len(invoices),
            float(amounts.total_du), float(amounts.total_reclame), letter.email,
            letter.telephone, written.docx.name, letter.pays_imprime,
            "Oui" if letter.adresse_incomplete else "", ", ".join(written.missing_copies),
        ])  # fmt: skip
    return rows


L_TIER, L_REGISTERED, L_CLAIMED = 2, 3, 11  # positions used by the summary sheet


# Envelope details first (the mise en demeure goes registered), then amounts and the file.
LETTER_COLUMNS = (
    Column("Client", width=30), Column("Code client", width=12), Column("Courrier", width=16),
    Column("Recommandé AR", width=13), Column("Contact", width=20),
    Column("Adresse", width=28), Column("Code postal", width=11), Column("Ville", width=20),
    Column("Factures", width=30), Column("Nb factures", "int", 10),
    Column("Total dû", "eur", 14), Column("Total réclamé", "eur", 15),
    Column("E-mail", width=26), Column("Téléphone", width=16), Column("Fichier", width=48),
    Column("Pays", width=14), Column("Adresse incomplète", width=12),
    Column("Duplicata manquants", width=30),
)  # fmt: skip


def call_rows(invoices: pd.DataFrame, run_date: date,
              broken: Sequence[Any] = ()) -> list[list[Any]]:  # fmt: skip
    """À appeler: clients whose payment promise was not kept (first: the cycle resumes,
    a call first), clients with a payment to allocate, then clients at relance 2 after
    this run (see the module docstring)."""
    credits = by_client(unallocated_credits(invoices))
    rows = _broken_promise_rows(invoices, broken) + _unallocated_rows(invoices, credits)
    # only the columns read here: a million-row table's every column copied would cost
    # hundreds of MB (at_two may be most of the table)
    at_two = to_call(invoices[["cle_client", "etat", "niveau_apres", "date_niveau",
                               "prochaine_etape", "date_prochaine_etape", "numero_facture",
                               "jours_retard"]] if len(invoices) else invoices)  # fmt: skip
    at_two = at_two[~at_two["cle_client"].isin({b.cle_client for b in broken} | set(credits))]
    if at_two.empty:
        return rows
    due_by_client = _owed(invoices[["cle_client", "etat", "reste_du"]]).groupby(
        "cle_client")["reste_du"].sum()  # fmt: skip
    details = client_details(invoices, at_two["cle_client"])
    groups: dict[str, dict[str, Any]] = {}
    columns = zip(at_two["cle_client"], at_two["etat"], at_two["date_niveau"],
                  at_two["prochaine_etape"], at_two["date_prochaine_etape"],
                  at_two["numero_facture"], at_two["jours_retard"], strict=True)  # fmt: skip
    for key, state, level_date, step, step_date, number, late in columns:
        g = groups.setdefault(str(key), {"now": False, "dates": [], "next": [], "numbers": [],
                                         "late": 0})  # fmt: skip
        g["now"] = g["now"] or state == Etat.RELANCE_2.value
        if as_date(level_date):
            g["dates"].append(as_date(level_date))
        if step == "mise en demeure" and as_date(step_date):
            g["next"].append(as_date(step_date))
        g["numbers"].append(_text(number))
        g["late"] = max(g["late"], int(late))
    calls = []
    for key, g in groups.items():
        d = details[key]
        sent_on = run_date if g["now"] else max(g["dates"], default=None)
        rows.append([
            d["client"] or d["code_client"], d["code_client"], d["contact"], d["telephone"],
            d["email"],
            "Relance 2 envoyée ce jour" if g["now"] else "Relance 2 envoyée, sans réponse",
            sent_on, ", ".join(g["numbers"]), _money(due_by_client.get(key, 0.0)), g["late"],
            min(g["next"], default=None), "",
        ])  # fmt: skip
    calls.sort(key=lambda r: (r[6] or date.min, -(r[8] or 0)), reverse=True)
    return rows + calls


def _unallocated_rows(invoices: pd.DataFrame,
                      credits: Mapping[str, tuple[UnallocatedCredit, ...]]) -> list[list[Any]]:
    """One row per client with an unallocated payment (ledger.py): which invoices does it
    pay? Its mise en demeure waits for the answer."""
    if not credits:
        return []
    mine, owed = _clients_rows(invoices, credits)
    due_by_client = owed.groupby("cle_client")["reste_du"].sum()
    late = mine.groupby("cle_client")["jours_retard"].max()
    unpaid = owed[owed["reste_du"] > 0].groupby("cle_client", sort=False)["numero_facture"]
    numbers_of = unpaid.agg(list).to_dict()
    details = client_details(invoices, credits)
    held = notice_held(invoices)
    rows = []
    for key, found in credits.items():
        d = details[key]
        numbers = numbers_of.get(key, [])
        situation = "Règlement non affecté, à imputer" + (
            " (mise en demeure suspendue)" if key in held else "")
        notes = "; ".join(
            f"{format_eur(c.montant)}" + (f" reçu le {format_date_short(c.date)}" if c.date
                                          else "")
            + (f" (pièce {c.numero}, ligne {c.ligne})" if c.numero else f" (ligne {c.ligne})")
            for c in found
        ) + " : demander quelles factures il règle, puis le lettrer"  # fmt: skip
        rows.append([
            d["client"] or d["code_client"], d["code_client"], d["contact"], d["telephone"],
            d["email"], situation, None, ", ".join(_text(n) for n in numbers),
            _money(due_by_client.get(key, 0.0)), int(late.get(key, 0)), None, notes,
        ])  # fmt: skip
    return rows


def _owed(rows: pd.DataFrame, handed_over: bool = False) -> pd.DataFrame:
    """The rows that make what a client owes net of its credit notes: overdue invoices and
    credit notes. Without ``handed_over``, not the invoices handed over: the figure its
    letter shows; with it, all it owes overdue, as the promise it did not keep."""
    etat = rows["etat"]
    owed = etat.isin(OVERDUE) | (etat == Etat.AVOIR.value)
    if not handed_over:
        owed &= etat != Etat.CONTENTIEUX.value
    return rows[owed]


def _clients_rows(invoices: pd.DataFrame, keys: Iterable[str], handed_over: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Some clients' rows (the columns the call sheet reads), and those they owe
    (``_owed``): these clients only, not the whole table copied once per client."""
    mine = invoices.loc[invoices["cle_client"].isin(set(keys)),
                        ["cle_client", "etat", "reste_du", "numero_facture", "jours_retard"]]
    return mine, _owed(mine, handed_over)


def _broken_promise_rows(invoices: pd.DataFrame, broken: Sequence[Any]) -> list[list[Any]]:
    """One row per promise not kept (followup.BrokenPromise), with what the client owes
    overdue, the invoices handed over included: the promise was made on its whole balance
    (a client handed over owes them, not its credit notes alone)."""
    if not broken or invoices.empty:
        return []
    mine, owed = _clients_rows(invoices, [b.cle_client for b in broken], handed_over=True)
    due_by_client = owed.groupby("cle_client")["reste_du"].sum()
    late = mine.groupby("cle_client")["jours_retard"].max()
    numbers_of = owed.groupby("cle_client", sort=False)["numero_facture"].agg(list).to_dict()
    details = client_details(invoices, [b.cle_client for b in broken])
    rows = []
    for b in broken:
        d = details.get(b.cle_client)
        if d is None:
            continue
        numbers = numbers_of.get(b.cle_client, [])
        rows.append([
            d["client"] or d["code_client"], d["code_client"], d["contact"], d["telephone"],
            d["email"], "Promesse de paiement non tenue", None,
            ", ".join(_text(n) for n in numbers), _money(due_by_client.get(b.cle_client, 0.0)),
            int(late.get(b.cle_client, 0)), None, str(b),
        ])  # fmt: skip
    return rows


CALL_COLUMNS = (
    Column("Client", width=30), Column("Code client", width=12), Column("Contact", width=22),
    Column("Téléphone", width=16), Column("E-mail", width=26), Column("Situation", width=30),
    Column("Relance 2 du", "date", 13), Column("Factures", width=26),
    Column("Échu à ce jour", "eur", 15), Column("Retard max (jours)", "int", 12),
    Column("Mise en demeure prévue le", "date", 15), Column("Notes de l'appel", width=40),
)  # fmt: skip


def litigation_rows(
    invoices: pd.DataFrame, settings: Settings, run_date: date, rates: RateTable | None = None
) -> tuple[list[list[Any]], tuple[str, ...]]:
    """Contentieux: one row per invoice to hand over, with interest and indemnity today."""
    chosen = to_hand_over(invoices)
    if chosen.empty:
        return [], ()
    rates = rates or load_rate_table(settings.taux_bce)
    details = client_details(invoices, chosen["cle_client"])
    business_day = default_business_day(settings.subdivision)
    records: dict[str, list[dict[str, Any]]] = {}
    for r in chosen.to_dict("records"):
        records.setdefault(str(r["cle_client"]), []).append(r)
    rows: list[list[Any]] = []
    warnings: list[str] = []
    for key, group in records.items():
        d = details[key]
        lines = tuple(
            LetterLine(
                numero=_text(r["numero_facture"]), date_facture=as_date(r["date_facture"]),
                date_echeance=as_date(r["date_echeance"]), montant_ttc=None,
                montant_regle=None, reste_du=to_decimal(float(r["reste_du"])),
                jours_retard=int(r["jours_retard"]), avoir=False, ligne=int(r["ligne"]),
            )  # fmt: skip
            for r in group
        )
        # A notional letter dated today gives the interest and indemnity as of today.
        letter = PlannedLetter(
            cle_client=key, client=d["client"], code_client=d["code_client"],
            niveau=LAST_LETTER_LEVEL,
            date=run_date, lignes=lines, particulier=d["particulier"],
        )  # fmt: skip
        amounts = letter_amounts(letter, settings, rates, business_day)
        warnings += [w for w in amounts.warnings if w not in warnings]
        for r, la in zip(group, amounts.lines, strict=True):
            rest = _money(r["reste_du"]) or 0.0
            interest, indemnity = float(la.interets), float(la.indemnite)
            rows.append([
                d["client"] or d["code_client"], d["code_client"], d["adresse"],
                d["code_postal"], d["ville"], d["contact"], d["telephone"], d["email"],
                _text(r["numero_facture"]), as_date(r["date_facture"]),
                as_date(r["date_echeance"]), _money(r["montant_ttc"]),
                _money(r["montant_regle"]), rest, int(r["jours_retard"]),
                as_date(r["date_mise_en_demeure"]),
                interest, indemnity, round(rest + interest + indemnity, 2),
                "Particulier" if amounts.particulier else "Professionnel",
            ])  # fmt: skip
    return rows, tuple(warnings)


C_TOTAL = 18  # position of « Total à recouvrer » in a litigation row


def litigation_columns(run_date: date) -> tuple[Column, ...]:
    day = format_date_short(run_date)
    return (
        Column("Client", width=30), Column("Code client", width=12),
        Column("Adresse", width=28), Column("Code postal", width=11), Column("Ville", width=20),
        Column("Contact", width=22), Column("Téléphone", width=16), Column("E-mail", width=26),
        Column("N° facture", width=14), Column("Date facture", "date", 13),
        Column("Échéance", "date", 13), Column("Montant TTC", "eur", 14),
        Column("Réglé", "eur", 13), Column("Reste dû", "eur", 14),
        Column("Jours de retard", "int", 10), Column("Mise en demeure du", "date", 14),
        Column(f"Intérêts au {day}", "eur", 15), Column("Indemnité forfaitaire", "eur", 13),
        Column("Total à recouvrer", "eur", 15), Column("Type de client", width=14),
    )  # fmt: skip


def error_rows(result: RunResult) -> list[list[Any]]:
    """Erreurs: rows that could not be read, with sheet, row and reason."""
    inv = result.invoices
    errors = inv[inv["etat"] == Etat.ERREUR.value] if not inv.empty else inv
    rows = [
        [result.sheet or result.source.name, int(r.ligne), _text(r.erreur),
         _text(r.numero_facture), _text(r.client) or _text(r.code_client)]
        for r in errors.itertuples(index=False)
    ]  # fmt: skip
    # the follow-up workbook's entries the tool could not use: where, and what to do
    rows += [[f"suivi_relances.xlsx – {e.sheet}", e.row, _text(e.message), "", ""]
             for e in result.suivi_erreurs]  # fmt: skip
    return rows


ERROR_COLUMNS = (
    Column("Feuille", width=20), Column("Ligne", "int", 8), Column("Raison", width=70),
    Column("N° facture", width=16), Column("Client", width=30),
)  # fmt: skip


# --- writing cells -------------------------------------------------------------------------


def put(ws: Worksheet | ReportSheet, row: int, col: int, value: Any, kind: str = "text") -> Any:
    """Write one cell; text is always a plain string (never a formula), numbers formatted."""
    return _fill(ws.cell(row=row, column=col), value, kind)


def _fill(cell: Any, value: Any, kind: str) -> Any:
    """``put``'s value and format, on a cell of either mode (normal or write-only)."""
    if value is None or value == "":
        cell.value = None
        return cell
    if kind == "text" or isinstance(value, str):
        text = str(value)
        if not text.isprintable():  # most cells: no control character, no regex pass
            text = ILLEGAL_CHARACTERS_RE.sub("", text)
        cell.value = text
        cell.data_type = "s"  # "=…" stays text: openpyxl would otherwise write a formula
        return cell
    if isinstance(value, Decimal):
        value = float(value)
    cell.value = value
    if kind == "eur":
        cell.number_format = EUR
    elif kind == "date":
        cell.number_format = DATE
        cell.alignment = CENTRED
    elif kind == "int":
        cell.number_format = "0"
        cell.alignment = CENTRED
    return cell


def _header(ws: Worksheet | ReportSheet, row: int, titles: Iterable[str], col: int = 1,
            kinds: Sequence[str] = ()) -> None:  # fmt: skip
    """Bold titles on a light fill; numbers' titles aligned like their numbers."""
    align = {"eur": "center", "date": "center", "int": "center"}
    for i, title in enumerate(titles):
        cell = put(ws, row, col + i, title)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.border = Border(bottom=THIN)
        kind = kinds[i] if i < len(kinds) else "text"
        cell.alignment = Alignment(horizontal=align.get(kind, "left"), vertical="center",
                                   wrap_text=True)  # fmt: skip


def _table_sheet(
    wb: Workbook,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    empty_message: str,
    note: str = "",
    note_only_with_rows: bool = False,
) -> ReportSheet:
    """A sheet with one table: bold header, frozen, filter, widths, landscape printing.
    Its rows stream to the sheet's file (report_sheet.py): what comes before them (widths,
    panes, page setup) is set first; what goes below them is put afterwards."""
    ws = ReportSheet(wb, title)
    _header(ws, 1, [c.title for c in columns], kinds=[c.kind for c in columns])
    ws.row_dimensions[1].height = 45  # three lines of a wrapped title
    for c, column in enumerate(columns, start=1):
        width = column.width or 14
        longest = max((len(_text(v[c - 1])) for v in rows[:500] if column.kind == "text"),
                      default=0)  # fmt: skip
        ws.column_dimensions[get_column_letter(c)].width = min(max(width, longest + 2), 60)
    ws.freeze_panes = "B2"
    _print_setup(ws)
    kinds = [c.kind for c in columns]
    last = ws.stream_rows([_fill(ws.new_cell(), v, k) for v, k in zip(values, kinds, strict=True)]
                          for values in rows)  # fmt: skip
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    else:
        put(ws, 2, 1, empty_message).font = GREY
        last = 2
    if note and (rows or not note_only_with_rows):
        put(ws, last + 2, 1, note).font = GREY
    return ws


def _print_setup(ws: Worksheet | ReportSheet, header_row: bool = True) -> None:
    """A4 landscape, one page wide; a table's header row repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row:  # openpyxl cannot take print titles back once set (None is ignored)
        ws.print_title_rows = "1:1"


# --- the workbook --------------------------------------------------------------------------


def build_report(result: RunResult, settings: Settings) -> Workbook:
    """The report workbook of a run (not saved), in openpyxl's write-only mode: a
    million-row run's tables stream to files instead of staying in memory as cells."""
    rates = load_rate_table(settings.taux_bce)
    letters = letter_rows(result)
    calls = call_rows(result.invoices, result.run_date, result.promesses_non_tenues)
    litigation, extra_warnings = litigation_rows(result.invoices, settings, result.run_date,
                                                 rates)  # fmt: skip
    errors = error_rows(result)
    warnings = list(result.warnings) + [w for w in extra_warnings if w not in result.warnings]

    wb = Workbook(write_only=True)
    try:
        _add_sheets(wb, result, settings, letters, calls, litigation, errors, warnings)
    except BaseException:
        discard(wb)
        raise
    wb.active = 0
    return wb


def _add_sheets(wb: Workbook, result: RunResult, settings: Settings, letters: list[list[Any]],
                calls: list[list[Any]], litigation: list[list[Any]], errors: list[list[Any]],
                warnings: list[str]) -> None:  # fmt: skip
    from .report_numbers import add_indicator_sheets
    from .report_summary import summary_sheet

    summary = ReportSheet(wb, SHEETS[0])  # first in the workbook, written last (finish)
    summary_sheet(summary, result, letters, len(calls), litigation, len(errors), warnings)
    sheets = [summary]
    sheets.append(_table_sheet(
        wb, SHEETS[1], LETTER_COLUMNS, letters, "Aucun courrier produit.",
        "Ordre des courriers = ordre du PDF à imprimer. « Recommandé AR » : à poster "
        "en lettre recommandée avec accusé de réception."))  # fmt: skip
    sheets.append(_table_sheet(
        wb, SHEETS[2], CALL_COLUMNS, calls, "Aucun client à appeler cette semaine.",
        "Clients en relance 2 sans mise en demeure : un appel avant le courrier "
        "formel. Notez chaque appel (et la promesse obtenue) dans la feuille "
        "« Échanges » de suivi_relances.xlsx : la prochaine exécution en tient "
        "compte. Les courriers revenus (NPAI) ne sont pas encore suivis."))  # fmt: skip
    sheets.append(_table_sheet(
        wb, SHEETS[3], litigation_columns(result.run_date), litigation,
        "Aucune facture à transmettre au contentieux.",
        f"Intérêts de retard et indemnité forfaitaire calculés au "
        f"{format_date_short(result.run_date)}, selon vos réglages."))  # fmt: skip
    sheets.append(_table_sheet(
        wb, SHEETS[4], ERROR_COLUMNS, errors, "Aucune ligne illisible.",
        "Corrigez ces lignes dans votre logiciel comptable ou dans l'export, "
        "puis relancez.", note_only_with_rows=True))  # fmt: skip
    sheets += add_indicator_sheets(wb, summary, result, settings)
    for sheet in sheets:
        sheet.finish()


def write_report(result: RunResult, settings: Settings, path: Path) -> Path:
    """Save the report atomically (a report open in Excel raises PermissionError)."""
    wb = build_report(result, settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_workbook_atomic(wb, path)
    except BaseException:
        discard(wb)
        raise
    return path
