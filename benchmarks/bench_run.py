"""Benchmark: read and classify a 20,000-row export (target: under 2 s on 2 cores, the
reading under 1 s: issue 11).

Generates a realistic export (title rows, mixed text and real dates, text amounts, credit
notes, disputes, history columns, ~1,500 clients) once into ``benchmarks/out/``, then
times each stage. Also times the write-back and, with --full, a whole run through the
pipeline (letters included).

    python benchmarks/bench_run.py [--rows 20000] [--repeat 3] [--full] [--lecture-seule]

The reading's peak memory (the process's max RSS once the export is read) is printed too:
the reader must stay well under the 2 GB a 1,000,000-row run is allowed.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relance_xlsx.config import Settings  # noqa: E402
from relance_xlsx.journal import load_journal  # noqa: E402
from relance_xlsx.pipeline import classify_export  # noqa: E402
from relance_xlsx.reader import read_export  # noqa: E402

RUN_DATE = date(2026, 11, 23)
HEADERS = ["Code client", "Raison sociale", "N° pièce", "Date pièce", "Date d'éch.",
           "Montant TTC", "Réglé", "Reste à payer", "Litige", "Niveau relance",
           "Dernière relance", "E-mail", "Téléphone", "Adresse", "CP", "Ville"]  # fmt: skip


def _rows(rows: int, seed: int) -> Iterator[list[object]]:
    """The export's rows: two title rows, the headers, the invoices, the total row."""
    rng = random.Random(seed)
    yield ["Échéancier clients – balance âgée détaillée"]
    yield [f"Export du {RUN_DATE:%d/%m/%Y}"]
    yield HEADERS
    n_clients = max(rows // 13, 1)
    for i in range(rows):
        c = rng.randrange(n_clients)
        issued = RUN_DATE - timedelta(days=rng.randint(0, 200))
        due = issued + timedelta(days=rng.choice([30, 45, 60]))
        ttc = round(rng.uniform(50, 20000), 2)
        if rng.random() < 0.03:
            ttc = -round(ttc / 10, 2)
        paid = round(ttc * rng.choice([0, 0, 0, 0.5, 1]), 2) if ttc > 0 else 0
        rest = round(ttc - paid, 2)
        # a formal notice under way holds the client's letters: keep it rare, as in life
        level = (rng.choice([None, None, None, 1, 2, 2]) if rng.random() > 0.002 else 3) \
            if due < RUN_DATE - timedelta(20) else None
        last = (due + timedelta(days=rng.randint(5, 15))) if level else None
        text = i % 3 == 0
        yield [
            f"C{c:05d}", f"Client numéro {c} SARL", f"FA{100000 + i}",
            issued.strftime("%d/%m/%Y") if text else issued,
            due.strftime("%d/%m/%Y") if text else due,
            f"{ttc:,.2f} €".replace(",", "\u00a0").replace(".", ",") if text else ttc,
            paid or None, rest, "oui" if rng.random() < 0.01 else "", level, last,
            f"compta{c}@exemple.fr", "01 23 45 67 89", f"{c} rue de la Paix", "75002", "Paris",
        ]  # fmt: skip
    yield ["", "Total général"]


_SHEET = "xl/worksheets/sheet1.xml"
_EXCEL_EPOCH = date(1899, 12, 30)
_LETTERS = [chr(ord("A") + i) for i in range(26)]


def _cell(ref: str, value: object) -> str:
    """One cell as openpyxl's write-only mode writes it (inline text, dates as styled serials)."""
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>' if value \
            else f'<c r="{ref}" t="inlineStr"></c>'  # fmt: skip
    if isinstance(value, date):
        return f'<c r="{ref}" s="1" t="n"><v>{(value - _EXCEL_EPOCH).days}</v></c>'
    return f'<c r="{ref}" t="n"><v>{value:.16g}</v></c>'


def generate(path: Path, rows: int, seed: int = 7) -> Path:
    """A big export, its sheet XML written here as openpyxl's write-only mode writes it.

    openpyxl itself takes over an hour for a million rows; the workbook's other parts (styles
    with the date format as style 1, theme, relations) come from a one-row openpyxl workbook.
    """
    skeleton = Workbook(write_only=True)
    sheet = skeleton.create_sheet("Échéancier")
    sheet.append([RUN_DATE])  # registers the date style (s="1")
    buffer = io.BytesIO()
    skeleton.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partiel")
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
        head, _, tail = src.read(_SHEET).decode().partition("<sheetData>")
        assert 's="1"' in tail, "openpyxl no longer gives dates the style 1"
        tail = tail[tail.index("</sheetData>"):]
        for item in src.infolist():
            if item.filename != _SHEET:
                out.writestr(item, src.read(item))
        with out.open(_SHEET, "w", force_zip64=True) as xml:
            xml.write(f"{head}<sheetData>".encode())
            chunk: list[str] = []
            for r, values in enumerate(_rows(rows, seed), start=1):
                cells = "".join(_cell(f"{_LETTERS[j]}{r}", v)
                                for j, v in enumerate(values) if v is not None)  # fmt: skip
                chunk.append(f'<row r="{r}">{cells}</row>')
                if len(chunk) == 10_000:
                    xml.write("".join(chunk).encode())
                    chunk.clear()
            xml.write(("".join(chunk) + tail).encode())
    partial.replace(path)
    return path


def timed(label: str, fn, repeat: int):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<38} {best:7.3f} s (meilleur de {repeat})")
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also a whole run with letters")
    parser.add_argument("--lecture-seule", action="store_true", help="only read the export")
    args = parser.parse_args()

    path = ROOT / "benchmarks" / "out" / f"export_{args.rows}.xlsx"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(f"export généré : {path} ({time.perf_counter() - t0:.1f} s)")
    settings = Settings()
    journal = load_journal(path.parent / "absent.sqlite")

    read, t_read = timed("lecture de l'export", lambda: read_export(path, settings), args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"{'mémoire maximale après la lecture':<38} {peak:7.0f} Mo")
    if args.lecture_seule:
        return
    (classified, letters), t_cls = timed(
        "historique + classement + courriers",
        lambda: classify_export(read, settings, journal, RUN_DATE),
        args.repeat,
    )
    print(f"{'lecture + classement':<38} {t_read + t_cls:7.3f} s  (objectif < 2 s)")
    print(f"  {len(classified)} factures, {len(letters)} courriers à produire")

    from relance_xlsx import writeback

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        statuses = dict(zip(classified["ligne"].astype(int), classified["statut"], strict=True))
        timed(
            "écriture de la colonne de statut",
            lambda: writeback.write_status_column(
                copy, read.sheet, read.header_row, statuses, "Statut relance", Path(tmp) / "s"
            ),
            1,
        )
        if args.full:
            from relance_xlsx.pipeline import RunOptions, run

            copy2 = Path(tmp) / "full.xlsx"
            shutil.copy(path, copy2)
            timed(
                "exécution complète (courriers inclus)",
                lambda: run(RunOptions(export=copy2, run_date=RUN_DATE,
                                       journal=Path(tmp) / "j.sqlite", out=Path(tmp) / "c")),
                1,
            )  # fmt: skip
            # a week later, on a fresh export, with the first week's events in the journal
            copy3 = Path(tmp) / "week2.xlsx"
            shutil.copy(path, copy3)
            week2 = RUN_DATE + timedelta(days=7)
            timed("journal relu (événements d'une semaine)",
                  lambda: load_journal(Path(tmp) / "j.sqlite"), 1)  # fmt: skip
            timed(
                "semaine suivante, journal rempli",
                lambda: run(RunOptions(export=copy3, run_date=week2,
                                       journal=Path(tmp) / "j.sqlite", out=Path(tmp) / "c")),
                1,
            )  # fmt: skip


if __name__ == "__main__":
    main()
