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
``courriers/AAAA-MM-JJ/``. Their paths are in ``RunResult.files``.

``run_folder`` runs every export of a folder (``a_traiter/``), one after the other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import followup, followup_sheet, history, ledger, policy, staleness
from .amounts import default_business_day, letter_amounts, load_rate_table
from .business_days import calendar_for
from .config import JOURNAL_FILENAME, LETTERS_DIRNAME, Settings, find_settings, load_settings
from .errors import InputError, RelanceError, SettingsError, StaleExportError
from .fields import declared, require_columns
from .files import disk_full_words, is_disk_full, write_bytes_atomic
from .history import SAME_EXPORT_SHARE, merge_history, superseded_runs, superseded_warnings
from .journal import (
    HANDOVER,
    LETTER,
    Balance,
    Event,
    InvoiceEntry,
    JournalData,
    JournalWriter,
    RunRecord,
    SameDayRun,
    check_journal,
    export_key,
    fingerprint,
    load_journal,
    previous_clients,
    processed_before,
    recent_balances,
    same_date_runs,
)
from .letters.filenames import safe_filename_part
from .memory import give_back_freed_memory, keep_big_blocks_apart
from .model import SEP, PlannedLetter, PricedLetter, RenderedLetter, RunFiles, RunResult
from .planning import plan_letters
from .policy import classify
from .printing import batch_name
from .progress import NullProgress, Progress
from .publish import (
    FollowUpPart,
    JournalPart,
    LettersPart,
    Room,
    WorkbookPart,
    not_written,
    publish,
)
from .reader import ReadResult, address_columns, read_export
from .report import summary_text
from .tiers import HANDOVER_LEVEL

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
    force: bool = False  # run an export older than the last run's (--forcer)


@dataclass(frozen=True)
class Paths:
    """Where a run reads and writes, resolved from the options and the settings file."""

    settings: Path | None
    journal: Path
    out_root: Path
    backups: Path
    followup: Path  # suivi_relances.xlsx, beside the settings (or the export)

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
        followup=followup.path_for(base),
    )


def classify_export(
    read: ReadResult,
    settings: Settings,
    journal: JournalData,
    run_date: date,
    superseded: tuple[int, ...] = (),
    holds: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, tuple[PlannedLetter, ...]]:
    """Stages 2–4, pure: the ledger's lettrage (ledger.py), history, classification,
    letters to write.

    ``superseded`` are the same-date runs this one replaces (their events do not count);
    ``holds`` the clients the follow-up workbook holds (client key -> reason).
    """
    return classify_invoices(read.invoices, settings, journal, run_date, superseded, holds)


def classify_invoices(
    invoices: pd.DataFrame,
    settings: Settings,
    journal: JournalData,
    run_date: date,
    superseded: tuple[int, ...] = (),
    holds: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, tuple[PlannedLetter, ...]]:
    """``classify_export`` on an invoice table (fields.invoice_table builds one in memory),
    checking before each stage the columns it needs (fields.py declares them)."""
    require_columns(invoices, ledger.NEEDS, "lettrage")
    invoices = ledger.settle(invoices)
    require_columns(invoices, history.NEEDS, "historique")
    invoices = merge_history(invoices, journal, run_date, superseded)
    require_columns(invoices, policy.NEEDS, "classement")
    cal = calendar_for(
        settings.subdivision,
        run_date,
        invoices["date_echeance"].to_numpy(dtype="datetime64[D]"),
        invoices["date_niveau"].to_numpy(dtype="datetime64[D]"),
    )
    classified = classify(invoices, run_date, settings, cal, holds)
    return classified, plan_letters(classified, run_date)


def price_letters(
    letters: tuple[PlannedLetter, ...], settings: Settings
) -> tuple[tuple[PricedLetter, ...], list[str]]:
    """Stage 5: the late-payment amounts of each letter, and their warnings (once each)."""
    rates = load_rate_table(settings.taux_bce)
    business_day = default_business_day(settings.subdivision)  # once, not per letter
    priced = tuple(
        PricedLetter(x, letter_amounts(x, settings, rates, business_day)) for x in letters
    )
    warnings: list[str] = []
    for p in priced:
        warnings.extend(w for w in p.amounts.warnings if w not in warnings)
    return priced, warnings


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


