"""The report: the short French summary printed and saved at the end of a run.

Pure functions from the run's data to text; the pipeline decides where it goes. The
selections « à appeler » and « contentieux » live here too, shared by the text summary and
the report workbook (report_xlsx.py), so both always name the same clients.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from openpyxl.utils import get_column_letter

from .columns import CONTENT
from .fields import LABELS
from .formatting import format_date_short, format_eur
from .ledger import UnallocatedCredit, by_client, unallocated_credits
from .model import ETATS, PlannedLetter, RunResult
from .parsing import normalise
from .planning import client_details
from .policy import next_step_text
from .tiers import LAST_LETTER_LEVEL, LETTER_TIERS, TIERS, Etat, tier

MAX_ERRORS_SHOWN = 20
MAX_NAMES_SHOWN = 5
OVERDUE = ("En attente", *(t.label for t in TIERS))


def to_call(invoices: pd.DataFrame) -> pd.DataFrame:
    """Overdue invoices at relance 2 after this run (no mise en demeure yet): phone them.

    Returned mail (« courrier revenu ») is not tracked yet, so it cannot add anyone here.
    """
    if invoices.empty:
        return invoices
    overdue = invoices["etat"].isin(OVERDUE)
    # a client under formal notice or handed over is the registered letter's or the
    # agency's business now, not a phone call's
    noticed = invoices.loc[overdue & (invoices["niveau_apres"] >= LAST_LETTER_LEVEL), "cle_client"]
    before_notice = invoices["niveau_apres"] == LAST_LETTER_LEVEL - 1
    return invoices[before_notice & overdue & ~invoices["cle_client"].isin(set(noticed))]


def to_hand_over(invoices: pd.DataFrame) -> pd.DataFrame:
    """Invoices past the last step: to hand to a collection agency."""
    if invoices.empty:
        return invoices
    return invoices[invoices["etat"] == Etat.CONTENTIEUX]


def handed_over_now(invoices: pd.DataFrame) -> pd.DataFrame:
    """The invoices this run hands over: the Contentieux sheet keeps the earlier ones for
    the agency's file, but they were transmitted already and are no longer to do."""
    hand = to_hand_over(invoices)
    return hand[hand["niveau_apres"] > hand["niveau"]] if len(hand) else hand


def notice_held(invoices: pd.DataFrame) -> set[str]:
    """Clients whose mise en demeure was due and waits: an unallocated payment (ledger.py)."""
    if invoices.empty:
        return set()
    due = (invoices["etape_due"] >= LAST_LETTER_LEVEL) & ~invoices["dans_courrier"]
    keys = set(invoices.loc[due, "cle_client"])
    return keys & {c.cle_client for c in unallocated_credits(invoices)}


def _credit_text(credits: Sequence[UnallocatedCredit]) -> str:
    """« 1 000,00 € du 20/11/2026 » (and the others)."""
    return ", ".join(
        format_eur(c.montant) + (f" du {format_date_short(c.date)}" if c.date else "")
        for c in credits
    )


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    return shown + (f" et {len(names) - MAX_NAMES_SHOWN} autre(s)"
                    if len(names) > MAX_NAMES_SHOWN else "")  # fmt: skip


