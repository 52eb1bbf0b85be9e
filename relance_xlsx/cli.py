"""The command line: thin, French, no traceback unless --debug.

Exit codes (DESIGN.md): 0 the run completed (row-level errors are reported), 1 the run
failed and nothing was written, 2 bad usage or settings.
"""

from __future__ import annotations

import re
import sys
import traceback
from datetime import date, datetime
from pathlib import Path

import click

from .errors import EXIT_FAILED, EXIT_USAGE, RelanceError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class FrenchDate(click.ParamType):
    """AAAA-MM-JJ (or JJ/MM/AAAA), with a French error."""

    name = "AAAA-MM-JJ"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if isinstance(value, date):
            return value
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
        self.fail(
            f"date « {value} » incorrecte : écrivez-la AAAA-MM-JJ, ex. : 2026-11-23", param, ctx
        )


_USAGE_FR = (
    (r"No such option:? '?([^'\s.]+)'?\.?(?:\s+Did you mean '?([^'?]+)'?\?)?",
     lambda m: f"option inconnue : {m.group(1)}"
     + (f" (vouliez-vous dire {m.group(2)} ?)" if m.group(2) else "")),
    (r"Missing argument '(.+)'\.?", lambda m: f"argument manquant : {m.group(1)}"),
    (r"Option '(.+)' requires an argument\.?",
     lambda m: f"l'option {m.group(1)} attend une valeur"),
    (r"No such command '(.+)'\.?", lambda m: f"commande inconnue : « {m.group(1)} »"),
    (r"Got unexpected extra arguments? \((.+)\)",
     lambda m: f"argument(s) en trop : {m.group(1)}"),
    (r"Invalid value for '(.+?)': (.+)",
     lambda m: f"valeur incorrecte pour {m.group(1)} : {m.group(2)}"),
    (r"Path '(.+)' does not exist\.?", lambda m: f"le chemin « {m.group(1)} » n'existe pas"),
    (r"File '(.+)' does not exist\.?", lambda m: f"le fichier « {m.group(1)} » n'existe pas"),
)  # fmt: skip


def _french_usage(message: str) -> str:
    for pattern, build in _USAGE_FR:
        m = re.search(pattern, message)
        if m:
            text = build(m)
            inner = re.search(r"Invalid value for '.+?': (.+)", message)
            if inner and pattern.startswith("Invalid"):
                text = _french_usage(inner.group(1)) if inner.group(1) != message else text
                text = f"valeur incorrecte pour {m.group(1)} : {text}"
            return text
    return message


class FrenchGroup(click.Group):
    """A click group whose usage errors are French and exit with code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):  # noqa: ANN001 - click's signature
        try:
            super().main(args=args, prog_name="relance-xlsx",
                         complete_var=complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Interrompu.", err=True)
            sys.exit(EXIT_FAILED)
        except click.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "relance-xlsx"
            click.echo(f"Utilisation incorrecte : {_french_usage(exc.format_message())}",
                       err=True)
            click.echo(f"Aide : {cmd} --help", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            click.echo(f"Erreur : {_french_usage(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(0)


@click.group(cls=FrenchGroup, context_settings=CONTEXT)
@click.version_option(package_name="relance-xlsx", message="relance-xlsx %(version)s")
def cli() -> None:
    """Relances de factures impayées depuis un export Excel.

    \b
    Exemples :
      relance-xlsx run echeancier.xlsx                 relances du jour
      relance-xlsx run echeancier.xlsx --dry-run       simulation, rien n'est écrit
      relance-xlsx init MonDossier                     dossier de travail et réglages
    """


@cli.command("run", context_settings=CONTEXT)
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--date", "run_date", type=FrenchDate(), default=None,
              help="Date de la relance (par défaut : aujourd'hui).")
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="Fichier de réglages (par défaut : relance.toml du dossier courant, "
                   "du dossier de l'export ou du dossier au-dessus).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Dossier des courriers (par défaut : « courriers » à côté des réglages "
                   "ou de l'export), un sous-dossier par date.")
@click.option("--journal", type=click.Path(path_type=Path), default=None,
              help="Journal des relances, fichier SQLite (par défaut : journal_relances.sqlite "
                   "à côté des réglages ou de l'export).")
@click.option("--dry-run", is_flag=True, help="Simulation : affiche le plan, n'écrit rien.")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def run_command(export: Path, run_date: date | None, config: Path | None, out: Path | None,
                journal: Path | None, dry_run: bool, debug: bool) -> None:  # fmt: skip
    """Relance les factures d'un export : statut dans le classeur, courriers Word, journal."""
    from .pipeline import RunOptions, run
    from .report import plan_text, summary_text

    options = RunOptions(
        export=export, run_date=run_date or date.today(), config=config, out=out,
        journal=journal, dry_run=dry_run,
    )  # fmt: skip
    with _errors(debug):
        result = run(options)
    if dry_run:
        click.echo(plan_text(result.invoices))
    click.echo(summary_text(result))