# From this export size (about 200,000 rows), big blocks get pages of their own (memory.py):
# the stages of a big table then free their copies to the system. Below, they would only
# slow the reading (calamine's buffers) for memory a small run does not lack.
BIG_EXPORT_BYTES = 16 << 20


def _run(options: RunOptions, progress: Progress) -> RunResult:
    export = Path(options.export)
    try:
        if export.stat().st_size >= BIG_EXPORT_BYTES:
            keep_big_blocks_apart()
    except OSError:
        pass  # the reader says what is wrong with the file
    paths = resolve_paths(options)
    settings = load_settings(paths.settings)
    progress.step("lecture")
    read = read_export(export, settings)
    if read.in_place:  # the cells below the title are only needed to copy csv/xls/ods
        read = replace(read, raw_rows=read.title_rows)  # free them (1 KB a row)
    give_back_freed_memory()  # calamine's grid and the sheet's rows: gone before classifying

    from . import letters as letters_mod
    from . import writeback

    if not options.dry_run:
        writeback.check_writable(export)  # for csv/xls/ods: the "avec statut" copy
        check_journal(paths.journal)
        followup.check(paths.followup)
    entries = followup.read(paths.followup)

    progress.step("classement")
    journal = load_journal(paths.journal)
    same_day = same_date_runs(paths.journal, options.run_date)
    superseded = superseded_runs(same_day, export_key(read.source), read.invoices["cle_facture"])
    if not options.subfolder:
        options = replace(options, subfolder=letters_subfolder(same_day, superseded, export))
    effects = _followup_effects(read, entries, journal, settings, options.run_date, superseded)
    classified, planned = classify_export(read, settings, journal, options.run_date, superseded,
                                          effects.holds)  # fmt: skip
    give_back_freed_memory()
    age = check_age(read, classified, paths.journal, options)
    age += superseded_warnings(same_day, superseded, export_key(read.source),
                               options.force and bool(age))  # fmt: skip
    planned = followup.override_contacts(planned, entries, read.invoices)
    planned = followup.mark_broken_promises(planned, effects.broken)
    read = replace(read, invoices=read.invoices.iloc[:0])  # classified holds them from now on
    if planned and not options.dry_run:
        letters_mod.require_templates(settings.modeles_dossier, {x.niveau for x in planned})
    priced, warnings = price_letters(planned, settings)
    result = RunResult(
        run_date=options.run_date,
        source=export,
        sheet=read.sheet,
        invoices=classified,
        priced=priced,
        warnings=tuple(dict.fromkeys([*read.warnings, *age,
                                      *ledger.partial_warnings(classified), *warnings])),
        dry_run=options.dry_run,
        header_row=read.header_row,
        dropped_total_rows=read.dropped_total_rows,
        columns=dict(read.columns),
        column_index=dict(read.column_index),
        address_lines=tuple((read.headers[i], i) for i in address_columns(
            read.headers, read.column_index) if i != read.column_index.get("adresse")),
        column_uses=dict(read.column_uses),
        files=RunFiles(settings=paths.settings, journal=paths.journal),
        superseded=superseded,
        suivi_erreurs=tuple(effects.errors),
        promesses_non_tenues=effects.broken,
        suivi_semaine=effects.due_soon,
    )
    if options.dry_run:
        return result
    return _write(result, read, settings, paths, options, progress, effects)


def _gone_clients(invoices: pd.DataFrame, journal: Path, run_date: date) -> dict[str, str]:
    """Clients of this export's previous run that are no longer in it (all paid, or
    written off): the follow-up workbook says so instead of last week's debt. An export
    holding under half of that run's clients is a partial one: nobody is said gone."""
    seen = previous_clients(journal, run_date, invoices["cle_facture"].tolist())
    here = set(invoices["cle_client"])
    if len(seen & here) < SAME_EXPORT_SHARE * len(seen):
        return {}  # a partial export (one client, a filter): the others have not left
    gone = seen - here
    text = f"absent de l'export du {run_date:%d/%m/%Y} : plus rien à relancer"
    return dict.fromkeys(sorted(gone), text)