def todo_lines(result: RunResult) -> list[str]:
    """What to do this week, in a few lines: post, call, hand over, correct."""
    inv = result.invoices
    lines = []
    letters = result.letters
    if letters:
        registered = [x.client for x in letters if tier(x.niveau).registered]
        line = f"  - poster {len(letters)} courrier(s)"
        if registered:
            line += f", dont {len(registered)} en recommandé avec AR ({_names(registered)})"
        lines.append(line)
    unallocated = by_client(unallocated_credits(inv))
    calls = to_call(inv[["cle_client", "etat", "niveau_apres"]] if len(inv) else inv)
    # a client with a payment to allocate is called about it (the line below), once
    calls = calls[~calls["cle_client"].isin(set(unallocated))] if len(calls) else calls
    if len(calls):
        people = []
        details = client_details(inv, calls["cle_client"])
        for key in dict.fromkeys(calls["cle_client"]):
            d = details[str(key)]
            name = d["client"] or d["code_client"]
            people.append(f"{name} ({d['telephone']})" if d["telephone"] else name)
        lines.append(f"  - appeler {len(people)} client(s) en relance 2 : {_names(people)}")
    if unallocated:
        held = notice_held(inv)
        people = [f"{v[0].client} ({_credit_text(v)}"
                  + (" ; mise en demeure suspendue)" if k in held else ")")
                  for k, v in unallocated.items()]  # fmt: skip
        count = sum(len(v) for v in unallocated.values())
        lines.append(
            f"  - imputer {count} règlement(s) non affecté(s) (appeler le client : quelles "
            f"factures règle-t-il ?) : {_names(people)} — déduits des courriers ; les relances "
            "1 et 2 partent, la mise en demeure attend que le règlement soit lettré"
        )
    hand = handed_over_now(inv)
    if len(hand):
        clients = list(dict.fromkeys(str(v) for v in hand["client"]))
        lines.append(
            f"  - transmettre au contentieux {len(hand)} facture(s), "
            f"{format_eur(float(hand['reste_du'].fillna(0).sum()))} : {_names(clients)}"
        )
    errors = int((inv["etat"] == "Erreur").sum()) if not inv.empty else 0
    if errors:
        lines.append(f"  - corriger {errors} ligne(s) illisible(s) dans l'export (ci-dessous)")
    if not lines:
        return []
    title = "À faire (simulation)" if result.dry_run else "À faire cette semaine"
    return [f"{title} :", *lines, ""]


def overdue_total(invoices: pd.DataFrame) -> tuple[int, float]:
    """« Total échu »: how many invoices are overdue and what they still owe. A mask, not
    a selection: a million-row table's overdue rows copied would cost hundreds of MB."""
    if invoices.empty:
        return 0, 0.0
    overdue = invoices["etat"].isin(OVERDUE)
    return int(overdue.sum()), round(float(invoices.loc[overdue, "reste_du"].fillna(0).sum()), 2)


def state_table(invoices: pd.DataFrame) -> pd.DataFrame:
    """Count and amount outstanding per state, in the order of the status words."""
    if invoices.empty:
        return pd.DataFrame({"etat": [], "factures": [], "montant": []})
    grouped = invoices.groupby("etat").agg(
        factures=("etat", "size"), montant=("reste_du", lambda s: float(s.fillna(0).sum()))
    )
    rows = [
        (e.value, int(grouped.loc[e.value, "factures"]), float(grouped.loc[e.value, "montant"]))
        for e in ETATS
        if e.value in grouped.index
    ]
    return pd.DataFrame(rows, columns=["etat", "factures", "montant"])


def letters_line(letters: Sequence[PlannedLetter]) -> str:
    if not letters:
        return "aucun"
    parts = []
    for t in LETTER_TIERS:
        n = sum(1 for x in letters if x.niveau == t.level)
        if n:
            parts.append(f"{t.label} : {n}")
    return f"{len(letters)} ({', '.join(parts)})"


def _pad(text: str, width: int, right: bool = False) -> str:
    return text.rjust(width) if right else text.ljust(width)


def _files_lines(result: RunResult) -> list[str]:
    """Where the run wrote: letters, workbook, backup, journal, report, print batch."""
    lines: list[str] = []
    if result.out_dir and result.letter_files:
        lines.append(f"  dans : {result.out_dir}")
    if result.workbook_written:
        lines.append(f"Colonne de statut écrite dans : {result.workbook_written}")
    if result.backup:
        lines.append(f"Sauvegarde de l'original : {result.backup}")
    files = result.files
    if files.journal and not result.dry_run:
        lines.append(f"Journal des relances : {files.journal}")
    if files.journal_backup:
        lines.append(
            f"Journal mis au format de cette version ; copie de l'ancien : {files.journal_backup}"
        )
    if files.report:
        lines.append(f"Rapport (à ouvrir dans Excel) : {files.report}")
    if files.print_batch:
        lines.append(f"À imprimer, en une fois : {files.print_batch}")
    if files.emails:
        lines.append(
            f"Brouillons d'e-mails : {len(files.emails)} fichier(s) .eml à côté des "
            "courriers (à ouvrir et envoyer depuis votre messagerie)"
        )
    return lines