@cli.command("init", context_settings=CONTEXT)
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def init_command(dossier: Path, debug: bool) -> None:
    """Crée un dossier de travail avec un fichier de réglages commenté (relance.toml)."""
    from .config import SETTINGS_FILENAME, default_settings_text

    with _errors(debug):
        dossier.mkdir(parents=True, exist_ok=True)
        target = dossier / SETTINGS_FILENAME
        if target.exists():
            click.echo(f"Réglages déjà présents, laissés tels quels : {target}")
        else:
            target.write_text(default_settings_text(), encoding="utf-8")
            click.echo(f"Réglages créés : {target}")
            click.echo("Ouvrez-le avec le Bloc-notes pour indiquer votre société et vos délais.")


@cli.command("modeles", context_settings=CONTEXT)
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="Fichier de réglages dont la section [modeles] donne le dossier à vérifier.")
@click.option("--dossier", type=click.Path(path_type=Path), default=None,
              help="Dossier de modèles Word à vérifier (sinon celui des réglages, "
                   "sinon les modèles fournis).")
@click.option("--variables", "show_variables", is_flag=True,
              help="Liste les variables utilisables dans les modèles.")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def templates_command(config: Path | None, dossier: Path | None, show_variables: bool,
                      debug: bool) -> None:  # fmt: skip
    """Vérifie les modèles de courriers Word et liste leurs variables."""
    from . import letters
    from .config import find_settings, load_settings

    with _errors(debug):
        if show_variables:
            click.echo(letters.variables_table())
            return
        settings = load_settings(find_settings(config, None))
        folder = dossier or settings.modeles_dossier
        problems = letters.check_templates(folder)
        where = folder or "modèles fournis"
        if problems:
            for p in problems:
                click.echo(str(p), err=True)
            click.echo(f"\n{len(problems)} problème(s) dans les modèles ({where}).", err=True)
            sys.exit(EXIT_FAILED)
        click.echo(f"Modèles corrects ({where}).")


class _errors:
    """Turn errors into a French message and the right exit code; traceback with --debug."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:  # noqa: ANN001
        if exc is None or isinstance(exc, SystemExit | click.exceptions.Exit):
            return False
        if isinstance(exc, RelanceError):
            if self.debug:
                traceback.print_exception(exc)
            click.echo(f"Erreur : {exc.message}", err=True)
            sys.exit(exc.exit_code)
        if isinstance(exc, KeyboardInterrupt):
            click.echo("Interrompu.", err=True)
            sys.exit(EXIT_FAILED)
        if isinstance(exc, PermissionError):
            click.echo(
                f"Erreur : accès refusé à « {exc.filename} ». Le fichier est peut-être ouvert "
                "dans un autre programme ou en lecture seule : fermez-le puis relancez.",
                err=True,
            )
            if self.debug:
                traceback.print_exception(exc)
            sys.exit(EXIT_FAILED)
        if self.debug:
            traceback.print_exception(exc)
        else:
            click.echo(
                f"Erreur inattendue : {exc}\n"
                "Relancez avec --debug pour le détail technique, et transmettez-le au support.",
                err=True,
            )
        sys.exit(EXIT_FAILED)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``relance-xlsx`` command."""
    cli.main(args=argv, prog_name="relance-xlsx")


if __name__ == "__main__":  # pragma: no cover
    main()