def check_age(read: ReadResult, classified: pd.DataFrame, journal: Path, options: RunOptions
              ) -> list[str]:  # fmt: skip
    """Refuse an export older than the last run's (staleness.py), before anything is
    written, dry run included; with --forcer, or when one invoice only came back, the
    summary's warnings say it. ``classified`` is the export as classified (pure, nothing
    written yet): its balances are as the journal records them, lettered lines settled
    (ledger.py), or every invoice paid by lettrage since an earlier run would look
    reopened."""
    keys = classified["cle_facture"].tolist()
    past = recent_balances(journal, options.run_date, keys, staleness.LOOKBACK_DATES)
    title = staleness.title_date(read.title_rows)
    verdict = staleness.check(classified, title, past, options.run_date)
    if verdict.stale and not options.force:
        raise StaleExportError(staleness.refusal(verdict, read.source.name, str(options.export)))
    return staleness.warnings(verdict, options.force)


def _followup_effects(read: ReadResult, entries: followup.FollowUp, journal: JournalData,
                      settings: Settings, run_date: date,
                      superseded: tuple[int, ...]) -> followup.Effects:  # fmt: skip
    """The follow-up workbook's entries joined to the export's clients (pure)."""
    inv = read.invoices
    clients = inv.drop_duplicates("cle_client")
    directory = followup.Directory.of(zip(clients["cle_client"], clients["code_client"],
                                          clients["client"], strict=True))  # fmt: skip
    resolved = followup.resolve(entries, directory)
    balances = inv.groupby("cle_client")["reste_du"].sum().to_dict()
    names = dict(zip(clients["cle_client"], clients["client"], strict=True))
    dates = [p.due for p in resolved.promises]
    cal = calendar_for(settings.subdivision, run_date, np.array(dates, dtype="datetime64[D]"))
    return followup.effects(resolved, journal.events, balances, names, run_date, cal,
                            settings.delais.tolerance_promesse, superseded)  # fmt: skip


def _email_words(journal: Path) -> Callable[[str, date], str]:
    """What became of a client's letter of a date by e-mail (``envoyer``). Read now, before
    the run's journal transaction: a large one keeps readers out until it commits."""
    from .sendlog import all_sending_states, email_words

    states = all_sending_states(journal)
    return lambda key, day: email_words(states.get((day, key)))


def letters_subfolder(same_day: list[SameDayRun], superseded: tuple[int, ...],
                      export: Path) -> str:  # fmt: skip
    """Where this run's letters go in the day's folder: where the run it replaces put them;
    in a folder of their own when another export already wrote letters that day (two
    establishments' clients may share names: their letters must never share a file)."""
    replaced = [r for r in same_day if r.id in superseded]
    if replaced:
        return max(replaced, key=lambda r: r.id).dossier
    if same_day:
        return safe_filename_part(export.stem, "export")
    return ""


def _mark_letters(classified: pd.DataFrame, rendered: tuple[RenderedLetter, ...]) -> pd.DataFrame:
    """The status of each invoice a letter took a step for names the letter's file."""
    by_client = {r.letter.cle_client: r.docx.name for r in rendered}
    names = classified["cle_client"].map(by_client).astype(object).fillna("")
    mark = (classified["niveau_apres"] > classified["niveau"]) & (names != "")
    mark &= classified["dans_courrier"]
    # equal texts are one object (policy._status_texts does the same): a letter's rows
    # share a few statuses, and a million rows' texts built one by one would weigh 0.1 GB
    made: dict[tuple[str, str], str] = {}

    def marked(text: str, name: str) -> str:
        got = made.get((text, name))
        if got is None:
            got = made[(text, name)] = f"{text}{SEP}courrier « {name} »"
        return got

    statut = classified["statut"].copy()
    statut[mark] = [marked(t, n) for t, n in zip(statut[mark], names[mark], strict=True)]
    # A shallow copy with two columns replaced: the other columns are not copied (a million
    # rows of object columns), and ``classified`` itself is left as it was.
    out = classified.copy(deep=False)
    out["statut"] = statut
    out["courrier"] = names.where(classified["dans_courrier"], "")
    return out


