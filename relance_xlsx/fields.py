"""The invoice table's fields, declared once.

Invoices travel between the stages as one pandas DataFrame, a row per invoice line. Its
columns are declared here, each with its kind (hence its dtype), its French label, the
header synonyms when the export provides it, whether it is required and which stage adds
it. The settings' ``[colonnes]`` keys, the reader's header matching and error labels, the
dtypes of the table and the columns each stage needs (``NEEDS``/``ADDS`` in history.py
and policy.py) are all read from ``FIELDS``, so that a field is added in one place.

Synonyms are normalised header names (see ``parsing.normalise``); a header also matches
when each of its words abbreviates the synonym's word at the same place ("date d ech"
matches "date d echeance"). ``vague`` synonyms are too vague on their own: a more
specific header in the same row wins over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .parsing import normalise

# kinds: what a column holds, hence its dtype in the table
TEXT, DATE, AMOUNT, FLAG, INT = "text", "date", "amount", "flag", "int"
DTYPE_OF_KIND: Mapping[str, object] = {
    TEXT: np.dtype(object),
    DATE: np.dtype("datetime64[ns]"),
    AMOUNT: np.dtype(float),
    FLAG: np.dtype(bool),
    INT: np.dtype(np.int64),
}

# stages, in the order a run goes through them (pipeline.py)
READER, LEDGER, HISTORY, POLICY, PIPELINE = "reader", "ledger", "history", "policy", "pipeline"

# required: an export must provide it, or one of the amounts (montant TTC or reste dû)
REQUIRED, ONE_AMOUNT = "required", "one amount"


@dataclass(frozen=True)
class Field:
    """One column of the invoice table, or one column of the export read into another."""

    name: str
    kind: str
    label: str  # French: error messages, the settings file
    stage: str = READER
    synonyms: tuple[str, ...] = ()  # normalised export headers: a field of the export
    vague: tuple[str, ...] = ()  # synonyms a more specific header wins over
    required: str = ""  # "", REQUIRED or ONE_AMOUNT
    into: str = ""  # export field read into another column (not a column itself)
    example: str = ""  # a header shown in the settings file written by ``init``

    @property
    def in_export(self) -> bool:
        return bool(self.synonyms)


def _words(text: str) -> tuple[str, ...]:
    """``"a, b c, d"`` -> ``("a", "b c", "d")``: synonym lists stay readable."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


