"""Render many letters fast: templates prepared once per process, two processes when many.

A letter only renders the XML parts that hold tags and copies the template's other zip
entries as they are (``docx.py``), a few milliseconds each. Worker processes pay off only for
many letters: a forked worker starts in ~20 ms, a spawned one (Windows, macOS) re-imports
pandas, about a second. Files are written atomically, in the order of the letters given.
Letters arrive priced (``PricedLetter``, stage 5): rendering never computes amounts.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import gc
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..config import Settings
from ..errors import RelanceError, TemplateError
from ..memory import resident_mb
from ..model import PricedLetter, RenderedLetter
from ..tiers import LAST_LETTER_LEVEL, LETTER_LEVELS
from .context import legal_mentions_warning, letter_context
from .docx import dos_stamp
from .filenames import letter_filenames
from .templates import PreparedTemplate, prepared, require_templates

# Fewer letters than this: no worker processes, their start-up costs more.
SERIAL_BELOW = {"fork": 40}
SERIAL_BELOW_SPAWN = 400
# A forked worker starts as big as the run's process (a million-row run: near 2 GB, each
# page its own once touched); beyond this size, workers are spawned (a second to start).
FORK_UP_TO_MB = 600
CHUNK_MAX = 1000


@dataclass(frozen=True)
class RenderResult:
    """The letters written, in the order given, with French warnings and the templates used."""

    letters: tuple[RenderedLetter, ...]
    warnings: tuple[str, ...] = ()
    templates: dict[int, Path] = field(default_factory=dict)

    @property
    def files(self) -> tuple[Path, ...]:
        """The .docx files, in the order of the letters."""
        return tuple(x.docx for x in self.letters)


@dataclass
class _RunTools:
    """What every letter of a run needs, built once per process."""

    settings: Settings
    templates: dict[int, PreparedTemplate]


_WORKER: dict[str, _RunTools] = {}


def _run_tools(settings: Settings, paths: dict[int, Path]) -> _RunTools:
    templates = {tier: prepared(Path(p), tier, trial=False) for tier, p in paths.items()}
    return _RunTools(settings, templates)


def _die_with_parent() -> None:
    """A worker must not outlive its run: killed, the run's letters are rolled back, and a
    worker still writing would put letters back on disk. Linux: the kernel's parent-death
    signal; elsewhere the pool's own shutdown is all there is."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call
        os._exit(1)


def _worker_init(settings: Settings, paths: dict[int, str]) -> None:
    _die_with_parent()
    _WORKER["tools"] = _run_tools(settings, {t: Path(p) for t, p in paths.items()})


def _write_letter(target: Path, data: bytes) -> None:
    """Write one letter straight to its name: the folder is the run's own staging folder,
    published whole or removed whole (publish.py), so a temporary file and a rename per
    letter would only double the file-system work (the slowest part on a slow disk)."""
    try:
        with open(target, "wb") as fh:
            fh.write(data)
    except PermissionError as exc:
        raise RelanceError(
            f"Impossible d'écrire le courrier « {target.name} » : le fichier est peut-être "
            "ouvert dans Word. Fermez-le, puis relancez."
        ) from exc


_Item = tuple[int, PricedLetter, str]  # (position, letter, file name)


def _render_chunk(
    items: Sequence[_Item], out_dir: str, stamp: tuple[int, int], tools: _RunTools | None = None
) -> list[tuple[int, str]]:
    """Render and write some letters; returns (position, path) for each."""
    tools = tools or _WORKER["tools"]
    done = []
    for index, priced, filename in items:
        letter = priced.letter
        context = letter_context(letter, tools.settings, priced.amounts)
        try:
            data = tools.templates[letter.niveau].render(context, stamp)
        except TemplateError as exc:
            raise TemplateError(
                f"Courrier de « {letter.client} » : {exc.message}\nLes courriers suivants "
                "n'ont pas été écrits."
            ) from exc
        target = Path(out_dir) / filename
        _write_letter(target, data)
        done.append((index, str(target)))
    return done


