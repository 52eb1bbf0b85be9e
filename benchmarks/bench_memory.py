"""Benchmark: peak memory of a full run (the CLI's, letters included) and of the write-back.

Targets (issue 15): under 500 MB at 100,000 rows, under 2 GB at 1,000,000 rows. The peak is
the OS's max RSS of the measured process and of its children (the letter workers), read with
``getrusage(RUSAGE_CHILDREN)`` by a small parent that waits for them: the largest of them,
not their sum (a forked worker counts the parent's pages it shares: a big run spawns its
workers, letters/rendering.py). CPU time (user + sys of them all) is steadier than wall time
on a shared machine. The export comes from ``bench_run.generate`` (its sheet XML written
directly: a million rows in about 1.5 minutes) and is cached in ``benchmarks/out/``.

``--profile`` runs the pipeline in this process with a thread sampling RSS: the stages in
order (RSS at their start, at their highest, their duration), then RSS growth charged to the
stage running (calamine holds Python's lock: its growth shows on the next stage sampled).

Measured on the shared 2-core machine (2026-12-02): 20,000 rows 189 MB; 100,000 rows 305 MB
(394 MB before the report was streamed); 1,000,000 rows 1,807 MB, CPU 549 s (2,631 MB the
session before). Where a million rows go (``--profile --depth 6``): reading 1.56 GB at its
highest (calamine's grid and the rows built from it, cells shared), 1.0 GB once read; the
classified table and the priced letters about 1.4 GB when the letters start; the write-back,
follow-up workbook, journal and report each add a transient 50-150 MB on top. What took it
down: the report's sheets in openpyxl's write-only mode (report_sheet.py: 0.6 GB of cell
objects), no whole-table copies (client_details field by field, columns selected before rows),
equal statuses and amounts shared as one object, letter chunks of at most 1,000.

    python benchmarks/bench_memory.py --rows 100000            # full run (CLI)
    python benchmarks/bench_memory.py --rows 100000 --writeback  # write-back only
    python benchmarks/bench_memory.py --rows 100000 --profile    # where the memory goes
    python benchmarks/bench_memory.py --code /tmp/base  # another checkout (git archive), for a
                                                        # base-vs-new comparison
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_run import RUN_DATE, generate  # noqa: E402

# Runs the command given, waits for it (and it for its workers), prints its peak and CPU time.
_MEASURE = """
import json, resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
use = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = use.ru_utime + use.ru_stime
print(json.dumps({"rc": rc, "maxrss_mb": use.ru_maxrss / 1024, "cpu_s": cpu}))
"""

# Write-back alone: every data row of the generated export gets a status.
_WRITEBACK = """
import sys
from pathlib import Path
from relance_xlsx.writeback import write_status_column
path, rows = Path(sys.argv[1]), int(sys.argv[2])
header = 3  # bench_run.generate: two title rows, then the headers
statuses = {header + 1 + i: ("Relance 1 à envoyer" if i % 3 else "À jour") for i in range(rows)}
write_status_column(path, "Échéancier", header, statuses, "Statut relance", path.parent / "s")
"""

# The pipeline in-process, with a thread that samples RSS and the stage running.
_PROFILE = """
import sys, threading, time, traceback
from datetime import date
from pathlib import Path
from relance_xlsx.pipeline import RunOptions, run

samples = []
DEPTH = int(sys.argv[4]) if len(sys.argv) > 4 else 4
main = threading.main_thread().ident
def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
def where():
    frame = sys._current_frames().get(main)
    names = [f"{Path(f.filename).stem}.{f.name}" for f in traceback.extract_stack(frame)
             if "relance_xlsx" in f.filename]
    return " > ".join(names[-3:]), " > ".join(names[2:DEPTH])
def sample():
    while True:
        samples.append((rss_mb(), *where()))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
export, tmp = Path(sys.argv[1]), Path(sys.argv[2])
run(RunOptions(export=export, run_date=date.fromisoformat(sys.argv[3]),
               journal=tmp / "j.sqlite", out=tmp / "c"))
