"""The weekly run, stage by stage: read, history, classify, plan, amounts, render,
write back, record. Usable from Python as well as from the CLI::

    from relance_xlsx.pipeline import RunOptions, run
    result = run(RunOptions(export=Path("echeancier.xlsx"), run_date=date.today()))

Everything that can fail is checked before the first byte is written: settings, the
export, the workbook lock, the journal and the templates. Letters are rendered into a
temporary folder and moved into place only once the workbook has been written.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd

from .amounts import letter_amounts, load_rate_table
from .business_days import calendar_for
from .config import JOURNAL_FILENAME, LETTERS_DIRNAME, Settings, find_settings, load_settings
from .errors import RelanceError
from .history import merge_history
from .journal import check_journal, load_history, record_run
from .model import SEP, PlannedLetter, RunResult
from .planning import plan_letters
from .policy import classify
from .reader import ReadResult, read_export
from .report import summary_text

SAUVEGARDES = "sauvegardes"


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for (the CLI's options)."""

    export: Path
    run_date: date
    config: Path | None = None
    out: Path | None = None
    journal: Path | None = None
    dry_run: bool = False
    jobs: int | None = None


@dataclass(frozen=True)
class Paths:
    """Where a run reads and writes, resolved from the options and the settings file."""

    settings: Path | None
    journal: Path
    out_root: Path
    backups: Path

    @property
    def base(self) -> Path:
        return self.out_root.parent


def resolve_paths(options: RunOptions) -> Paths:
    """Defaults live beside the settings file, or beside the export when there is none."""
    settings_path = find_settings(options.config, options.export)
    base = settings_path.resolve().parent if settings_path else options.export.resolve().parent
    return Paths(
        settings=settings_path,
        journal=Path(options.journal) if options.journal else base / JOURNAL_FILENAME,
        out_root=Path(options.out) if options.out else base / LETTERS_DIRNAME,
        backups=options.export.resolve().parent / SAUVEGARDES,
    )


def classify_export(
    read: ReadResult, settings: Settings, journal: pd.DataFrame, run_date: date
) -> tuple[pd.DataFrame, tuple[PlannedLetter, ...]]:
    """Stages 2–4, pure: history, classification, letters to write."""
    invoices = merge_history(read.invoices, journal, run_date)
    cal = calendar_for(
        settings.subdivision,
        run_date,
        invoices["date_echeance"].to_numpy(dtype="datetime64[D]"),
        invoices["date_niveau"].to_numpy(dtype="datetime64[D]"),
    )
    classified = classify(invoices, run_date, settings, cal)
    return classified, plan_letters(classified, run_date)


def run(options: RunOptions, progress=None) -> RunResult:
    """One run over one export. Raises RelanceError (French message) when it cannot run."""
    export = Path(options.export)
    paths = resolve_paths(options)
    settings = load_settings(paths.settings)
    read = read_export(export, settings)

    from . import letters as letters_mod
    from . import writeback

    if not options.dry_run:
        if read.in_place:
            writeback.check_writable(export)
        check_journal(paths.journal)

    journal = load_history(paths.journal)
    classified, planned = classify_export(read, settings, journal, options.run_date)
    if planned and not options.dry_run:
        letters_mod.require_templates(settings.modeles_dossier, {x.niveau for x in planned})

    warnings = list(read.warnings)
    rates = load_rate_table(settings.taux_bce)
    for letter in planned:
        for w in letter_amounts(letter, settings, rates).warnings:
            if w not in warnings:
                warnings.append(w)

    extra = {
        "header_row": read.header_row,
        "dropped_total_rows": read.dropped_total_rows,
        "journal": paths.journal,
        "columns": dict(read.columns),
        "settings": paths.settings,
    }
    result = RunResult(
        run_date=options.run_date,
        source=export,
        sheet=read.sheet,
        invoices=classified,
        letters=planned,
        warnings=tuple(warnings),
        dry_run=options.dry_run,
        extra=extra,
    )
    if options.dry_run:
        return result
    return _write(result, read, settings, paths, options, progress)


