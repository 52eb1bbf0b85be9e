"""Progress on the terminal during long runs: one bar per export, labelled by stage.

The bar goes to stderr and only when stderr is a terminal, so the printed summary, logs,
pipes and tests stay clean. Stages are reported by the pipeline as they start (lecture,
courriers, écriture…); letters are rendered in one call, so the bar moves per stage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any, Protocol

import click


class Progress(Protocol):
    """What the pipeline calls: ``start`` an export, ``step`` into each stage, ``finish``."""

    def start(self, title: str, steps: Sequence[str]) -> None: ...

    def step(self, name: str) -> None: ...

    def finish(self, ok: bool = True) -> None: ...


class NullProgress:
    """Shows nothing: output is not a terminal, or the caller is a Python program."""

    def start(self, title: str, steps: Sequence[str]) -> None:
        return None

    def step(self, name: str) -> None:
        return None

    def finish(self, ok: bool = True) -> None:
        return None


class TerminalProgress:
    """A click progress bar on ``stream``; the current stage is shown after the bar."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._started = False

    def start(self, title: str, steps: Sequence[str]) -> None:
        self.finish()
        self._bar = click.progressbar(
            length=max(1, len(steps)),
            label=title,
            file=self.stream,
            show_eta=False,
            show_percent=False,
            show_pos=False,
            width=20,
            item_show_func=lambda item: item or "",
        )
        self._bar.__enter__()
        self._started = False

    def step(self, name: str) -> None:
        if self._bar is None:
            return
        if self._started:  # the previous stage is done when the next one starts
            self._bar.update(1, current_item=name)
        else:
            self._bar.current_item = name
            self._bar.render_progress()
        self._started = True

    def finish(self, ok: bool = True) -> None:
        """Close the bar: full when the export was processed, left where it stopped if not."""
        if self._bar is None:
            return
        bar, self._bar = self._bar, None
        if ok:
            bar.update(max(0, bar.length - bar.pos), current_item="terminé")
        else:
            bar.current_item = "interrompu"
            bar.render_progress()
        bar.__exit__(None, None, None)


def for_terminal(stream: IO[str] | None = None) -> Progress:
    """A bar when ``stream`` (stderr by default) is a terminal, else nothing."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return TerminalProgress(stream) if tty else NullProgress()