DOUBTFUL = 0.5  # an ambiguous or contradicted column: « à vérifier »


def column_rows(result: RunResult) -> list[tuple[str, str]]:
    """(field label, column used) in sheet order, saying when the content recognised it
    and when the choice is doubtful: one list for the summary and the report."""
    in_sheet_order = sorted(result.columns.items(),
                            key=lambda kv: result.column_index.get(kv[0], 1 << 20))  # fmt: skip
    rows = []
    for fld, header in in_sheet_order:
        label = LABELS.get(fld, fld).split(" (")[0]
        where = result.column_index.get(fld)
        text = f"« {header} »" if header else "(sans titre)"
        if where is not None:
            text += f" (colonne {get_column_letter(where + 1)})"
        use = result.column_uses.get(fld)
        if use is not None and use.source == CONTENT:
            text += ", reconnue par son contenu"
        if use is not None and use.confidence <= DOUBTFUL:
            text += " — à vérifier"
        if fld == "adresse":
            text += _more_address(result)
        rows.append((f"{label[:1].upper()}{label[1:]}", text))
    if "adresse" not in result.columns and result.address_lines:
        rows.append(("Adresse", _more_address(result).removeprefix(", ")))
    return rows


def _more_address(result: RunResult) -> str:
    """The other address columns, read and printed after the first (« Adresse 2 »…)."""
    return "".join(f", « {h} » (colonne {get_column_letter(i + 1)})"
                   for h, i in result.address_lines)


def columns_lines(result: RunResult) -> list[str]:
    """Which column was read for each field: a wrong guess is seen before letters go out."""
    if not result.columns:
        return []
    return ["", "Colonnes lues :", *(f"  {label} : {text}" for label, text in column_rows(result))]


def unallocated_lines(result: RunResult) -> list[str]:
    """Payments received and not matched to an invoice: each one, with its row."""
    credits = unallocated_credits(result.invoices)
    if not credits:
        return []
    return ["", "Règlements non affectés (déduits du solde du client ; sa mise en demeure "
            "attend leur imputation, voir l'onglet « À appeler » du rapport) :",
            *(f"  - {c}" for c in credits)]  # fmt: skip


def followup_lines(result: RunResult) -> list[str]:
    """What the follow-up workbook (suivi_relances.xlsx) changed: promises not kept (to
    call), holds and promises falling due this week, entries the tool could not read."""
    lines: list[str] = []
    for title, items in (
        ("Promesses de paiement non tenues (à appeler, voir la feuille « Échanges » du suivi)",
         tuple(str(x) for x in result.promesses_non_tenues)),
        ("Suspensions et promesses qui arrivent à échéance cette semaine", result.suivi_semaine),
        ("Saisies illisibles dans suivi_relances.xlsx (le reste de la ligne est pris en compte)",
         tuple(str(e) for e in result.suivi_erreurs)),
    ):  # fmt: skip
        if items:
            lines += ["", f"{title} :", *(f"  - {x}" for x in items)]
    return lines