FIELDS: tuple[Field, ...] = (
    Field("ligne", INT, "ligne de l'export"),
    Field("numero_facture", TEXT, "numéro de facture", required=REQUIRED, example="N° pièce",
          synonyms=_words("""
        numero facture, n facture, no facture, num facture, numero de facture, n de facture,
        facture, factures, n piece, numero piece, num piece, no piece, piece, n de piece,
        reference facture, ref facture, reference, ref, invoice, invoice number, invoice no,
        invoice n, invoice num, invoice id, document, n document, numero document, doc,
        n doc, numero, no, n"""),
          vague=("n", "no", "numero", "reference", "ref", "document", "doc")),
    Field("client", TEXT, "client (raison sociale)", required=REQUIRED, synonyms=_words("""
        client, nom client, nom du client, raison sociale, raison sociale client, nom,
        societe, tiers, nom tiers, intitule, intitule compte, intitule du compte,
        libelle client, libelle compte, customer, customer name, client name, debiteur,
        denomination, name, partenaire, intitule tiers, nom du tiers, company, company name,
        raison sociale tiers, nom client tiers, libelle tiers"""),
          vague=("nom", "name")),
    Field("code_client", TEXT, "code client", synonyms=_words("""
        code client, compte client, compte, n compte, numero compte, n client,
        numero client, num client, no client, code tiers, compte tiers, n tiers, ref client,
        reference client, code, customer id, customer code, customer number, account,
        account number, client id, id client, compte auxiliaire, code auxiliaire,
        auxiliaire, n auxiliaire, compte aux, code tiers client"""),
          vague=("compte", "code")),
    Field("date_facture", DATE, "date de facture", synonyms=_words("""
        date facture, date de facture, date, date piece, date de piece, date d emission,
        date emission, date document, invoice date, date doc, emise le, date ecriture"""),
          vague=("date",)),
    Field("date_echeance", DATE, "date d'échéance", required=REQUIRED, example="Date d'éch.",
          synonyms=_words("""
        date echeance, date d echeance, date de l echeance, echeance, echeance le,
        date limite de paiement, date limite, date de paiement prevue, due date, date due,
        payment due, due, ech, date ech""")),
    Field("montant_ttc", AMOUNT, "montant TTC", required=ONE_AMOUNT, synonyms=_words("""
        montant ttc, ttc, total ttc, montant, montant facture, montant total,
        montant total ttc, montant de la facture, debit, amount, invoice amount, total,
        total amount, mt ttc, montant initial, montant origine, montant eur, montant euros,
        montant en euros, montant facture ttc"""),
          vague=("montant", "total", "debit")),
    Field("montant_regle", AMOUNT, "montant réglé", synonyms=_words("""
        montant regle, regle, deja regle, reglement, reglements, paye, montant paye,
        deja paye, encaisse, montant encaisse, credit, paid, amount paid, paiement,
        paiements, acompte, acomptes"""),
          vague=("regle", "credit")),
    Field("reste_du", AMOUNT, "reste dû", required=ONE_AMOUNT, example="Solde",
          synonyms=_words("""
        reste du, restant du, reste a payer, reste a regler, reste a encaisser, solde,
        solde du, solde restant, montant du, montant restant, montant restant du, reste,
        amount due, balance, balance due, outstanding, open amount, due amount, non regle,
        impaye, open balance, montant residuel, residuel, restant du ttc, reste du ttc,
        montant a payer, net a payer, solde restant du, montant impaye, reste a recouvrer,
        balance outstanding, amount outstanding, remaining, remaining amount"""),
          vague=("reste", "solde")),
    Field("email", TEXT, "e-mail", synonyms=_words("""
        email, e mail, mail, courriel, adresse email, adresse mail, email client,
        mail client, adresse e mail""")),
    Field("telephone", TEXT, "téléphone", synonyms=_words("""
        telephone, tel, tel client, telephone client, phone, portable, mobile,
        n telephone, numero de telephone""")),
    Field("adresse", TEXT, "adresse", synonyms=_words("""
        adresse, adresse 1, adresse client, adresse postale, rue, address, adresse ligne 1,
        voie""")),
    Field("code_postal", TEXT, "code postal",
          synonyms=_words("code postal, cp, postal code, zip, zip code, c postal")),
    Field("ville", TEXT, "ville", synonyms=_words("ville, localite, commune, city, town")),
    Field("pays", TEXT, "pays", synonyms=_words("pays, country, pays client, code pays")),
    Field("contact", TEXT, "contact", synonyms=_words("""
        contact, interlocuteur, nom contact, contact client, contact name, destinataire,
        a l attention de""")),
    # a ledger's matching code: lines sharing one settle each other (ledger.py)
    Field("lettrage", TEXT, "lettrage (les lignes de même code se soldent entre elles)",
          synonyms=_words("""
        lettrage, let, lettre, code lettrage, code de lettrage, matching, rapprochement,
        matching code""")),
    Field("litige", FLAG, "litige (oui, x, 1… : facture exclue des relances)", synonyms=_words("""
        litige, en litige, contestation, conteste, dispute, disputed, blocage, bloque,
        litiges""")),
    Field("type_client", TEXT, "type de client (« particulier » : règles de la consommation)",
          into="particulier", synonyms=_words("""
        type client, type de client, type, categorie client, categorie, nature client,
        client type, b2b b2c"""),
          vague=("type",)),
    Field("niveau_relance", INT, "niveau de relance", into="niveau_export", synonyms=_words("""
        niveau de relance, niveau relance, niveau, relance, nb relances, nombre de relances,
        dernier niveau de relance, reminder level, dunning level, relances"""),
          vague=("niveau", "relance")),
    Field("date_derniere_relance", DATE, "date de dernière relance",
          into="date_relance_export", synonyms=_words("""
        date derniere relance, date de derniere relance, derniere relance, date relance,
        relance le, last reminder, last reminder date, date de relance""")),
    Field("particulier", FLAG, "particulier (règles de la consommation)"),
    Field("niveau_export", INT, "niveau de relance de l'export (0 à 3)"),
    Field("date_relance_export", DATE, "date de dernière relance de l'export"),
    Field("erreur", TEXT, "erreur de lecture de la ligne"),
    # code_client, else the normalised name; a code shared by several names adds the name
    Field("cle_client", TEXT, "clé du client"),
    # cle_client + invoice number (+ due date for instalments): the journal's key
    Field("cle_facture", TEXT, "clé de la facture"),
    Field("statut_existant", TEXT, "statut déjà écrit dans le classeur"),
    Field("credit", FLAG, "ligne au crédit (avoir, règlement), avant lettrage", stage=LEDGER),
    Field("lettree", FLAG, "soldée par lettrage", stage=LEDGER),
    Field("non_affecte", FLAG, "règlement non affecté (crédit sans lettrage ni échéance)",
          stage=LEDGER),
    Field("date_dernier_courrier", DATE, "date du dernier courrier au client", stage=HISTORY),
    Field("niveau", INT, "niveau atteint avant l'exécution (0 à 4 : transmise)", stage=HISTORY),
    Field("date_niveau", DATE, "date à laquelle ce niveau a été atteint", stage=HISTORY),
    Field("date_mise_en_demeure", DATE, "date de la mise en demeure qui vise la facture",
          stage=HISTORY),
    Field("jours_retard", INT, "jours de retard", stage=POLICY),
    Field("etape_due", INT, "étape due (0 : aucune)", stage=POLICY),
    Field("date_prochaine_etape", DATE, "date de la prochaine étape", stage=POLICY),
    Field("niveau_apres", INT, "niveau après l'exécution", stage=POLICY),
    Field("dans_courrier", FLAG, "listée dans un courrier de l'exécution", stage=POLICY),
    Field("niveau_courrier", INT, "niveau du courrier qui la liste", stage=POLICY),
    Field("etat", TEXT, "état", stage=POLICY),
    Field("prochaine_etape", TEXT, "prochaine étape", stage=POLICY),
    Field("attente", TEXT, "pourquoi l'étape attend (étape due bloquée, client suspendu)",
          stage=POLICY),
    Field("statut", TEXT, "statut relance", stage=POLICY),
    Field("courrier", TEXT, "fichier du courrier", stage=PIPELINE),
)  # fmt: skip

