"""Ledger exports: lettered lines settle each other, unallocated credits are deducted.

A « grand livre client » or a detailed balance lists every entry of a client's account:
invoices in the Débit column, payments and credit notes in the Crédit column, and a
lettrage (matching) code that the accountant gives to the lines that settle each other.
The reader reads Débit as ``montant_ttc`` and Crédit as ``montant_regle``, so each line's
``reste_du`` is its signed amount (a credit is negative). Pure functions over the invoice
table, run before the history (pipeline.classify_invoices):

- **Lettered lines.** Lines of one client sharing one code form a group. A group whose
  debits and credits balance (to the cent) is settled: every line's ``reste_du`` becomes 0
  and ``lettree`` is set; ``credit`` keeps which side it was on (status « Payée – soldée
  par lettrage … » or « Avoir – imputé par lettrage … »). A group that does not balance is
  a partial lettrage (Sage writes its codes in lower case, others mark it apart; the
  balance is what counts, not the case): its credits are imputed to its invoices oldest
  due date first (article 1342-10 du Code civil); the invoices they cover are settled, the
  next one keeps its open remainder (its ``montant_regle`` grows by what was imputed) and
  the later ones stay open. Surplus credit stays a credit on the account, deducted like a
  credit note. Codes are compared exactly (case included: Sage's « aa » partial group is
  not its « AA » complete one).
- **Unallocated credits.** A credit line (``reste_du`` < 0) with no lettrage and no due
  date is a payment received but not matched to an invoice (« Règlement client »,
  « Virement reçu »). It is not an error: it is deducted from the client's balance,
  printed on the letter as « Règlement non affecté » and holds the client's mise en
  demeure until the accountant allocates it (policy.py; the client is listed to call).
  Relance 1 and 2 still go, with the payment deducted: a soft reminder showing the
  payment received is right even if it settles one of the listed invoices.

A line whose amount could not be read keeps its error, and so does every line of its
lettrage group: a group cannot be checked to balance without all its amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .fields import declared
from .formatting import as_date, format_date_short, format_eur
from .reader import MISSING_DUE

TOLERANCE = 0.005

# The invoice table's columns the ledger step reads, and the ones it adds (fields.py).
NEEDS = declared(
    "ligne", "cle_client", "client", "numero_facture", "lettrage", "date_facture",
    "date_echeance", "montant_regle", "reste_du", "erreur",
)  # fmt: skip
ADDS = declared("credit", "lettree", "non_affecte")


@dataclass(frozen=True)
class UnallocatedCredit:
    """A payment received and not matched to an invoice: deducted, to be allocated."""

    cle_client: str
    client: str
    ligne: int  # the export's row
    numero: str  # its piece number, as exported ("" when the line has none)
    date: date | None  # the entry's date (the « Date » column)
    montant: float  # positive: what was received

    def __str__(self) -> str:
        when = f" du {format_date_short(self.date)}" if self.date else ""
        piece = f", pièce {self.numero}" if self.numero else ""  # payments often have none
        return f"{self.client} : {format_eur(self.montant)}{when} (ligne {self.ligne}{piece})"


def settle(invoices: pd.DataFrame) -> pd.DataFrame:
    """The table with lettered groups settled and unallocated credits flagged (``ADDS``)."""
    df = invoices.copy()
    n = len(df)
    rest = df["reste_du"].to_numpy(dtype=float).copy()
    paid = df["montant_regle"].to_numpy(dtype=float).copy()
    error = df["erreur"].to_numpy(dtype=object).copy()
    due_only = error == MISSING_DUE  # nothing wrong but the due date: fine on a credit
    readable = ((error == "") | due_only) & ~np.isnan(rest)
    code = df["lettrage"].astype(str).str.strip().to_numpy(dtype=object)
    lettered = code != ""
    settled = np.zeros(n, dtype=bool)
    imputed = np.zeros(n, dtype=bool)  # a credit (part) imputed to a group's invoices
    usable = np.zeros(n, dtype=bool)  # lettered, in a group whose amounts all read

    if lettered.any():
        group = pd.Series(df["cle_client"].to_numpy(dtype=object) + "\x1f" + code)
        whole = pd.Series(readable | ~lettered).groupby(group).transform("all").to_numpy()
        usable = lettered & whole
        net = pd.Series(np.where(usable, rest, 0.0)).groupby(group).transform("sum").to_numpy()
        balanced = usable & (np.abs(net) <= TOLERANCE)
        debit = balanced & (rest > 0)
        paid[debit] = np.nan_to_num(paid[debit]) + rest[debit]
        rest[balanced] = 0.0
        settled |= balanced
        partial = np.flatnonzero(usable & ~balanced)
        if len(partial):
            due = df["date_echeance"].to_numpy(dtype="datetime64[ns]")
            issued = df["date_facture"].to_numpy(dtype="datetime64[ns]")
            rows = pd.DataFrame({"group": group.to_numpy()[partial], "at": partial})
            for _key, members in rows.groupby("group", sort=False)["at"]:
                _impute(members.to_numpy(), rest, paid, settled, imputed, due, issued)

    unallocated = ~lettered & readable & df["date_echeance"].isna().to_numpy() & (
        rest < -TOLERANCE
    )
    # a settled line, an imputed credit or an unallocated one needs no due date
    lifted = due_only & (settled | imputed | unallocated | (usable & (rest < -TOLERANCE)))
    error[lifted] = ""
    credit = df["reste_du"].to_numpy(dtype=float) < -TOLERANCE
    if "credit" in df.columns:  # settled already: a settled credit's balance is 0
        credit |= df["credit"].to_numpy(dtype=bool)
    df["credit"] = credit
    df["reste_du"] = rest
    df["montant_regle"] = paid
    df["erreur"] = error
    df["lettree"] = settled
    df["non_affecte"] = unallocated
    return df


def _impute(at: np.ndarray, rest: np.ndarray, paid: np.ndarray, settled: np.ndarray,
            imputed: np.ndarray, due: np.ndarray, issued: np.ndarray) -> None:  # fmt: skip
    """One unbalanced group: its credits go to its invoices, oldest due date first (or
    its invoices to its credits, oldest first, when the credits are larger)."""
    debits = sorted((i for i in at if rest[i] > 0), key=lambda i: (_order(due[i]), i))
    credits = sorted((i for i in at if rest[i] < 0), key=lambda i: (_order(issued[i]), i))
    for i in at:
        if rest[i] == 0:
            settled[i] = True
    pool = -sum(rest[i] for i in credits)
    if pool > sum(rest[i] for i in debits):  # more credit than debit: spend the debits
        pool, debits, credits = sum(rest[i] for i in debits), credits, debits
        sign = -1.0
    else:
        sign = 1.0
    for i in credits:  # the smaller side is spent whole
        if sign > 0:
            imputed[i] = True
        else:
            paid[i] = np.nan_to_num(paid[i]) + rest[i]
        rest[i] = 0.0
        settled[i] = True
    for i in debits:  # the larger side, in order, until the pool runs out
        take = min(pool, abs(rest[i]))
        if take <= 0:
            break
        pool -= take
        rest[i] -= sign * take
        if sign > 0:
            paid[i] = np.nan_to_num(paid[i]) + take
        else:
            imputed[i] = True
        if abs(rest[i]) <= TOLERANCE:
            rest[i] = 0.0
            settled[i] = True


def _order(value: np.datetime64) -> np.datetime64:
    """Dates sort first, missing ones last."""
    return np.datetime64("9999-12-31") if np.isnat(value) else value


def unallocated_credits(invoices: pd.DataFrame) -> tuple[UnallocatedCredit, ...]:
    """The unallocated credits of a settled (or classified) table, client by client."""
    if invoices.empty or "non_affecte" not in invoices.columns:
        return ()
    rows = invoices[invoices["non_affecte"]].sort_values(["cle_client", "ligne"], kind="stable")
    return tuple(
        UnallocatedCredit(str(key), str(client), int(line), str(number), as_date(day),
                          round(-float(rest), 2))
        for key, client, line, number, day, rest in zip(
            rows["cle_client"], rows["client"], rows["ligne"], rows["numero_facture"],
            rows["date_facture"], rows["reste_du"], strict=True)
    )  # fmt: skip


def by_client(credits: tuple[UnallocatedCredit, ...]) -> dict[str, tuple[UnallocatedCredit, ...]]:
    """Client key -> its unallocated credits."""
    out: dict[str, list[UnallocatedCredit]] = {}
    for c in credits:
        out.setdefault(c.cle_client, []).append(c)
    return {k: tuple(v) for k, v in out.items()}


def hold_reason(credits: tuple[UnallocatedCredit, ...]) -> str:
    """Why the client's mise en demeure waits: « règlement non affecté de 1 000,00 € du
    20/11/2026 à imputer »."""
    if len(credits) == 1:
        c = credits[0]
        when = f" du {format_date_short(c.date)}" if c.date else ""
        return f"règlement non affecté de {format_eur(c.montant)}{when} à imputer"
    total = sum(c.montant for c in credits)
    return f"{len(credits)} règlements non affectés ({format_eur(total)}) à imputer"


def notice_holds(invoices: pd.DataFrame) -> Mapping[str, str]:
    """Client key -> why its mise en demeure waits (an unallocated credit to allocate)."""
    return {k: hold_reason(v) for k, v in by_client(unallocated_credits(invoices)).items()}


def partial_warnings(classified: pd.DataFrame, limit: int = 5) -> list[str]:
    """Lettered lines still open after settling: a partial lettrage, or a group whose other
    side is not in the export (a period's ledger): said, so the accountant can check."""
    if classified.empty or "lettree" not in classified.columns:
        return []
    open_ = classified[(classified["lettrage"].str.strip() != "") & ~classified["lettree"]
                       & (classified["reste_du"].abs() > TOLERANCE)]  # fmt: skip
    if open_.empty:
        return []
    groups = open_.groupby(["client", "lettrage"], sort=True)["reste_du"].sum()
    named = [f"« {code} » ({client}, {format_eur(float(amount))})"
             for (client, code), amount in groups.head(limit).items()]  # fmt: skip
    more = f" et {len(groups) - limit} autre(s)" if len(groups) > limit else ""
    return [
        f"Lettrage partiel ou non équilibré : {', '.join(named)}{more}. Le reste non lettré "
        "est relancé (ou déduit, pour un crédit). Si la contrepartie n'est pas dans l'export "
        "(grand livre d'une période), vérifiez le lettrage avant de poster."
    ]
