"""The hand-written baseline: what a competent developer writes in an afternoon with pandas,
DocxTemplate and openpyxl, timed on the same export as ``bench_run.py --full``.

Why: issue #15 asks for the product's whole run to be at least 15× faster than this. Run
``python benchmarks/bench_run.py --full`` first (it generates the export), then
    python benchmarks/bench_baseline.py [--rows 20000] [--produit-seul]
It times the baseline, then the product's whole run (``pipeline.run``: letters, write-back,
journal, follow-up workbook, report) on a copy of the same file, and prints both and the
ratio, in wall time and in CPU time (this process and its workers: steadier when the machine
is shared). ``--produit-seul`` skips the baseline (minutes).

What it does, as the product does:
- ``pandas.read_excel`` (openpyxl engine) with the header row found simply (the first row
  holding "N° pièce"), columns picked by their names in this export, text dates
  (dd/mm/yyyy) and text amounts ("1 234,56 €") converted with pandas' vectorised functions;
- French business days with the ``holidays`` package and ``numpy.busday_count``;
- the same default tier rules (relance 1 ≥ 5 business days after the due date, relance 2
  ≥ 10 after relance 1, mise en demeure ≥ 20 after relance 2, contentieux ≥ 10 after it;
  disputes and paid invoices skipped; one letter per client at the highest step due; no
  letter under a 15 € net balance);
- one ``DocxTemplate(...).render(context)`` + ``save`` per client with the repository's
  default templates (``templates_word/``), with every variable the templates print;
- ``openpyxl.load_workbook``, a "Statut relance" column written, ``save``.

What it does not do, which the product does (so the baseline is, if anything, favoured):
no SQLite journal, no report workbook, no follow-up workbook, no late-payment interest or
indemnity (amounts shown without them), no minimum interval between two letters, no
column guessing for other exports, no error column for unreadable cells, no atomic
all-or-nothing publication, no backup of the workbook, no checks of the templates, and the
workbook is saved by openpyxl (which loses what openpyxl does not read: the product keeps it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
from docxtpl import DocxTemplate
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates_word"
RUN_DATE = date(2026, 11, 23)
DELAYS = {1: 5, 2: 10, 3: 20, 4: 10}  # business days before reaching each level
NAMES = {1: "Relance 1", 2: "Relance 2", 3: "Mise en demeure", 4: "Contentieux"}
FILES = {1: "relance_1.docx", 2: "relance_2.docx", 3: "mise_en_demeure.docx"}
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
COLUMNS = {"Code client": "code", "Raison sociale": "client", "N° pièce": "numero",
           "Date pièce": "date_facture", "Date d'éch.": "echeance", "Montant TTC": "ttc",
           "Réglé": "regle", "Reste à payer": "reste", "Litige": "litige",
           "Niveau relance": "niveau", "Dernière relance": "derniere", "E-mail": "email",
           "Adresse": "adresse", "CP": "cp", "Ville": "ville"}  # fmt: skip


def eur(x: float) -> str:
    return f"{x:,.2f} €".replace(",", "\u202f").replace(".", ",")


def long_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def to_amount(col: pd.Series) -> pd.Series:
    text = col.astype(str).str.replace(r"[\s\u00a0\u202f€]", "", regex=True)
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(col.notna()), errors="coerce").fillna(0.0)


def to_date(col: pd.Series) -> pd.Series:
    is_text = col.map(lambda v: isinstance(v, str))
    as_text = pd.to_datetime(col.where(is_text), format="%d/%m/%Y", errors="coerce")
    return as_text.fillna(pd.to_datetime(col.where(~is_text), errors="coerce"))


def read(path: Path) -> pd.DataFrame:
    raw = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")  # the default
    header = next(i for i, row in raw.iterrows() if "N° pièce" in set(row.astype(str)))
    df = raw.iloc[header + 1:].set_axis(raw.iloc[header], axis=1)
    df = df[df["N° pièce"].notna()].rename(columns=COLUMNS)
    df["excel_row"] = df.index + 1
    for c in ("ttc", "regle", "reste"):
        df[c] = to_amount(df[c])
    for c in ("date_facture", "echeance", "derniere"):
        df[c] = to_date(df[c])
    df["niveau"] = pd.to_numeric(df["niveau"], errors="coerce").fillna(0).astype(int)
    return df


def classify(df: pd.DataFrame) -> pd.DataFrame:
    fr = holidays.France(years=range(2020, 2031))
    hols = np.array(sorted(fr), dtype="datetime64[D]")
    run = np.datetime64(RUN_DATE, "D")
    since = df["derniere"].where(df["niveau"] > 0, df["echeance"])
    since = since.fillna(df["echeance"]).values.astype("datetime64[D]")
    elapsed = np.busday_count(since, run, holidays=hols) - 1  # days d with since < d <= run
    needed = df["niveau"].clip(0, 3).map(lambda n: DELAYS[n + 1]).values
    litige = df["litige"].astype(str).str.strip().str.lower().isin(["oui", "x", "1"])
    open_ = (df["reste"] > 0.005) & ~litige
    overdue = open_ & (df["echeance"] < pd.Timestamp(RUN_DATE))
    due = overdue & (elapsed >= needed) & (df["niveau"] < 4)
    df["prochain"] = np.where(due, df["niveau"] + 1, 0)
    status = np.select(
        [df["ttc"] < 0, df["reste"] <= 0.005, litige, ~overdue, ~due],
        ["Avoir", "Payée", "Litige", "Non échue", "En attente"], default="",
    )
    df["statut"] = status
    return df


def letters(df: pd.DataFrame, out: Path) -> dict[str, int]:
    templates = {level: TEMPLATES / name for level, name in FILES.items()}
    written: dict[str, int] = {}
    open_ = df[(df["reste"] > 0.005) | (df["ttc"] < 0)]
    for code, items in open_.groupby("code", sort=False):
        level = int(items["prochain"].max())
        if level == 0 or level > 3 or items["reste"].sum() < 15:
            continue
        items = items[(items["echeance"] < pd.Timestamp(RUN_DATE)) | (items["ttc"] < 0)]
        first = items.iloc[0]
        numbers = list(items["numero"].astype(str))
        context = {
            "societe": {"nom": "", "ville": "", "adresse": ""},
            "client": {"nom": first["client"], "code": code, "adresse": first["adresse"],
                       "code_postal": str(first["cp"]), "ville": first["ville"],
                       "email": first["email"], "contact": "", "pays": ""},
            "lieu": "", "date_courrier": long_date(RUN_DATE), "salutation": "Madame, Monsieur,",
            "appel": "Madame, Monsieur,", "niveau": NAMES[level], "numero_relance": level,
            "objet": f"{NAMES[level]} – factures n° {', '.join(numbers)}",
            "numeros_factures": ", ".join(numbers), "nombre_factures": len(numbers),
            "total_du": eur(items["reste"].sum()), "total_reclame": eur(items["reste"].sum()),
            "deja_relancees": bool((items["niveau"] > 0).any()),
            "toutes_relancees": bool((items["niveau"] > 0).all()),
            "factures": [
                {"numero": r.numero, "date_facture": r.date_facture.strftime("%d/%m/%Y"),
                 "date_echeance": r.echeance.strftime("%d/%m/%Y"), "montant_ttc": eur(r.ttc),
                 "montant_regle": eur(r.regle), "reste_du": eur(r.reste),
                 "avoir": r.ttc < 0, "historique": "", "jours_retard": ""}
                for r in items.itertuples()
            ],
        }
        doc = DocxTemplate(templates[level])
        doc.render(context)
        name = f"{NAMES[level]} – {first['client']} – {RUN_DATE:%Y-%m-%d}.docx"
        doc.save(out / name)
        for row in items["excel_row"]:
            written[row] = level
    return written


def write_back(path: Path, df: pd.DataFrame, levels: dict[int, int]) -> None:
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header_row = int(df["excel_row"].iloc[0]) - 1
    col = ws.max_column + 1
    ws.cell(header_row, col, "Statut relance")
    for row, status in zip(df["excel_row"], df["statut"], strict=True):
        level = levels.get(row)
        text = f"{NAMES[level]} – {RUN_DATE:%d/%m/%Y}" if level else status
        ws.cell(int(row), col, text)
    wb.save(path)


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (letter workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def baseline(source: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the hand-written pipeline on a copy of ``source``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.name
        shutil.copy(source, path)
        out = Path(tmp) / "courriers"
        out.mkdir()
        cpu, t0 = cpu_seconds(), time.perf_counter()
        df = classify(read(path))
        t1 = time.perf_counter()
        levels = letters(df, out)
        t2 = time.perf_counter()
        write_back(path, df, levels)
        t3 = time.perf_counter()
        used = cpu_seconds() - cpu
        count = len(list(out.iterdir()))
    print(f"référence : lecture + classement {t1 - t0:7.2f} s ; {count} courriers "
          f"{t2 - t1:7.2f} s ; colonne de statut {t3 - t2:7.2f} s")
    print(f"référence : total {t3 - t0:7.2f} s ; temps CPU {used:7.2f} s")
    return t3 - t0, used


def product(source: Path) -> tuple[float, float]:
    """Wall and CPU seconds of relance-xlsx's whole run on a copy of ``source``."""
    sys.path.insert(0, str(ROOT))
    from relance_xlsx.pipeline import RunOptions, run

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.name
        shutil.copy(source, path)
        cpu, t0 = cpu_seconds(), time.perf_counter()
        result = run(RunOptions(export=path, run_date=RUN_DATE, journal=Path(tmp) / "j.sqlite",
                                out=Path(tmp) / "c"))  # fmt: skip
        wall, used = time.perf_counter() - t0, cpu_seconds() - cpu
    print(f"relance-xlsx : {len(result.rendered)} courriers, statut, journal, suivi, rapport : "
          f"total {wall:7.2f} s ; temps CPU {used:7.2f} s")
    return wall, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--produit-seul", action="store_true", help="sans la référence")
    args = parser.parse_args()
    source = ROOT / "benchmarks" / "out" / f"export_{args.rows}.xlsx"
    if not source.exists():
        sys.exit("Lancez d'abord : python benchmarks/bench_run.py --full (il crée l'export).")
    ours = product(source)
    if args.produit_seul:
        return
    base = baseline(source)
    print(f"rapport référence / relance-xlsx : {base[0] / ours[0]:.1f}× en temps écoulé, "
          f"{base[1] / ours[1]:.1f}× en temps CPU")


if __name__ == "__main__":
    main()