BY_NAME: Mapping[str, Field] = {f.name: f for f in FIELDS}

# The export's fields: the settings' [colonnes] keys, matched against the export's headers.
CANONICAL_FIELDS = tuple(f.name for f in FIELDS if f.in_export)
LABELS: Mapping[str, str] = {f.name: f.label for f in FIELDS}
SYNONYMS: Mapping[str, tuple[str, ...]] = {f.name: f.synonyms for f in FIELDS if f.in_export}
VAGUE_SYNONYMS = frozenset(s for f in FIELDS for s in f.vague)
REQUIRED_FIELDS = tuple(f.name for f in FIELDS if f.required == REQUIRED)
AMOUNT_ONE_OF = tuple(f.name for f in FIELDS if f.required == ONE_AMOUNT)
EXPORT_DATES = tuple(f.name for f in FIELDS if f.in_export and f.kind == DATE)
EXPORT_AMOUNTS = tuple(f.name for f in FIELDS if f.in_export and f.kind == AMOUNT)

# The invoice table: every column of every stage, and the ones the reader fills.
COLUMNS = tuple(f.name for f in FIELDS if not f.into)
READER_COLUMNS = tuple(f.name for f in FIELDS if not f.into and f.stage == READER)
DTYPES: Mapping[str, object] = {name: DTYPE_OF_KIND[BY_NAME[name].kind] for name in COLUMNS}


def stage_columns(stage: str) -> tuple[str, ...]:
    """The columns ``stage`` adds to the table, in declaration order."""
    return tuple(name for name in COLUMNS if BY_NAME[name].stage == stage)


def declared(*names: str) -> tuple[str, ...]:
    """``names``, checked against the table: a stage's NEEDS/ADDS fail at import on a typo."""
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ValueError(f"colonnes non déclarées dans fields.py : {', '.join(unknown)}")
    return names


def require_columns(table: pd.DataFrame, needs: Iterable[str], stage: str) -> None:
    """Fail early, naming the columns, when a stage is given a table without what it reads:
    a KeyError deep inside a vectorised step would not say which stage lacks what."""
    missing = [c for c in needs if c not in table.columns]
    if missing:
        raise ValueError(f"étape {stage} : colonnes manquantes : {', '.join(missing)}")