grown, previous = {}, samples[0][0]
for rss, at, _ in samples:  # the growth of RSS, charged to the stage running when it grew
    grown[at] = grown.get(at, 0) + max(rss - previous, 0)
    previous = rss
reading = max((r for r, at, _ in samples if "reader." in at or "sources." in at), default=0)
print(f"pic {max(r for r, _, _ in samples):.0f} Mo (lecture de l'export : {reading:.0f} Mo) ; "
      "étapes dans l'ordre (Mo au début, au plus haut, durée) :")
segments = []  # the run's stages in order: RSS when each began and its highest
for rss, _, stage in samples:
    if segments and segments[-1][0] == stage:
        segments[-1][2] = max(segments[-1][2], rss)
        segments[-1][3] += 1
    else:
        segments.append([stage, rss, rss, 1])
for stage, first, top, n in segments:
    if n * 0.05 >= 0.5 or top - first >= 20:
        print(f"{first:6.0f} {top:6.0f} {n * 0.05:6.1f} s  {stage or '(hors étape)'}")
print("croissance par étape :")
for at, mb in sorted(grown.items(), key=lambda kv: -kv[1])[:25]:
    print(f"{mb:8.0f} Mo  {at}")
"""


def export_path(rows: int) -> Path:
    path = ROOT / "benchmarks" / "out" / f"export_{rows}.xlsx"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, rows)
        print(f"export généré : {path} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return path


def measure(command: list[str], code: Path) -> dict[str, float]:
    """Peak RSS (MB) and CPU seconds of ``command`` and its children."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    # Not from the worktree: ``-c`` would import its relance_xlsx before ``code``'s.
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True, text=True, env=env, check=True, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    got = json.loads(out.stdout)
    if got["rc"] != 0:
        print(out.stderr[-3000:], file=sys.stderr)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--code", type=Path, default=ROOT, help="folder holding relance_xlsx")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--writeback", action="store_true", help="the write-back alone")
    mode.add_argument("--profile", action="store_true", help="peak RSS by stage (sampled)")
    parser.add_argument("--depth", type=int, default=4,
                        help="--profile: stages named down to this depth of the stack")
    args = parser.parse_args()

    source = export_path(args.rows)
    best: dict[str, float] | None = None
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / source.name
            shutil.copy(source, export)
            if args.profile:
                env = {**os.environ, "PYTHONPATH": str(args.code)}
                cmd = [sys.executable, "-c", _PROFILE, str(export), tmp, RUN_DATE.isoformat(),
                       str(args.depth)]
                subprocess.run(cmd, env=env, check=True, cwd=tmp)
                return
            if args.writeback:
                cmd = [sys.executable, "-c", _WRITEBACK, str(export), str(args.rows)]
            else:
                cmd = [sys.executable, "-m", "relance_xlsx", "run", str(export),
                       "--date", RUN_DATE.strftime("%d/%m/%Y"),
                       "--journal", str(Path(tmp) / "j.sqlite"),
                       "--out", str(Path(tmp) / "c")]  # fmt: skip
            t0 = time.perf_counter()
            got = measure(cmd, args.code)
            got["wall_s"] = time.perf_counter() - t0
        if got["rc"] != 0:
            sys.exit(f"la commande a échoué (code {got['rc']}) : {' '.join(cmd[:4])}…")
        if best is None or got["cpu_s"] < best["cpu_s"]:
            best = got
    assert best is not None
    what = "écriture du statut" if args.writeback else "exécution complète (CLI)"
    target = "" if args.writeback else (
        "  (objectif < 500 Mo)" if args.rows <= 100_000 else "  (objectif < 2 Go)")  # fmt: skip
    print(f"{what}, {args.rows} lignes : pic {best['maxrss_mb']:.0f} Mo, "
          f"CPU {best['cpu_s']:.1f} s, durée {best['wall_s']:.1f} s{target}")  # fmt: skip


if __name__ == "__main__":
    main()
