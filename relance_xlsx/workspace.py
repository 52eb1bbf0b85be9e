"""The working folder an accountant double-clicks in, created by ``relance-xlsx init``.

::

    MonDossier/
      a_traiter/              drop this week's export here
      courriers/              letters, report, print batch: one folder per run date
      modeles/                a copy of the Word templates, to edit
      relance.toml            commented settings ([modeles] dossier = "modeles")
      journal_relances.sqlite the history of reminders
      Relancer.bat            Windows launcher
      relancer.command        macOS launcher
      relancer.sh             Linux launcher

Nothing the user may have edited is ever overwritten: re-running ``init`` creates what is
missing and reports what it kept. The launchers are filled in with where to install
relance-xlsx from (``install_source``), quoted for their shell.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import stat
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from . import __version__
from .config import JOURNAL_FILENAME, LETTERS_DIRNAME, SETTINGS_FILENAME
from .errors import RelanceError
from .files import write_bytes_atomic
from .settings_file import default_settings_text

INBOX = "a_traiter"
TEMPLATES = "modeles"
DISTRIBUTION = "relance-xlsx"
# launcher file -> (template in relance_xlsx/data/launchers, line ending, executable)
LAUNCHERS = {
    "Relancer.bat": ("Relancer.bat", "\r\n", False),
    "relancer.command": ("relancer.sh", "\n", True),
    "relancer.sh": ("relancer.sh", "\n", True),
}


@dataclass
class InitReport:
    """What ``init`` created and what it found already there and kept."""

    folder: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)  # launchers given a new --source
    source: str = ""


# --- where the launchers install relance-xlsx from -------------------------------------------


def _path_from_file_url(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parsed.path))


def _checkout() -> Path | None:
    """The source checkout this package is imported from, if it is one."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'^name\s*=\s*"relance-xlsx"', text, re.MULTILINE) else None


def install_source() -> str:
    """What ``pip install`` needs to install this same relance-xlsx in a launcher's .venv.

    In order: the PEP 610 ``direct_url.json`` of the installed distribution (a local folder
    or wheel that still exists, a VCS or archive URL), else the source checkout the package
    is imported from, else the PyPI name pinned to this version.
    """
    try:
        dist: metadata.Distribution | None = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    direct = dist.read_text("direct_url.json") if dist is not None else None
    if direct:
        try:
            info = json.loads(direct)
        except ValueError:
            info = {}
        url = str(info.get("url", ""))
        vcs = info.get("vcs_info")
        if url and isinstance(vcs, dict) and vcs.get("vcs"):
            rev = vcs.get("commit_id") or vcs.get("requested_revision")
            return f"{vcs['vcs']}+{url}" + (f"@{rev}" if rev else "")
        local = _path_from_file_url(url) if url.startswith("file:") else None
        if local is not None and local.exists():
            return str(local)
        if url and not url.startswith("file:"):
            return url
    checkout = _checkout()
    if checkout is not None:
        return str(checkout)
    if dist is not None:
        return f"{DISTRIBUTION}=={dist.version}"
    return DISTRIBUTION


# --- launchers -----------------------------------------------------------------------------


def sh_quote(text: str) -> str:
    """A single-quoted POSIX shell word: spaces, accents, $ and quotes stay literal."""
    return "'" + text.replace("'", "'\\''") + "'"


def bat_value(text: str) -> str:
    """Text for ``set "NAME=…"`` in a .bat: only % needs doubling inside the quotes."""
    if '"' in text or "\n" in text or "\r" in text:
        raise RelanceError(
            f"Source d'installation inutilisable dans un lanceur Windows : « {text} » "
            "(guillemets ou retour à la ligne)."
        )
    return text.replace("%", "%%")


def launcher_text(name: str, source: str) -> str:
    """The text of one launcher, filled in, with the line endings of its system."""
    template, newline, _exe = LAUNCHERS[name]
    text = (
        resources.files("relance_xlsx.data").joinpath("launchers", template).read_text("utf-8")
    )
    always_pause = name != "relancer.sh"
    if name.endswith(".bat"):
        text = text.replace("@SOURCE@", bat_value(source))
    else:
        text = text.replace("@SOURCE@", sh_quote(source))
        text = text.replace("@ALWAYS_PAUSE@", "1" if always_pause else "0")
        system = "macOS" if name.endswith(".command") else "Linux"
        text = text.replace("@SYSTEM@", system)
    text = text.replace("@VERSION@", __version__)
    return text.replace("\r\n", "\n").replace("\n", newline)


# --- init ----------------------------------------------------------------------------------