def invoice_table(rows: Iterable[Mapping[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """The invoice table as the reader builds it, from rows keyed by column name.

    Every reader column is there, in the declared order, with its dtype: a missing one
    gets its default ("" for text, NaT, NaN, False, 0; ``ligne`` numbers the rows as under
    a header on row 1). Columns of later stages that are given are kept and typed. A level
    from the export with no date is dated at the due date; ``cle_client`` and
    ``cle_facture`` are computed, never taken from the rows.
    """
    given = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    unknown = [c for c in given.columns if c not in DTYPES]
    if unknown:
        into = {f.name: f.into for f in FIELDS if f.into}
        hints = [f"{c} (lu dans {into[c]})" if c in into else str(c) for c in unknown]
        raise ValueError(f"colonnes inconnues de la table des factures : {', '.join(hints)}")
    n = len(given)
    columns: dict[str, pd.Series] = {}
    for name in COLUMNS:
        if name in ("cle_client", "cle_facture"):
            continue
        if name in given.columns:
            columns[name] = _typed(given[name], BY_NAME[name].kind)
        elif BY_NAME[name].stage == READER:
            columns[name] = _default(name, n, given.index)
    df = pd.DataFrame(columns, index=given.index)
    undated = (df["niveau_export"] > 0) & df["date_relance_export"].isna()
    if undated.any():
        df.loc[undated, "date_relance_export"] = df.loc[undated, "date_echeance"]
    keys = pd.Series(_client_keys(df), index=df.index, dtype=object)
    df.insert(READER_COLUMNS.index("cle_client"), "cle_client", keys)
    df.insert(READER_COLUMNS.index("cle_facture"), "cle_facture", _invoice_keys(df))
    return df


def _typed(values: pd.Series, kind: str) -> pd.Series:
    if kind == TEXT:
        return values.fillna("").astype(object)
    if kind == DATE:
        return pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
    if kind == AMOUNT:
        return pd.to_numeric(values, errors="coerce").astype(float)
    if kind == FLAG:
        return values.fillna(False).astype(bool)
    return values.fillna(0).astype(np.int64)


def _default(name: str, n: int, index: pd.Index) -> pd.Series:
    kind = BY_NAME[name].kind
    if name == "ligne":
        return pd.Series(np.arange(2, n + 2, dtype=np.int64), index=index)
    value = {TEXT: "", DATE: pd.NaT, AMOUNT: np.nan, FLAG: False, INT: 0}[kind]
    return pd.Series([value] * n, index=index, dtype=DTYPE_OF_KIND[kind])


def _client_keys(df: pd.DataFrame) -> list[str]:
    """Client keys; a code shared by several names (a collective 411 account) is not a key."""
    # codes and names repeat on every invoice of a client: each distinct one is read once
    raw_codes, raw_names = df["code_client"].tolist(), df["client"].tolist()
    code_of = {c: c.strip().upper() for c in set(raw_codes)}
    name_of = {n: normalise(n) for n in set(raw_names)}
    codes = list(map(code_of.__getitem__, raw_codes))
    names = list(map(name_of.__getitem__, raw_names))
    first_name: dict[str, str] = {}
    shared: set[str] = set()
    for code, name in zip(codes, names, strict=True):
        if code and name and first_name.setdefault(code, name) != name:
            shared.add(code)
    # one key object per client, not per invoice (a million rows: a million strings else)
    made: dict[tuple[str, str], str] = {}
    out = []
    for pair in zip(codes, names, strict=True):
        key = made.get(pair)
        if key is None:
            code, name = pair
            key = made[pair] = (
                (f"code:{code}|nom:{name}" if code in shared else f"code:{code}") if code
                else f"nom:{name}"
            )  # fmt: skip
        out.append(key)
    return out


def _invoice_keys(df: pd.DataFrame) -> pd.Series:
    """cle_client + number; invoices paid in instalments appear once per due date: the due
    date tells them apart."""
    if df.empty:
        return pd.Series([], dtype=object, index=df.index)
    keys = pd.Series(
        [f"{c}|{' '.join(n.upper().split())}"
         for c, n in zip(df["cle_client"].tolist(), df["numero_facture"].tolist(), strict=True)],
        index=df.index, dtype=object,
    )  # fmt: skip (one pass: pandas' .str chains cost a pass each)
    dup = keys.duplicated(keep=False) & (df["numero_facture"] != "")
    if dup.any():
        due = df["date_echeance"].dt.strftime("%Y-%m-%d").fillna("")
        keys = keys.where(~dup, keys + "|" + due)
    return keys.astype(object)
