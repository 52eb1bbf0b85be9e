"""The weekly run, stage by stage: read, history, classify, plan, amounts, render,
write back, record. Usable from Python as well as from the CLI::

    from relance_xlsx.pipeline import RunOptions, run
    result = run(RunOptions(export=Path("echeancier.xlsx"), run_date=date.today()))

Everything that can fail is checked before the first byte is written: settings, the
export, the workbook lock, the journal and the templates. Letters are rendered into a
temporary folder and moved into place only once the workbook has been written.

After the journal is written, the extras never fail a run (their problems become
warnings): the PDF print batch (``--pdf``), e-mail drafts (``--emails``), the report
workbook ``rapport – AAAA-MM-JJ.xlsx`` and the text summary, all in the run's folder
``courriers/AAAA-MM-JJ/``. Their paths are in ``RunResult.extra`` ("rapport",
"impression", "pdfs", "emails").

``run_folder`` runs every export of a folder (``a_traiter/``), one after the other.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from . import history, policy
from .amounts import default_business_day, letter_amounts, load_rate_table
from .business_days import calendar_for
from .config import JOURNAL_FILENAME, LETTERS_DIRNAME, Settings, find_settings, load_settings
from .errors import InputError, RelanceError, SettingsError
from .fields import declared, require_columns
from .history import merge_history
from .journal import (
    JournalWriter,
    check_journal,
    export_key,
    fingerprint,
    load_history,
    load_letters,
    processed_before,
)
from .model import SEP, PlannedLetter, RunResult
from .planning import plan_letters
from .policy import classify
from .progress import NullProgress, Progress
from .reader import ReadResult, read_export
from .report import summary_text

SAUVEGARDES = "sauvegardes"
# The invoice table's column the run adds once its letters are written (fields.py).
ADDS = declared("courrier")


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
    pdf: bool = False  # also PDF letters and one print batch (LibreOffice)
    emails: bool = False  # also an .eml draft per letter for clients with an address
    report: bool = True  # the report workbook beside the letters
    subfolder: str = ""  # letters in courriers/AAAA-MM-JJ/<subfolder> (several exports)


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
    read: ReadResult,
    settings: Settings,
    journal: pd.DataFrame,
    run_date: date,
    letters_sent: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, tuple[PlannedLetter, ...]]:
    """Stages 2–4, pure: history, classification, letters to write.

    ``letters_sent`` (cle_client, date) are the journal's letters: the minimum interval
    counts from the last one even when its invoices have left the export.
    """
    return classify_invoices(
        read.invoices, settings, journal, run_date, letters_sent, export_key(read.source)
    )


def classify_invoices(
    invoices: pd.DataFrame,
    settings: Settings,
    journal: pd.DataFrame,
    run_date: date,
    letters_sent: pd.DataFrame | None = None,
    export: str = "",
) -> tuple[pd.DataFrame, tuple[PlannedLetter, ...]]:
    """``classify_export`` on an invoice table (fields.invoice_table builds one in memory);
    ``export`` is the export's key in the journal (journal.export_key)."""
    require_columns(invoices, history.NEEDS, "historique")
    invoices = merge_history(invoices, journal, run_date, letters_sent, export)
    require_columns(invoices, policy.NEEDS, "classement")
    cal = calendar_for(
        settings.subdivision,
        run_date,
        invoices["date_echeance"].to_numpy(dtype="datetime64[D]"),
        invoices["date_niveau"].to_numpy(dtype="datetime64[D]"),
    )
    classified = classify(invoices, run_date, settings, cal)
    return classified, plan_letters(classified, run_date)


def steps(options: RunOptions) -> list[str]:
    """The stages a progress bar shows for these options, in order."""
    if options.dry_run:
        return ["lecture", "classement"]
    out = ["lecture", "classement", "courriers", "écriture du statut"]
    if options.pdf:
        out.append("PDF")
    if options.emails:
        out.append("e-mails")
    if options.report:
        out.append("rapport")
    return out