def _write(
    result: RunResult,
    read: ReadResult,
    settings: Settings,
    paths: Paths,
    options: RunOptions,
    progress,
) -> RunResult:
    """Stages 6–8: letters (to a temporary folder), write-back, then move and record."""
    from . import letters as letters_mod
    from . import writeback

    run_dir = paths.out_root / options.run_date.isoformat()
    classified = result.invoices.copy()
    warnings = list(result.warnings)
    try:
        paths.out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RelanceError(
            f"Impossible de créer le dossier des courriers « {paths.out_root} » ({exc}).\n"
            "Choisissez un autre dossier avec --out."
        ) from exc
    staging = Path(tempfile.mkdtemp(prefix=".relance-", dir=paths.out_root))
    try:
        files: list[Path] = []
        if result.letters:
            rendered = letters_mod.render_letters(
                result.letters, settings, staging, jobs=options.jobs
            )
            files = list(rendered.files)
            warnings.extend(w for w in rendered.warnings if w not in warnings)
            by_client = {
                x.cle_client: f.name for x, f in zip(result.letters, files, strict=True)
            }
            sent = classified["niveau_apres"] > classified["niveau"]
            names = classified["cle_client"].map(by_client).fillna("")
            mark = sent & (names != "")
            classified.loc[mark, "statut"] = (
                classified.loc[mark, "statut"] + SEP + "courrier « " + names[mark] + " »"
            )
            classified["courrier"] = names.where(classified["dans_courrier"], "")
        else:
            classified["courrier"] = ""

        statuses = dict(zip(classified["ligne"].astype(int), classified["statut"], strict=True))
        backup = None
        if read.in_place:
            wb = writeback.write_status_column(
                read.source, read.sheet, read.header_row, statuses,
                settings.colonne_statut, paths.backups,
            )  # fmt: skip
            written, backup = wb.path, wb.backup
        else:
            written = writeback.write_copy_with_status(
                read.source, [list(r) for r in read.raw_rows], read.header_row, statuses,
                settings.colonne_statut, sheet_title=read.sheet[:31] or "Factures",
            )  # fmt: skip
            warnings.append(
                f"Un fichier {read.kind} ne peut pas recevoir de colonne : le statut est écrit "
                f"dans une copie, « {written.name} », à côté de l'export."
            )
        final_files: list[Path] = []
        if files:
            run_dir.mkdir(parents=True, exist_ok=True)
            for f in files:
                target = run_dir / f.name
                f.replace(target)
                final_files.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    sent = classified[classified["niveau_apres"] > classified["niveau"]]
    record_run(
        paths.journal,
        options.run_date,
        read.source,
        (
            (r.cle_facture, r.cle_client, r.numero_facture, r.client, int(r.niveau_apres),
             r.courrier, float(r.reste_du))
            for r in sent.itertuples(index=False)
        ),  # fmt: skip
        (
            (x.cle_client, x.client, x.niveau, f.name,
             ", ".join(line.numero for line in x.lignes), float(x.solde))
            for x, f in zip(result.letters, final_files, strict=True)
        ),  # fmt: skip
        (len(classified), len(final_files), int((classified["etat"] == "Erreur").sum())),
    )
    result = replace(
        result,
        invoices=classified,
        warnings=tuple(warnings),
        letter_files=tuple(final_files),
        workbook_written=written,
        backup=backup,
        out_dir=run_dir if final_files else None,
    )
    summary_dir = run_dir
    summary_dir.mkdir(parents=True, exist_ok=True)
    summary_file = summary_dir / f"résumé – {read.source.stem} – {options.run_date.isoformat()}.txt"
    result = replace(result, out_dir=run_dir, summary_file=summary_file)
    summary_file.write_text(summary_text(result), encoding="utf-8")
    return result