def _write(
    result: RunResult,
    read: ReadResult,
    settings: Settings,
    paths: Paths,
    options: RunOptions,
    progress: Progress,
    effects: followup.Effects,
) -> RunResult:
    """Stages 6–8 as one unit of work: letters, write-back, follow-up workbook, journal
    (publish.py)."""
    run_dir = paths.out_root / options.run_date.isoformat()
    if options.subfolder:
        run_dir = run_dir / options.subfolder
    rendered: list[RenderedLetter] = []
    warnings = list(result.warnings)

    def render(staging: Path) -> list[Path]:
        progress.step("courriers")
        done, more = _render(result.priced, settings, staging, options.jobs)
        rendered.extend(done)
        warnings.extend(w for w in more if w not in warnings)
        return [r.docx for r in done]

    @functools.cache
    def classified() -> pd.DataFrame:  # once the letters are rendered: their names known
        return _mark_letters(result.invoices, tuple(rendered))

    room = Room.estimate(len(result.priced), len(result.invoices), read.source)
    letters = LettersPart(paths.out_root, run_dir, render, room=room.letters,
                          batch=batch_name(options.run_date), elsewhere=(
                              paths.followup.parent, paths.followup.parent / SAUVEGARDES,
                              read.source.resolve().parent, paths.backups))  # fmt: skip
    workbook = WorkbookPart(
        lambda: _write_back(read, classified(), settings, paths, warnings, progress),
        folder=read.source.resolve().parent, room=room.workbook,
    )  # fmt: skip
    emails = _email_words(paths.journal)
    gone = _gone_clients(result.invoices, paths.journal, options.run_date)  # same keys
    suivi = FollowUpPart(paths.followup, lambda: followup_sheet.refresh(
        paths.followup,
        followup_sheet.client_rows(classified(), effects.holds, options.run_date, emails),
        paths.followup.parent / SAUVEGARDES, gone=gone), room=room.followup)  # fmt: skip
    journal = JournalWriter(paths.journal)
    record = JournalPart(
        journal, lambda: _with_followup(
            run_record(result, classified(), tuple(rendered), options.subfolder), effects),
        lambda: fingerprint(workbook.written if read.in_place else read.source),
        room=room.journal,
    )  # fmt: skip
    letters.stale = lambda: record.stale
    warnings += publish([letters, workbook, suivi, record])
    final = tuple(replace(r, docx=run_dir / r.docx.name) for r in rendered)
    files = replace(result.files, out_dir=run_dir, workbook=workbook.written,
                    backup=workbook.backup, journal_backup=journal.migrated_from,
                    followup=paths.followup)  # fmt: skip
    result = replace(result, invoices=classified(), warnings=tuple(warnings),
                     rendered=final, files=files)  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    give_back_freed_memory()  # what the letters, write-back and journal used: not the report's
    result = _extras(result, settings, options, run_dir, progress, room)
    summary = run_dir / f"résumé – {read.source.stem} – {options.run_date.isoformat()}.txt"
    result = replace(result, files=replace(result.files, summary=summary))
    give_back_freed_memory()  # the report's: a million-row run's summary comes at its peak
    text = summary_text(result)
    try:
        write_bytes_atomic(summary, text.encode("utf-8"))
    except OSError as exc:  # the run is recorded: say it, do not fail it
        reason = (disk_full_words(run_dir, len(text.encode("utf-8"))) if is_disk_full(exc)
                  else exc.strerror or str(exc))  # fmt: skip
        result = replace(result, files=replace(result.files, summary=None), warnings=(
            *result.warnings, f"Relances faites, mais le résumé « {summary.name} » n'a pas pu "
            f"être écrit : {reason}."))  # fmt: skip
    return result


def _render(
    priced: tuple[PricedLetter, ...], settings: Settings, folder: Path, jobs: int | None
) -> tuple[tuple[RenderedLetter, ...], tuple[str, ...]]:
    """Stage 6: one Word letter per priced letter, in ``folder``."""
    if not priced:
        return (), ()
    from . import letters as letters_mod

    out = letters_mod.render_letters(priced, settings, folder, jobs=jobs)
    return tuple(out.letters), tuple(out.warnings)


