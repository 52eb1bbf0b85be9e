"""Render many letters fast: templates prepared once per process, two processes when many.

A letter only renders the XML parts that hold tags and copies the template's other zip
entries as they are (``docx.py``), a few milliseconds each. Worker processes pay off only for
many letters: a forked worker starts in ~20 ms, a spawned one (Windows, macOS) re-imports
pandas, about a second. Files are written atomically, in the order of the letters given.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..amounts import LetterAmounts, default_business_day, letter_amounts, load_rate_table
from ..config import Settings
from ..errors import RelanceError, TemplateError
from ..files import write_bytes_atomic
from ..model import PlannedLetter
from ..tiers import LETTER_LEVELS
from .context import letter_context
from .docx import dos_stamp
from .filenames import letter_filenames
from .templates import PreparedTemplate, prepared, require_templates

# Fewer letters than this: no worker processes, their start-up costs more.
SERIAL_BELOW = {"fork": 40}
SERIAL_BELOW_SPAWN = 400


@dataclass(frozen=True)
class RenderResult:
    """Letters written, in the order of the letters given, and French warnings."""

    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()
    templates: dict[int, Path] = field(default_factory=dict)


@dataclass
class _RunTools:
    """What every letter of a run needs, built once per process."""

    settings: Settings
    templates: dict[int, PreparedTemplate]
    table: Any
    business_day: Callable[[date], bool]


_WORKER: dict[str, _RunTools] = {}


def _run_tools(settings: Settings, paths: dict[int, Path]) -> _RunTools:
    table = None
    if settings.montants.taux_penalites is None:
        table = load_rate_table()
    return _RunTools(
        settings=settings,
        templates={tier: prepared(Path(p), tier, trial=False) for tier, p in paths.items()},
        table=table,
        business_day=default_business_day(settings.subdivision),
    )


def _worker_init(settings: Settings, paths: dict[int, str]) -> None:
    _WORKER["tools"] = _run_tools(settings, {t: Path(p) for t, p in paths.items()})


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then replace it in one step."""
    try:
        write_bytes_atomic(target, data)
    except PermissionError as exc:
        raise RelanceError(
            f"Impossible d'écrire le courrier « {target.name} » : le fichier est peut-être "
            "ouvert dans Word. Fermez-le, puis relancez."
        ) from exc


def _render_chunk(
    items: Sequence[tuple[int, PlannedLetter, str, LetterAmounts | None]],
    out_dir: str,
    stamp: tuple[int, int],
    tools: _RunTools | None = None,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Render and write some letters; returns (index, path, amount warnings) for each."""
    tools = tools or _WORKER["tools"]
    done = []
    for index, letter, filename, given in items:
        amounts = given or letter_amounts(letter, tools.settings, tools.table,
                                          is_business_day=tools.business_day)
        context = letter_context(letter, tools.settings, amounts)
        try:
            data = tools.templates[letter.niveau].render(context, stamp)
        except TemplateError as exc:
            raise TemplateError(
                f"Courrier de « {letter.client} » : {exc.message}\nLes courriers suivants "
                "n'ont pas été écrits."
            ) from exc
        target = Path(out_dir) / filename
        _write_atomic(target, data)
        done.append((index, str(target), amounts.warnings))
    return done


def _picklable(settings: Settings) -> Settings:
    """Settings without MappingProxyType (not picklable), for worker processes."""
    return dataclasses.replace(
        settings, colonnes=dict(settings.colonnes), taux_bce=dict(settings.taux_bce)
    )


def render_letters(
    letters: Sequence[PlannedLetter],
    settings: Settings,
    out_dir: Path,
    *,
    jobs: int | None = None,
    amounts: Sequence[LetterAmounts] = (),
) -> RenderResult:
    """Write one .docx per letter into ``out_dir``, in the order of ``letters``.

    ``amounts`` (aligned with ``letters``) are the pipeline's; computed here when absent.

    The templates of the tiers used are checked first: on any problem a ``TemplateError``
    lists them all and nothing is written.
    """
    tiers = sorted({x.niveau for x in letters}) or list(LETTER_LEVELS)
    paths, warnings = require_templates(settings.modeles_dossier, tiers)
    if not letters:
        return RenderResult((), tuple(warnings), paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = letter_filenames(letters)
    given = list(amounts) if len(amounts) == len(letters) else [None] * len(letters)
    items = [(i, letter, names[i], given[i]) for i, letter in enumerate(letters)]
    # the letter date, not the clock: a same-date re-run writes byte-identical files
    stamp = dos_stamp(datetime.combine(letters[0].date, datetime.min.time()))
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    results: list[tuple[int, str, tuple[str, ...]]] = []
    method = (multiprocessing.get_start_method(allow_none=True)
              or multiprocessing.get_all_start_methods()[0])  # the default, without fixing it
    threshold = SERIAL_BELOW.get(method, SERIAL_BELOW_SPAWN)
    if jobs > 1 and len(letters) >= threshold:
        results = _render_parallel(items, settings, paths, out_dir, stamp, jobs)
    if not results:
        results = _render_chunk(items, str(out_dir), stamp, _run_tools(settings, paths))
    files: list[Path | None] = [None] * len(letters)
    for index, file, amount_warnings in results:
        files[index] = Path(file)
        warnings += [w for w in amount_warnings if w not in warnings]
    return RenderResult(tuple(f for f in files if f is not None), tuple(warnings), paths)


def _render_parallel(
    items: list[tuple[int, PlannedLetter, str, LetterAmounts | None]],
    settings: Settings,
    paths: dict[int, Path],
    out_dir: Path,
    stamp: tuple[int, int],
    jobs: int,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Share the letters among ``jobs`` processes; [] when processes cannot be used here."""
    size = max(10, -(-len(items) // (jobs * 4)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    try:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            initializer=_worker_init,
            initargs=(_picklable(settings), {t: str(p) for t, p in paths.items()}),
        )
    except (OSError, ValueError, NotImplementedError, ImportError):
        return []
    results: list[tuple[int, str, tuple[str, ...]]] = []
    try:
        with pool:
            futures = [pool.submit(_render_chunk, chunk, str(out_dir), stamp)
                       for chunk in chunks]
            for future in futures:
                results += future.result()
    except concurrent.futures.process.BrokenProcessPool:
        return []  # e.g. no fork/spawn allowed: the caller renders everything in-process
    return results