def run(options: RunOptions, progress: Progress | None = None, label: str = "") -> RunResult:
    """One run over one export. Raises RelanceError (French message) when it cannot run."""
    progress = progress or NullProgress()
    progress.start(label or f"« {Path(options.export).name} »", steps(options))
    try:
        result = _run(options, progress)
    except BaseException:
        progress.finish(ok=False)
        raise
    progress.finish()
    return result


def _run(options: RunOptions, progress: Progress) -> RunResult:
    export = Path(options.export)
    paths = resolve_paths(options)
    settings = load_settings(paths.settings)
    progress.step("lecture")
    read = read_export(export, settings)

    from . import letters as letters_mod
    from . import writeback

    if not options.dry_run:
        writeback.check_writable(export)  # for csv/xls/ods: the "avec statut" copy
        check_journal(paths.journal)

    progress.step("classement")
    journal = load_history(paths.journal)
    classified, planned = classify_export(
        read, settings, journal, options.run_date, load_letters(paths.journal)
    )
    if planned and not options.dry_run:
        letters_mod.require_templates(settings.modeles_dossier, {x.niveau for x in planned})

    warnings = list(read.warnings)
    rates = load_rate_table(settings.taux_bce)
    business_day = default_business_day(settings.subdivision)  # once, not per letter
    amounts = tuple(letter_amounts(x, settings, rates, business_day) for x in planned)
    for a in amounts:
        warnings.extend(w for w in a.warnings if w not in warnings)

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
        amounts=amounts,
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
    progress: Progress,
) -> RunResult:
    """Stages 6–8: letters (to a temporary folder), write-back, then move and record."""
    from . import letters as letters_mod
    from . import writeback

    run_dir = paths.out_root / options.run_date.isoformat()
    if options.subfolder:
        run_dir = run_dir / options.subfolder
    classified = result.invoices.copy()
    warnings = list(result.warnings)
    created_root = not paths.out_root.exists()
    try:
        paths.out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RelanceError(
            f"Impossible de créer le dossier des courriers « {paths.out_root} » ({exc}).\n"
            "Choisissez un autre dossier avec --out."
        ) from exc
    staging = Path(tempfile.mkdtemp(prefix=".relance-", dir=paths.out_root))
    journal = JournalWriter(paths.journal)
    moved: list[tuple[Path, Path | None]] = []  # (letter put in place, the file it displaced)
    wb = None
    try:
        files: list[Path] = []
        progress.step("courriers")
        if result.letters:
            rendered = letters_mod.render_letters(
                result.letters, settings, staging, jobs=options.jobs, amounts=result.amounts
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

        # The journal transaction is opened (and locked) before anything is put in place.
        journal.begin()
        sent_rows = classified[classified["niveau_apres"] > classified["niveau"]]
        stale = journal.record(
            options.run_date,
            read.source,
            (
                (r.cle_facture, r.cle_client, r.numero_facture, r.client, int(r.niveau_apres),
                 r.courrier, float(r.reste_du))
                for r in sent_rows.itertuples(index=False)
            ),  # fmt: skip
            (
                (x.cle_client, x.client, x.niveau, f.name,
                 ", ".join(line.numero for line in x.lignes), float(x.solde))
                for x, f in zip(result.letters, files, strict=True)
            ),  # fmt: skip
            (len(classified), len(files), int((classified["etat"] == "Erreur").sum())),
            classified["cle_facture"],
            classified["cle_client"],
        )
        final_files = _put_letters_in_place(files, run_dir, staging, moved)

        progress.step("écriture du statut")
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
        journal.set_fingerprint(fingerprint(written if read.in_place else read.source))
        journal.commit()
    except BaseException:
        journal.rollback()
        _restore_letters(moved)
        if wb is not None and wb.backup and wb.backup.exists():
            shutil.copyfile(wb.backup, wb.path)  # written, then something failed: undo it
        shutil.rmtree(staging, ignore_errors=True)
        if created_root:
            shutil.rmtree(paths.out_root, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    written_names = {f.name for f in final_files}
    for name in stale:
        if name not in written_names:
            try:
                (run_dir / name).unlink(missing_ok=True)  # an earlier run's letter, same date
            except OSError:
                warnings.append(
                    f"Le courrier « {name} » d'une exécution précédente du même jour n'a pas "
                    "pu être supprimé (ouvert dans Word ?) : il n'est plus à envoyer, "
                    "supprimez-le vous-même."
                )

    result = replace(
        result,
        invoices=classified,
        warnings=tuple(warnings),
        letter_files=tuple(final_files),
        workbook_written=written,
        backup=backup,
        out_dir=run_dir,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    result = _extras(result, settings, options, run_dir, progress)
    summary_file = run_dir / f"résumé – {read.source.stem} – {options.run_date.isoformat()}.txt"
    result = replace(result, summary_file=summary_file)
    summary_file.write_text(summary_text(result), encoding="utf-8")
    return result


def _put_letters_in_place(
    files: list[Path], run_dir: Path, staging: Path, moved: list[tuple[Path, Path | None]]
) -> list[Path]:
    """Move the rendered letters into the run folder, keeping what they displace (in the
    staging folder) so a later failure can put everything back."""
    if not files:
        return []
    run_dir.mkdir(parents=True, exist_ok=True)
    final: list[Path] = []
    for f in files:
        target = run_dir / f.name
        displaced = None
        try:
            if target.exists():
                displaced = staging / f"ancien – {f.name}"
                target.replace(displaced)
            f.replace(target)
        except PermissionError as exc:
            if displaced is not None and displaced.exists() and not target.exists():
                displaced.replace(target)
            raise RelanceError(
                f"Impossible de remplacer le courrier « {target} » : il est sans doute ouvert "
                "dans Word. Fermez-le, puis relancez (rien n'a été modifié)."
            ) from exc
        moved.append((target, displaced))
        final.append(target)
    return final


def _restore_letters(moved: list[tuple[Path, Path | None]]) -> None:
    """Undo ``_put_letters_in_place``: remove the new letters, put back the old ones."""
    for target, displaced in reversed(moved):
        try:
            target.unlink(missing_ok=True)
            if displaced is not None and displaced.exists():
                displaced.replace(target)
        except OSError:
            pass
    for target, _ in moved[:1]:
        try:
            target.parent.rmdir()  # only when empty: a folder this run created
        except OSError:
            pass


def _extras(
    result: RunResult, settings: Settings, options: RunOptions, run_dir: Path, progress: Progress
) -> RunResult:
    """PDF print batch, e-mail drafts, report: after the journal, so they never fail a run."""
    day = options.run_date.isoformat()
    warnings = list(result.warnings)
    extra = dict(result.extra)
    files = list(result.letter_files)
    pdfs: tuple[Path | None, ...] = ()
    if options.pdf:
        progress.step("PDF")
        from .printing import print_batch

        printed = print_batch(files, run_dir, f"a_imprimer – {day}.pdf")
        pdfs = printed.pdfs
        extra["impression"] = printed.batch
        extra["pdfs"] = tuple(p for p in printed.pdfs if p is not None)
        warnings += [w for w in printed.warnings if w not in warnings]
    if options.emails:
        progress.step("e-mails")
        from .emails import write_drafts

        try:
            drafts = write_drafts(result.letters, files, settings, pdfs,
                                  amounts=result.amounts)  # fmt: skip
            extra["emails"] = tuple(p for p in drafts.files if p is not None)
            warnings += [w for w in drafts.warnings if w not in warnings]
        except Exception as exc:  # noqa: BLE001 - the workbook is written: warn, go on
            warnings.append(f"Brouillons d'e-mails non écrits ({exc}).")
    result = replace(result, warnings=tuple(warnings), extra=extra)
    if options.report:
        progress.step("rapport")
        from .report_xlsx import write_report

        target = run_dir / f"rapport – {day}.xlsx"
        try:
            extra["rapport"] = write_report(result, settings, target)
        except PermissionError:
            warnings.append(
                f"Le rapport « {target.name} » n'a pas pu être remplacé : il est sans doute "
                "ouvert dans Excel. Fermez-le, puis relancez (le même jour, rien n'est refait "
                "en double)."
            )
        except Exception as exc:  # noqa: BLE001 - the workbook is written: warn, go on
            warnings.append(f"Le rapport « {target.name} » n'a pas pu être écrit ({exc}).")
        result = replace(result, warnings=tuple(warnings), extra=extra)
    return result


# --- a folder of exports --------------------------------------------------------------------

EXPORT_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
OWN_OUTPUTS = (" – avec statut.xlsx",)


def list_exports(folder: Path) -> list[Path]:
    """The exports directly inside ``folder``, in name order.

    Skipped: Excel's owner files (``~$…``), hidden files, and the tool's own outputs
    (``… – avec statut.xlsx`` copies written beside csv/xls/ods exports).
    """
    found = []
    for entry in Path(folder).iterdir():
        name = entry.name
        if name.startswith(("~$", ".")) or not entry.is_file():
            continue
        if entry.suffix.lower() not in EXPORT_SUFFIXES or name.endswith(OWN_OUTPUTS):
            continue
        found.append(entry)
    return sorted(found, key=lambda p: (p.name.casefold(), p.name))


@dataclass(frozen=True)
class FileOutcome:
    """One export of a folder run: its result, or the French reason it failed."""

    export: Path
    index: int
    total: int
    result: RunResult | None = None
    error: str = ""
    exit_code: int = 0
    exception: BaseException | None = field(default=None, repr=False)
    skipped_since: date | None = None  # already processed that day, unchanged since


def run_folder(options: RunOptions, progress: Progress | None = None) -> Iterator[FileOutcome]:
    """Run every export of the folder ``options.export``, one after the other.

    A failure on one export is yielded and the others still run. Bad settings are the
    same for every export: the first ``SettingsError`` is raised and stops the folder.
    When the folder holds several exports, each gets its own letters folder
    (``courriers/AAAA-MM-JJ/<export>/``): two exports never overwrite each other's letters
    or report.
    """
    folder = Path(options.export)
    if not folder.is_dir():
        raise InputError(f"Le dossier « {folder} » est introuvable.")
    exports = list_exports(folder)
    if not exports:
        raise InputError(
            f"Aucun export à traiter dans « {folder} ». Déposez-y l'export Excel (.xlsx, .xls, "
            ".ods ou .csv) de votre logiciel comptable, puis relancez."
        )
    journal_path = resolve_paths(replace(options, export=exports[0])).journal
    fresh = []
    for export in exports:
        earlier = processed_before(journal_path, fingerprint(export), options.run_date)
        if earlier is None:
            fresh.append(export)
        else:
            yield FileOutcome(export, 0, len(exports), skipped_since=earlier)
    exports = fresh
    several = len(exports) > 1
    for i, export in enumerate(exports, start=1):
        one = replace(options, export=export, subfolder=export.stem if several else "")
        label = f"{i}/{len(exports)} « {export.name} »" if several else f"« {export.name} »"
        try:
            result = run(one, progress, label)
        except SettingsError:
            raise
        except RelanceError as exc:
            yield FileOutcome(export, i, len(exports), error=exc.message,
                              exit_code=exc.exit_code, exception=exc)  # fmt: skip
            continue
        except PermissionError as exc:
            yield FileOutcome(
                export, i, len(exports), exit_code=1, exception=exc,
                error=f"accès refusé à « {exc.filename} ». Le fichier est peut-être ouvert "
                "dans un autre programme ou en lecture seule : fermez-le puis relancez.",
            )  # fmt: skip
            continue
        except Exception as exc:  # noqa: BLE001 - one broken export must not stop the others
            yield FileOutcome(export, i, len(exports), exit_code=1, exception=exc,
                              error=f"erreur inattendue : {exc}")  # fmt: skip
            continue
        yield FileOutcome(export, i, len(exports), result=result)
