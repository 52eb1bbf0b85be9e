"""Letters per second for a realistic batch (default 1,500 letters, 1–8 invoices each).

Why: the target is ≥ 150 letters/s on a 2-core machine; run after changing relance_xlsx/letters/:
    python benchmarks/bench_letters.py [nombre] [--jobs N] [--qr]
Files go to a new folder in the system's temporary folder, removed afterwards (``--dossier`` to
choose one, emptied first and kept: e.g. benchmarks/out/courriers/, ignored by git). Why not the
repository by default: on the development VM, creating the same 1,500 files of 24 KB took 0.09 s
of system time in a fresh folder and 0.3 to 0.85 s in folders of the working tree where many
files had come and gone (the file system, not the rendering). The time counts the amounts
(stage 5, computed before rendering as the pipeline does) and the rendering; the rendering
alone is printed too, and the CPU time of this process and its workers (the machine may
be shared: the CPU time says what the letters cost, whatever else runs). --qr adds the payment
QR code to every letter (target: ≥ 200 letters/s).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relance_xlsx import letters as L  # noqa: E402
from relance_xlsx.amounts import letter_amounts, load_rate_table  # noqa: E402
from relance_xlsx.business_days import BusinessCalendar  # noqa: E402
from relance_xlsx.config import Settings  # noqa: E402
from relance_xlsx.model import LetterLine, PlannedLetter, PricedLetter  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "courriers"  # emptied each time (not the cached exports)


def make_letters(count: int, seed: int = 7) -> list[PlannedLetter]:
    """Deterministic clients with 1–8 lines (some credit notes and partial payments)."""
    rng = random.Random(seed)
    run = date(2026, 11, 23)
    letters = []
    for i in range(count):
        lines = []
        for j in range(rng.randint(1, 8)):
            due = run - timedelta(days=rng.randint(8, 200))
            ttc = Decimal(rng.randint(5_000, 2_500_000)) / 100
            paid = Decimal(0) if rng.random() < 0.7 else (ttc / 3).quantize(Decimal("0.01"))
            credit = j > 0 and rng.random() < 0.1
            if credit:
                ttc, paid = -ttc / 10, Decimal(0)
            lines.append(LetterLine(
                f"F2026-{i:05d}-{j}", due - timedelta(days=30), due, ttc.quantize(Decimal("0.01")),
                paid, (ttc - paid).quantize(Decimal("0.01")), (run - due).days, credit, j + 2,
            ))
        letters.append(PlannedLetter(
            cle_client=f"C{i:05d}", client=f"Client {i} & Associés <SARL>", code_client=f"C{i:05d}",
            niveau=rng.choice((1, 1, 1, 2, 2, 3)), date=run, lignes=tuple(lines),
            adresse=f"{i} rue de la République\nBâtiment {i % 7}", code_postal="75011",
            ville="Paris", contact="Service comptabilité", particulier=rng.random() < 0.05,
            date_precedent=run - timedelta(days=14),
        ))
    return letters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--qr", action="store_true", help="QR code de paiement sur chaque courrier")
    parser.add_argument("--dossier", type=Path, default=None,
                        help=f"dossier des courriers, vidé puis gardé (par ex. {OUT})")
    args = parser.parse_args()
    letters = make_letters(args.count)
    settings = Settings(societe=L.SAMPLE_SOCIETE, qr_paiement=args.qr)
    if args.dossier is None:
        with tempfile.TemporaryDirectory(prefix="bench_courriers_") as folder:
            measure(letters, settings, Path(folder), args)
    else:
        shutil.rmtree(args.dossier, ignore_errors=True)
        args.dossier.mkdir(parents=True)
        measure(letters, settings, args.dossier, args)


def measure(letters: list[PlannedLetter], settings: Settings, out: Path,
            args: argparse.Namespace) -> None:  # fmt: skip
    """Prices and renders ``letters`` into ``out``; prints the rates. The business-day
    calendar is built first, out of the time: in a run, stage 3 (the policy) has built it
    (and imported the ``holidays`` library, 0.2 s) before the amounts and the letters."""
    BusinessCalendar.around(settings.subdivision, letters[0].date).is_business_day(
        letters[0].date
    )
    cpu = os.times()
    start = time.perf_counter()
    priced = price(letters, settings)
    priced_at = time.perf_counter()
    result = L.render_letters(priced, settings, out, jobs=args.jobs)
    end = time.perf_counter()
    after = os.times()
    used = sum(getattr(after, k) - getattr(cpu, k) for k in ("user", "system", "children_user",
                                                              "children_system"))
    count = len(result.files)
    size = sum(f.stat().st_size for f in result.files) / count / 1024
    print(f"{count} courriers en {end - start:.2f} s : {count / (end - start):.0f} courriers/s "
          f"(jobs={args.jobs or 'auto'}, {size:.0f} Ko en moyenne) ; montants "
          f"{priced_at - start:.2f} s, rendu seul {count / (end - priced_at):.0f} courriers/s ; "
          f"temps CPU {used:.2f} s ({count / used:.0f} courriers par seconde CPU)"
          + (" ; avec QR code" if args.qr else ""))


def price(letters: list[PlannedLetter], settings: Settings) -> list[PricedLetter]:
    """Stage 5, as the pipeline does it: the rate table and the calendar built once."""
    rates = load_rate_table(settings.taux_bce)
    calendar = BusinessCalendar.around(settings.subdivision, letters[0].date)
    return [PricedLetter(x, letter_amounts(x, settings, rates, calendar.is_business_day))
            for x in letters]


if __name__ == "__main__":
    main()