def _write_back(read: ReadResult, classified: pd.DataFrame, settings: Settings, paths: Paths,
                warnings: list[str], progress: Progress) -> tuple[Path, Path | None]:  # fmt: skip
    """Stage 7: the status column in the workbook, or in a copy for csv/xls/ods."""
    from . import writeback

    progress.step("écriture du statut")
    statuses = dict(zip(classified["ligne"].astype(int), classified["statut"], strict=True))
    if read.in_place:
        wb = writeback.write_status_column(
            read.source, read.sheet, read.header_row, statuses,
            settings.colonne_statut, paths.backups,
            data_columns=[i + 1 for i in read.column_index.values()],
        )  # fmt: skip
        warnings.extend(w for w in wb.warnings if w not in warnings)
        return wb.path, wb.backup
    written = writeback.write_copy_with_status(
        read.source, [list(r) for r in read.raw_rows], read.header_row, statuses,
        settings.colonne_statut, sheet_title=read.sheet[:31] or "Factures",
    )  # fmt: skip
    warnings.append(
        f"Un fichier {read.kind} ne peut pas recevoir de colonne : le statut est écrit "
        f"dans une copie, « {written.name} », à côté de l'export."
    )
    return written, None


def run_record(
    result: RunResult, classified: pd.DataFrame, rendered: tuple[RenderedLetter, ...],
    folder: str = "",
) -> RunRecord:
    """Stage 8's data: the balances seen, a letter event per letter (its invoices, the
    level each reaches, their amounts) and a hand-over event per client handed over."""
    # the columns used, then the rows: every column of a million rows selected would be
    # copied (hundreds of MB for a moment)
    rows = classified[["cle_facture", "cle_client", "numero_facture", "reste_du"]]
    rows = rows[rows["numero_facture"].astype(str) != ""]
    balances = tuple(
        Balance(k, c, str(n), float(r) if r == r else 0.0)
        for k, c, n, r in zip(rows["cle_facture"], rows["cle_client"], rows["numero_facture"],
                              rows["reste_du"], strict=True)
    )  # fmt: skip
    lines = {line.ligne for r in rendered for line in r.letter.lignes}  # not every invoice
    needed = classified.loc[classified["ligne"].isin(lines),
                            ["ligne", "cle_facture", "niveau", "niveau_apres"]]  # fmt: skip
    by_row = {int(r.ligne): r for r in needed.itertuples(index=False)}
    events = [_letter_event(r, by_row) for r in rendered]
    handed = classified.loc[(classified["niveau_apres"] > classified["niveau"])
                            & (classified["niveau_apres"] >= HANDOVER_LEVEL),
                            ["cle_client", "cle_facture", "numero_facture", "reste_du", "client"]]
    for key, group in handed.groupby("cle_client", sort=True):
        entries = tuple(
            InvoiceEntry(r.cle_facture, str(r.numero_facture), HANDOVER_LEVEL, True,
                         float(r.reste_du))
            for r in group.itertuples(index=False)
        )  # fmt: skip
        events.append(Event(HANDOVER, str(key), str(group["client"].iloc[0]), HANDOVER_LEVEL,
                            entries, total=float(group["reste_du"].sum())))  # fmt: skip
    errors = int((classified["etat"] == "Erreur").sum())
    return RunRecord(result.run_date, export_key(result.source), balances, tuple(events),
                     errors, result.superseded, folder)  # fmt: skip


def _with_followup(record: RunRecord, effects: followup.Effects) -> RunRecord:
    """The follow-up workbook's new entries as events, and the ones withdrawn."""
    return replace(record, events=(*record.events, *effects.events),
                   withdrawn=effects.withdrawn)  # fmt: skip