def _picklable(settings: Settings) -> Settings:
    """Settings without MappingProxyType (not picklable), for worker processes."""
    return dataclasses.replace(
        settings, colonnes=dict(settings.colonnes), taux_bce=dict(settings.taux_bce)
    )


def render_letters(
    letters: Sequence[PricedLetter],
    settings: Settings,
    out_dir: Path,
    *,
    jobs: int | None = None,
) -> RenderResult:
    """Write one .docx per priced letter into ``out_dir``, in the order of ``letters``.
    ``out_dir`` belongs to this run alone (the staging folder the pipeline publishes whole).

    The templates of the tiers used are checked first: on any problem a ``TemplateError``
    lists them all and nothing is written.
    """
    planned = [x.letter for x in letters]
    tiers = sorted({x.niveau for x in planned}) or list(LETTER_LEVELS)
    paths, warnings = require_templates(settings.modeles_dossier, tiers)
    legal = legal_mentions_warning(settings.societe)
    if legal and LAST_LETTER_LEVEL in {x.niveau for x in planned}:
        warnings = [*warnings, legal]
    if not letters:
        return RenderResult((), tuple(warnings), paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = letter_filenames(planned)
    items = [(i, priced, names[i]) for i, priced in enumerate(letters)]
    # the letter date, not the clock: a same-date re-run writes byte-identical files
    stamp = dos_stamp(datetime.combine(planned[0].date, datetime.min.time()))
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    results: list[tuple[int, str]] = []
    method = (multiprocessing.get_start_method(allow_none=True)
              or multiprocessing.get_all_start_methods()[0])  # the default, without fixing it
    method = start_method(method, resident_mb())
    threshold = SERIAL_BELOW.get(method, SERIAL_BELOW_SPAWN)
    if jobs > 1 and len(letters) >= threshold:
        results = _render_parallel(items, settings, paths, out_dir, stamp, jobs, method)
    if not results:
        results = _render_chunk(items, str(out_dir), stamp, _run_tools(settings, paths))
    files = dict(results)
    written = tuple(RenderedLetter(priced, Path(files[i])) for i, priced in enumerate(letters))
    return RenderResult(written, tuple(warnings), paths)


def start_method(default: str, resident: float | None) -> str:
    """How worker processes start: forked, unless this process is big (``resident`` MB)."""
    if default == "fork" and resident is not None and resident > FORK_UP_TO_MB:
        return "spawn"
    return default


def _render_parallel(
    items: list[_Item],
    settings: Settings,
    paths: dict[int, Path],
    out_dir: Path,
    stamp: tuple[int, int],
    jobs: int,
    method: str,
) -> list[tuple[int, str]]:
    """Share the letters among ``jobs`` processes started by ``method``; [] when processes
    cannot be used here."""
    # at most CHUNK_MAX letters a chunk: the chunks waiting for a worker are pickled in
    # this process, tens of MB each for a big run's eighth
    size = min(max(10, -(-len(items) // (jobs * 4))), CHUNK_MAX)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    try:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(_picklable(settings), {t: str(p) for t, p in paths.items()}),
        )
    except (OSError, ValueError, NotImplementedError, ImportError):
        return []
    results: list[tuple[int, str]] = []
    # A forked worker shares the parent's memory until it writes to it; the garbage
    # collector's passes would touch every object of the run (the export's rows): frozen,
    # they are left alone, and the workers copy only what they use.
    gc.freeze()
    try:
        with pool:
            futures = [pool.submit(_render_chunk, chunk, str(out_dir), stamp)
                       for chunk in chunks]
            gc.unfreeze()
            for future in futures:
                results += future.result()
    except concurrent.futures.process.BrokenProcessPool:
        return []  # e.g. no fork/spawn allowed: the caller renders everything in-process
    finally:
        gc.unfreeze()
    return results
