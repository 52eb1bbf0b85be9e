"""User-facing errors: a French message and the exit code the README documents
(0 done, 1 failed and nothing written, 2 bad usage or settings)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the run failed and nothing was written
EXIT_USAGE = 2  # bad usage or settings


class RelanceError(Exception):
    """An error the user can act on; the CLI prints ``message`` without a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingsError(RelanceError):
    """Bad settings file or bad option value (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(RelanceError):
    """The export cannot be read at all (exit 1, nothing written)."""


class StaleExportError(InputError):
    """The export is older than the last run's (staleness.py): refused unless --forcer."""


class WorkbookLockedError(RelanceError):
    """The workbook is open in Excel or read-only (exit 1, nothing written)."""


class TemplateError(RelanceError):
    """A Word template is broken (exit 1, nothing written)."""
