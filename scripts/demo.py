"""Run relance-xlsx on a copy of the demonstration export, in ``demo/`` (git-ignored).

The run writes a status column into the workbook it is given: on a copy, the tracked
sample stays as it is and the demo can be run again. Letters, backups and the journal land
beside the copy. Extra options go to ``relance-xlsx run`` (``--dry-run``, ``--pdf``…)::

    .venv/bin/python scripts/demo.py [--dry-run]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_workbooks" / "echeancier_clients.xlsx"
RUN_DATE = "2026-11-23"


def copy_sample(folder: Path) -> Path:
    """A fresh copy of the sample in ``folder``; the journal there is kept, so a second run
    on the same date changes nothing, as with a real export."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(SAMPLE, folder / SAMPLE.name))


def main(argv: list[str] | None = None, folder: Path = ROOT / "demo") -> None:
    from relance_xlsx.cli import main as relance

    export = copy_sample(folder)
    print(f"Copie de l'export de démonstration : {export}")
    args = sys.argv[1:] if argv is None else argv
    relance(["run", str(export), "--date", RUN_DATE, *args])


if __name__ == "__main__":
    main()
