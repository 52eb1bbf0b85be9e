"""Plan letters: one per client the policy decided to write to, with its open items.

A letter lists all the client's overdue open items (the ones due for a step and the
others) and its unapplied credit notes, oldest due date first, credit notes last.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from .formatting import as_date, to_decimal
from .model import LetterLine, PlannedLetter
from .parsing import normalise


def _first(values: pd.Series) -> str:
    for v in values:
        if v:
            return str(v)
    return ""


def plan_letters(classified: pd.DataFrame, run_date: date) -> tuple[PlannedLetter, ...]:
    """Assemble the letters of this run from the classified invoices."""
    listed = classified[classified["dans_courrier"]]
    if listed.empty:
        return ()
    letters: list[PlannedLetter] = []
    keys = set(listed["cle_client"])
    wholes = dict(
        tuple(classified[classified["cle_client"].isin(keys)].groupby("cle_client", sort=False))
    )
    for cle, group in listed.groupby("cle_client", sort=False):
        group = group.assign(est_avoir=group["etat"] == "Avoir").sort_values(
            ["est_avoir", "date_echeance", "numero_facture"]
        )
        lines = tuple(
            LetterLine(
                numero=row.numero_facture,
                date_facture=as_date(row.date_facture),
                date_echeance=as_date(row.date_echeance),
                montant_ttc=None if pd.isna(row.montant_ttc) else to_decimal(row.montant_ttc),
                montant_regle=None if pd.isna(row.montant_regle)
                else to_decimal(row.montant_regle),
                reste_du=to_decimal(row.reste_du),
                jours_retard=int(row.jours_retard),
                avoir=bool(row.est_avoir),
                ligne=int(row.ligne),
            )
            for row in group.itertuples(index=False)
        )
        previous = group.loc[group["niveau"] > 0, "date_niveau"].max()
        whole = wholes[cle]
        letters.append(
            PlannedLetter(
                cle_client=str(cle),
                client=_first(group["client"]) or _first(group["code_client"]),
                code_client=_first(group["code_client"]),
                niveau=int(group["niveau_courrier"].max()),
                date=run_date,
                lignes=lines,
                adresse=_first(whole["adresse"]),
                code_postal=_first(whole["code_postal"]),
                ville=_first(whole["ville"]),
                contact=_first(whole["contact"]),
                email=_first(whole["email"]),
                telephone=_first(whole["telephone"]),
                particulier=bool(whole["particulier"].any()),
                date_precedent=None if pd.isna(previous) else as_date(previous),
            )
        )
    letters.sort(key=lambda x: (normalise(x.client), x.cle_client))
    return tuple(letters)