def _letter_event(rendered: RenderedLetter, by_row: dict[int, Any]) -> Event:
    """A letter issued: its tier, file, total and every invoice it lists."""
    letter, amounts = rendered.letter, rendered.priced.amounts
    entries = []
    for line, la in zip(letter.lignes, amounts.lines, strict=True):
        row = by_row[line.ligne]
        entries.append(InvoiceEntry(
            row.cle_facture, line.numero, int(row.niveau_apres),
            int(row.niveau_apres) > int(row.niveau), float(line.reste_du),
            float(la.interets), float(la.indemnite),
        ))  # fmt: skip
    return Event(LETTER, letter.cle_client, letter.client, letter.niveau, tuple(entries),
                 rendered.docx.name, float(letter.solde))  # fmt: skip


def _extras(
    result: RunResult, settings: Settings, options: RunOptions, run_dir: Path, progress: Progress,
    room: Room,
) -> RunResult:
    """PDF print batch, e-mail drafts, report: after the journal, so they never fail a run."""
    day = options.run_date.isoformat()
    warnings = list(result.warnings)
    files = result.files
    rendered = result.rendered
    if settings.factures_dossier is not None:
        from .invoice_copies import find_copies

        found = find_copies(rendered, settings.factures_dossier)
        rendered = found.letters
        warnings += [w for w in found.warnings if w not in warnings]
    if options.pdf:
        progress.step("PDF")
        from .printing import print_batch

        try:
            printed = print_batch(list(result.letter_files), run_dir,
                                  batch_name(options.run_date),
                                  [x.copies for x in rendered])  # fmt: skip
        except OSError as exc:
            said = not_written("le lot PDF", run_dir, room.pdf, exc)
            if said is None:
                raise
            warnings.append(said)
        else:
            rendered = tuple(replace(x, pdf=p)
                             for x, p in zip(rendered, printed.pdfs, strict=True))  # fmt: skip
            files = replace(files, print_batch=printed.batch,
                            pdfs=tuple(p for p in printed.pdfs if p is not None))  # fmt: skip
            warnings += [w for w in printed.warnings if w not in warnings]
    if options.emails:
        progress.step("e-mails")
        from .emails import write_drafts

        try:
            drafts = write_drafts(rendered, settings)
            rendered = drafts.letters
            files = replace(files, emails=tuple(p for p in drafts.files if p is not None))
            warnings += [w for w in drafts.warnings if w not in warnings]
        except Exception as exc:  # noqa: BLE001 - the workbook is written: warn, go on
            warnings.append(not_written("un brouillon d'e-mail", run_dir, room.emails, exc)
                            or f"Brouillons d'e-mails non écrits ({exc}).")  # fmt: skip
    result = replace(result, warnings=tuple(warnings), files=files, rendered=rendered)
    if options.report:
        progress.step("rapport")
        from .report_xlsx import write_report

        target = run_dir / f"rapport – {day}.xlsx"
        try:
            files = replace(files, report=write_report(result, settings, target))
        except PermissionError:
            warnings.append(
                f"Le rapport « {target.name} » n'a pas pu être remplacé : il est sans doute "
                "ouvert dans Excel. Fermez-le, puis relancez (le même jour, rien n'est refait "
                "en double)."
            )
        except Exception as exc:  # noqa: BLE001 - the workbook is written: warn, go on
            warnings.append(
                not_written(f"le rapport « {target.name} »", run_dir, room.report, exc)
                or f"Le rapport « {target.name} » n'a pas pu être écrit ({exc}).")  # fmt: skip
        result = replace(result, warnings=tuple(warnings), files=files)
    return result


# --- a folder of exports --------------------------------------------------------------------

EXPORT_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
OWN_OUTPUTS = (" – avec statut.xlsx",)


def list_exports(folder: Path) -> list[Path]:
    """The exports directly inside ``folder``, in name order.

    Skipped: Excel's owner files (``~$…``), hidden files, and the tool's own outputs
    (``… – avec statut.xlsx`` copies written beside csv/xls/ods exports, the follow-up
    workbook ``suivi_relances.xlsx``).
    """
    found = []
    for entry in Path(folder).iterdir():
        name = entry.name
        if name.startswith(("~$", ".")) or not entry.is_file():
            continue
        if entry.suffix.lower() not in EXPORT_SUFFIXES or name.endswith(OWN_OUTPUTS):
            continue
        if name.casefold() == followup.FILENAME:  # the follow-up workbook is not an export
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