def settings_text() -> str:
    """The commented settings, with the folder's own templates selected."""
    lines = default_settings_text().split("\n")
    section = None
    for i, line in enumerate(lines):
        m = re.match(r"^\[([^\]]+)\]\s*$", line)
        if m:
            section = m.group(1)
        elif section == "modeles" and re.match(r"^dossier\s*=", line):
            lines[i] = f'dossier = "{TEMPLATES}"'
            break
    else:  # pragma: no cover - the settings schema always has [modeles] dossier
        raise RelanceError("Réglages par défaut sans [modeles] dossier : réinstallez relance-xlsx.")
    return "\n".join(lines)


def _default_templates() -> Path:
    from .letters import default_templates_dir

    return default_templates_dir()


def init_workspace(folder: Path, source: str | None = None) -> InitReport:
    """Create what is missing in ``folder``; never overwrite what is there, except the
    install-source line of existing launchers when ``source`` is given explicitly."""
    folder = Path(folder)
    report = InitReport(folder=folder, source=source or install_source())
    try:
        _populate(folder, report)
        if source:
            _update_sources(folder, report)
    except PermissionError as exc:
        raise RelanceError(
            f"Impossible d'écrire dans « {exc.filename or folder} » : accès refusé. "
            "Choisissez un dossier où vous pouvez enregistrer des fichiers (Documents…)."
        ) from exc
    except OSError as exc:
        raise RelanceError(f"Impossible de préparer le dossier « {folder} » ({exc}).") from exc
    return report


def _populate(folder: Path, report: InitReport) -> None:
    def note(path: Path, created: bool) -> None:
        (report.created if created else report.kept).append(path)

    if folder.exists() and not folder.is_dir():
        raise RelanceError(f"« {folder} » existe déjà et n'est pas un dossier.")
    folder.mkdir(parents=True, exist_ok=True)
    for name in (INBOX, LETTERS_DIRNAME, TEMPLATES):
        path = folder / name
        if path.exists() and not path.is_dir():
            raise RelanceError(f"« {path} » existe déjà et n'est pas un dossier.")
        existed = path.is_dir()
        path.mkdir(exist_ok=True)
        note(path, not existed)

    shipped = _default_templates()
    for tpl in sorted(shipped.iterdir()):
        if tpl.suffix.lower() not in (".docx", ".md") or tpl.name.startswith(("~$", ".")):
            continue
        target = folder / TEMPLATES / tpl.name
        note(target, _create(target, lambda t, src=tpl: shutil.copyfile(src, t)))

    settings = folder / SETTINGS_FILENAME
    note(settings, _create(settings, lambda t: t.write_text(settings_text(), encoding="utf-8")))

    journal = folder / JOURNAL_FILENAME
    note(journal, _create(journal, _create_journal))

    for name, (_tpl, _newline, executable) in LAUNCHERS.items():
        target = folder / name
        text = launcher_text(name, report.source)
        created = _create(target, lambda t, body=text: t.write_bytes(body.encode("utf-8")))
        if created and executable:
            mode = target.stat().st_mode
            target.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        note(target, created)


_SOURCE_LINE = {
    ".bat": (re.compile(r'^set "SOURCE=.*"\r?$', re.MULTILINE), bat_value, 'set "SOURCE={}"'),
    ".sh": (re.compile(r"^SOURCE=.*$", re.MULTILINE), sh_quote, "SOURCE={}"),
    ".command": (re.compile(r"^SOURCE=.*$", re.MULTILINE), sh_quote, "SOURCE={}"),
}


def _update_sources(folder: Path, report: InitReport) -> None:
    """Point launchers kept from an earlier init at the new source (the rest is the user's)."""
    for name in LAUNCHERS:
        target = folder / name
        if target not in report.kept or not target.is_file():
            continue
        pattern, quote, line = _SOURCE_LINE[target.suffix.lower()]
        text = target.read_bytes().decode("utf-8")
        eol = "\r" if target.suffix.lower() == ".bat" else ""
        new = line.format(quote(report.source)) + eol
        changed, count = pattern.subn(lambda _m, new=new: new, text, count=1)
        if count and changed != text:
            mode = target.stat().st_mode
            write_bytes_atomic(target, changed.encode("utf-8"))
            target.chmod(mode)  # a launcher must stay executable
            report.updated.append(target)


def _create(target: Path, write) -> bool:  # noqa: ANN001 - a small callable
    """Write ``target`` with ``write`` only when it does not exist; True if written."""
    if target.exists():
        return False
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def _create_journal(path: Path) -> None:
    from .journal import create_schema

    with closing(sqlite3.connect(path)) as con, con:
        create_schema(con)