def summary_text(result: RunResult) -> str:
    """The summary of a run, as printed on screen and saved beside the letters."""
    inv = result.invoices
    lines = [
        f"Relances au {format_date_short(result.run_date)} — « {result.source.name} »"
        + (f", feuille « {result.sheet} »" if result.sheet else "")
        + (f", en-tête ligne {result.header_row}" if result.header_row else ""),
    ]
    dropped = result.dropped_total_rows
    lines.append(
        f"{len(inv)} ligne(s) lue(s)"
        + (f", {dropped} ligne(s) de total ignorée(s)" if dropped else "")
        + ("  [simulation : rien n'a été écrit]" if result.dry_run else "")
    )
    lines.append("")
    table = state_table(inv)
    if not table.empty:
        lines.append(f"{_pad('État', 18)}{_pad('Factures', 10, True)}{_pad('Reste dû', 20, True)}")
        for row in table.itertuples(index=False):
            lines.append(
                f"{_pad(row.etat, 18)}{_pad(str(row.factures), 10, True)}"
                f"{_pad(format_eur(row.montant), 20, True)}"
            )
        count, amount = overdue_total(inv)
        lines.append(
            f"{_pad('Total échu', 18)}{_pad(str(count), 10, True)}"
            f"{_pad(format_eur(amount), 20, True)}"
        )
        lines.append("")
    lines.extend(todo_lines(result))
    verb = "à produire" if result.dry_run else "produits"
    lines.append(f"Courriers {verb} : {letters_line(result.letters)}")
    incomplete = [x.client for x in result.letters if x.adresse_incomplete]
    if incomplete:
        lines.append(
            f"  adresse incomplète (code postal ou ville manquant) : {_names(incomplete)} — "
            "complétez l'adresse avant de poster le courrier."
        )
    lines.extend(_files_lines(result))
    lines.extend(unallocated_lines(result))
    lines.extend(followup_lines(result))
    errors = inv[inv["etat"] == "Erreur"] if not inv.empty else inv
    if len(errors):
        lines.append("")
        lines.append(f"Lignes illisibles ({len(errors)}) — statut « Erreur », à corriger :")
        for row in errors.head(MAX_ERRORS_SHOWN).itertuples(index=False):
            lines.append(f"  ligne {row.ligne} : {row.erreur}")
        if len(errors) > MAX_ERRORS_SHOWN:
            lines.append(f"  … et {len(errors) - MAX_ERRORS_SHOWN} autre(s)")
    lines.extend(columns_lines(result))
    if result.warnings:
        lines.append("")
        lines.append("Avertissements :")
        lines.extend(f"  - {w}" for w in result.warnings)
    return "\n".join(lines) + "\n"


def plan_text(invoices: pd.DataFrame) -> str:
    """The dry-run plan: one line per invoice (client, invoice, state, next step), grouped
    by client, in the export's order within each: letters are decided per client, and an
    export sorted by due date scattered one client's invoices over the whole plan."""
    if invoices.empty:
        return "Aucune facture.\n"
    names = (invoices["client"].where(invoices["client"] != "", invoices["code_client"])
             .fillna("").astype(str).map(normalise))  # fmt: skip
    # by name, then by client: two « Dupont » of different codes are two letters
    keys = invoices["cle_client"].astype(str).to_numpy()
    order = pd.DataFrame({"name": names.to_numpy(), "key": keys}).sort_values(
        ["name", "key"], kind="stable").index  # fmt: skip
    invoices = invoices.iloc[order]
    rows = []
    for row in invoices.itertuples(index=False):
        nxt = ""
        if row.prochaine_etape:
            nxt = next_step_text(row.prochaine_etape, row.date_prochaine_etape, row.attente)
        rows.append((row.client or row.code_client, row.numero_facture, row.etat, nxt))
    w_client = min(max(len("Client"), *(len(r[0]) for r in rows)), 32)
    w_inv = min(max(len("Facture"), *(len(r[1]) for r in rows)), 20)
    w_state = max(len("État"), *(len(r[2]) for r in rows))
    out = [
        f"{'Client'.ljust(w_client)}  {'Facture'.ljust(w_inv)}  {'État'.ljust(w_state)}  "
        "Prochaine étape",
        f"{'-' * w_client}  {'-' * w_inv}  {'-' * w_state}  {'-' * 15}",
    ]
    for client, number, state, nxt in rows:
        client = client if len(client) <= w_client else client[: w_client - 1] + "…"
        out.append(f"{client.ljust(w_client)}  {number[:w_inv].ljust(w_inv)}  "
                   f"{state.ljust(w_state)}  {nxt}")
    return "\n".join(out) + "\n"
