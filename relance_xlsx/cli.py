"""The command line: thin, French, no traceback unless --debug.

Exit codes (README, "Codes de sortie"): 0 the run completed (row-level errors are
reported), 1 the run failed and nothing was written, 2 bad usage or settings.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_FAILED, EXIT_USAGE, RelanceError
from .files import is_disk_full, mount_point

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
        except Exception as exc:  # outside a command's own handler: still no traceback
            if "--debug" in (args if args is not None else sys.argv):
                raise
            click.echo(f"Erreur inattendue : {exc}\nRelancez avec --debug pour le détail "
                       "technique.", err=True)  # fmt: skip
            sys.exit(EXIT_FAILED)
        sys.exit(0)


@click.group(cls=FrenchGroup, context_settings=CONTEXT)
@click.version_option(version=__version__, message="relance-xlsx %(version)s")
def cli() -> None:
    """Relances de factures impayées depuis un export Excel.

    \b
    Exemples :
      relance-xlsx run echeancier.xlsx                 relances du jour
      relance-xlsx run echeancier.xlsx --dry-run       simulation, rien n'est écrit
      relance-xlsx run a_traiter --pdf --emails        tout un dossier, PDF et e-mails
      relance-xlsx envoyer                             envoie les e-mails préparés
      relance-xlsx annuler 2026-11-23 --client Dupont  annule un courrier non posté
      relance-xlsx init MonDossier                     dossier de travail, lanceurs
      relance-xlsx delais-paiement export.xlsx --cloture 2026-12-31   tableau D441-6
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
@click.option("--pdf", is_flag=True,
              help="Aussi : les courriers en PDF et un seul fichier « a_imprimer – "
                   "AAAA-MM-JJ.pdf » pour tout imprimer en une fois (LibreOffice).")
@click.option("--emails", is_flag=True,
              help="Aussi : un brouillon d'e-mail (.eml) par courrier, courrier joint, pour "
                   "les clients qui ont une adresse. Rien n'est envoyé.")
@click.option("--dry-run", is_flag=True, help="Simulation : affiche le plan, n'écrit rien.")
@click.option("--forcer", "force", is_flag=True,
              help="Traite l'export même s'il paraît plus ancien que celui de la dernière "
                   "exécution (factures réglées de nouveau ouvertes, date d'édition passée).")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def run_command(export: Path, run_date: date | None, config: Path | None, out: Path | None,
                journal: Path | None, pdf: bool, emails: bool, dry_run: bool, force: bool,
                debug: bool) -> None:  # fmt: skip
    """Relance les factures d'un export : statut dans le classeur, courriers Word, rapport.

    EXPORT peut être un dossier (ex. : a_traiter) : chaque export qu'il contient est traité.
    """
    from .pipeline import RunOptions, run
    from .progress import for_terminal

    options = RunOptions(
        export=export, run_date=run_date or date.today(), config=config, out=out,
        journal=journal, dry_run=dry_run, pdf=pdf, emails=emails, force=force,
    )  # fmt: skip
    if export.is_dir():
        _run_folder(options, debug)
        return
    with _errors(debug):
        result = run(options, for_terminal())
    _echo_result(result)


def _echo_result(result) -> None:  # noqa: ANN001 - a RunResult
    from .report import plan_text, summary_text

    if result.dry_run:
        click.echo(plan_text(result.invoices))
    click.echo(summary_text(result))


def _run_folder(options, debug: bool) -> None:  # noqa: ANN001 - RunOptions
    """Every export of a folder, one summary each; exit 1 when any of them failed."""
    from .errors import StaleExportError
    from .pipeline import run_folder
    from .progress import for_terminal

    failed: list[str] = []
    refused: list[str] = []  # older than the last run's: left in the folder, not processed
    done = 0
    with _errors(debug):
        for outcome in run_folder(options, for_terminal()):
            if outcome.skipped_since is not None:
                click.echo(
                    f"« {outcome.export.name} » ignoré : déjà traité le "
                    f"{outcome.skipped_since:%d/%m/%Y} et inchangé depuis (l'export d'une "
                    "semaine passée ?). Retirez-le de « a_traiter » ; pour le traiter quand "
                    "même, lancez relance-xlsx run sur ce fichier.\n"
                )
                continue
            if outcome.total > 1:
                if outcome.index == 1:
                    click.echo(
                        f"{outcome.total} exports dans « {options.export} » : chacun est traité. "
                        "Retirez du dossier les exports des semaines passées : leurs soldes "
                        "sont périmés.\n"
                    )
                click.echo(
                    f"=== Export {outcome.index}/{outcome.total} : {outcome.export.name} ==="
                )
            if outcome.result is not None:
                done += 1
                _echo_result(outcome.result)
                continue
            stale = isinstance(outcome.exception, StaleExportError)
            (refused if stale else failed).append(outcome.export.name)
            if debug and outcome.exception is not None:
                traceback.print_exception(outcome.exception)
            word = "Refusé" if stale else "Erreur"
            click.echo(f"{word} ({outcome.export.name}) : {outcome.error}", err=True)
            click.echo("Les autres exports sont traités quand même.\n", err=True)
        total = done + len(failed) + len(refused)
        if total > 1:
            line = f"{total} exports : {done} traité(s)"
            if refused:
                line += (f", {len(refused)} refusé(s) car plus ancien(s) que la dernière "
                         f"exécution ({', '.join(refused)})")  # fmt: skip
            if failed:
                line += f", {len(failed)} en échec ({', '.join(failed)})"
            click.echo(line + ".")
    if failed or refused:
        sys.exit(EXIT_FAILED)


def _workspace_options(command: Callable) -> Callable:
    """--config, --journal, --out: the working folder of the commands that follow ``run``."""
    for option in reversed((
        click.option("--config", type=click.Path(path_type=Path), default=None,
                     help="Fichier de réglages (par défaut : relance.toml du dossier courant)."),
        click.option("--journal", type=click.Path(path_type=Path), default=None,
                     help="Journal des relances (par défaut : celui du dossier de travail)."),
        click.option("--out", type=click.Path(path_type=Path), default=None,
                     help="Dossier des courriers (par défaut : « courriers » du dossier de "
                          "travail)."),
    )):  # fmt: skip
        command = option(command)
    return command


@cli.command("annuler", context_settings=CONTEXT)
@click.argument("jour", metavar="AAAA-MM-JJ", type=FrenchDate())
@click.option("--client", default="", metavar="NOM",
              help="Seulement les courriers de ce client (nom ou code client).")
@_workspace_options
@click.option("--dry-run", is_flag=True, help="Simulation : affiche ce qui serait annulé.")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def cancel_command(jour: date, client: str, config: Path | None, journal: Path | None,
                   out: Path | None, dry_run: bool, debug: bool) -> None:  # fmt: skip
    """Annule les courriers d'une date qui n'ont pas été postés.

    Leurs factures reviennent à l'étape d'avant ; les fichiers vont dans
    courriers/AAAA-MM-JJ/annulés/. Le journal garde la trace du courrier et de son annulation.
    """
    from .cancel import CancelOptions, cancel

    options = CancelOptions(day=jour, client=client, config=config, journal=journal, out=out,
                            dry_run=dry_run)  # fmt: skip
    with _errors(debug):
        result = cancel(options)
    verb = "seraient annulés" if result.dry_run else "annulés"
    click.echo(f"Courriers du {jour:%d/%m/%Y} {verb} : {len(result.letters)}")
    for letter in result.letters:
        click.echo(f"  - {letter.client} : {letter.fichier} (factures {letter.factures})")
    if result.dry_run:
        click.echo("Simulation : rien n'a été modifié.")
        return
    if result.moved:
        click.echo(f"Fichiers déplacés dans : {result.folder}")
    for name in result.missing:
        click.echo(f"  (fichier « {name} » introuvable : déjà déplacé ou supprimé)")
    for line in result.batches:
        click.echo(line)
    click.echo("Leurs factures reviennent à l'étape d'avant : la prochaine exécution en tient "
               "compte.")  # fmt: skip
    click.echo("La colonne de statut de l'export et le rapport de ce jour citent encore "
               "ces courriers : la prochaine exécution les met à jour.")  # fmt: skip


@cli.command("envoyer", context_settings=CONTEXT)
@click.argument("jour", metavar="[AAAA-MM-JJ]", type=FrenchDate(), required=False)
@_workspace_options
@click.option("--oui", is_flag=True,
              help="Envoie sans demander de confirmation (lanceur, script).")
@click.option("--renvoyer", is_flag=True,
              help="Renvoie aussi les e-mails dont l'envoi a été interrompu (résultat inconnu).")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def send_command(jour: date | None, config: Path | None, journal: Path | None,
                 out: Path | None, oui: bool, renvoyer: bool, debug: bool) -> None:  # fmt: skip
    """Envoie les e-mails des courriers d'une date (par défaut : la dernière exécution).

    Les brouillons écrits par « run --emails » partent par votre serveur (section [email]
    de relance.toml), après un récapitulatif et une confirmation. Chaque e-mail part une
    seule fois : relancer la commande n'envoie que ce qui n'est pas parti.
    """
    from .credentials import forget, get_password, remember
    from .sending import (
        SENT,
        SendOptions,
        mark_follow_up,
        plan_sending,
        recap_text,
        send,
        write_post_list,
    )

    options = SendOptions(day=jour, config=config, journal=journal, out=out,
                          resend_unknown=renvoyer)  # fmt: skip
    with _errors(debug):
        plan = plan_sending(options)
        click.echo(recap_text(plan))
        if plan.to_send and not oui and not _confirm(len(plan.to_send)):
            click.echo("Rien n'a été envoyé.")
            return
        result = None
        if plan.to_send:
            cfg = plan.settings.email
            password = get_password(cfg, _ask_password if _interactive() else None) \
                if cfg.utilisateur else None
            click.echo("")
            result = send(plan, password, renvoyer, progress=_echo_outcome)
            if password is not None:
                if result.bad_login:
                    forget(cfg, password)
                elif result.count(SENT):
                    warning = remember(cfg, password)
                    if warning:
                        click.echo(warning)
        try:
            if result is not None and mark_follow_up(plan):
                click.echo("État des e-mails noté dans suivi_relances.xlsx (« Dernier courrier »).")
        except RelanceError as exc:  # open in Excel: the journal has it, the next run writes it
            click.echo(f"suivi_relances.xlsx non mis à jour : {exc.message}")
        try:
            post = write_post_list(plan.journal, plan.folder, plan.day)
        except PermissionError:
            post = None
            click.echo("La liste « à poster » n'a pas pu être écrite : elle est sans doute "
                       "ouverte dans Excel. Fermez-la ; elle sera refaite au prochain envoi.")
    if result is not None:
        _echo_send_summary(result)
    if post is not None:
        click.echo(f"Liste des courriers à poster et état des e-mails : {post}")
    if result is not None and result.stopped:
        sys.exit(EXIT_FAILED)


def _interactive() -> bool:
    """Someone at the keyboard, who can type the password the first time."""
    return sys.stdin is not None and sys.stdin.isatty()


def _ask_password(prompt: str) -> str:
    return click.prompt(prompt, hide_input=True, default="", show_default=False)


def _confirm(count: int) -> bool:
    """A French yes/no (click.confirm answers in English)."""
    answer = click.prompt(f"\nEnvoyer ces {count} e-mail(s) ? (o/n)", default="n",
                          show_default=False)  # fmt: skip
    return answer.strip().lower() in ("o", "oui", "y", "yes")


def _echo_outcome(outcome) -> None:  # noqa: ANN001 - a sending.Outcome
    from .sending import REFUSED, SENT, UNKNOWN

    who = outcome.letter.client
    if outcome.state == SENT:
        line = f"  envoyé    {who} → {', '.join(outcome.recipients)}"
        if outcome.reason:
            line += f" ({outcome.reason})"
    elif outcome.state == REFUSED:
        line = f"  REFUSÉ    {who} : {outcome.reason}. Courrier à poster."
    elif outcome.state == UNKNOWN:
        line = (f"  INCONNU   {who} : {outcome.reason} ; le serveur a peut-être reçu le "
                "message. Vérifiez, puis --renvoyer si besoin.")  # fmt: skip
    else:
        line = f"  non envoyé {who} : {outcome.reason}"
    click.echo(line)


def _echo_send_summary(result) -> None:  # noqa: ANN001 - a sending.SendResult
    from .sending import NOT_TRIED, REFUSED, SENT, UNKNOWN

    click.echo("")
    if result.stopped:
        click.echo(f"Erreur : {result.stopped}. Aucun autre message n'a été envoyé ; "
                   "corrigez puis relancez relance-xlsx envoyer (ce qui est parti ne "
                   "repartira pas).", err=True)  # fmt: skip
    parts = [f"{result.count(SENT)} envoyé(s)"]
    for state, label in ((REFUSED, "refusé(s), courrier à poster"),
                         (UNKNOWN, "au résultat inconnu"), (NOT_TRIED, "non envoyé(s)")):
        if result.count(state):
            parts.append(f"{result.count(state)} {label}")
    click.echo(f"E-mails : {', '.join(parts)} ({result.seconds:.1f} s).")


@cli.command("init", context_settings=CONTEXT)
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("--source", default=None, metavar="SOURCE",
              help="D'où les lanceurs installent relance-xlsx au premier lancement : dossier, "
                   "fichier .whl ou nom du paquet (par défaut : la version en cours).")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def init_command(dossier: Path, source: str | None, debug: bool) -> None:
    """Crée un dossier de travail : a_traiter, courriers, modeles, réglages, lanceurs.

    Rien de ce qui existe déjà n'est remplacé : relancer init est sans risque.
    """
    from .workspace import init_workspace

    with _errors(debug):
        report = init_workspace(dossier, source)
    click.echo(f"Dossier de travail : {report.folder.resolve()}")

    def shown(path: Path) -> str:
        name = str(path.relative_to(report.folder))
        return name + ("/" if path.is_dir() else "")

    for path in report.created:
        click.echo(f"  créé    {shown(path)}")
    for path in report.kept:
        if path in report.updated:
            click.echo(f"  gardé   {shown(path)} (source d'installation mise à jour)")
        else:
            click.echo(f"  gardé   {shown(path)} (déjà présent, laissé tel quel)")
    click.echo(
        "\nEnsuite :\n"
        "  1. Ouvrez relance.toml avec le Bloc-notes (ou TextEdit) : votre société, vos délais.\n"
        "  2. Chaque semaine, déposez l'export de votre logiciel comptable dans « a_traiter ».\n"
        "  3. Double-cliquez sur Relancer.bat (Windows), relancer.command (macOS) ou "
        "relancer.sh (Linux).\n"
        "     Au premier lancement, relance-xlsx s'installe dans le dossier « .venv » depuis :\n"
        f"     {report.source}"
    )


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
        legal = letters.legal_mentions_warning(settings.societe)
        if legal:
            click.echo(f"Attention : {legal}", err=True)


class FrenchAmount(click.ParamType):
    """An amount in euros: 1250000, 1 250 000,50 or 1250000.50, with a French error."""

    name = "MONTANT"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if isinstance(value, int | float):
            return float(value)
        text = re.sub(r"[\s\u00a0\u202f€]", "", str(value)).replace(",", ".")
        try:
            amount = float(text)
        except ValueError:
            amount = -1.0
        if amount <= 0 or amount != amount or amount == float("inf"):
            self.fail(f"montant « {value} » incorrect : un montant positif en euros est "
                      "attendu, ex. : 1250000 ou 1 250 000,50", param, ctx)  # fmt: skip
        return amount


@cli.command("delais-paiement", context_settings=CONTEXT)
@click.argument("export", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--cloture", type=FrenchDate(), required=True,
              help="Date de clôture de l'exercice (AAAA-MM-JJ).")
@click.option("--ht", is_flag=True,
              help="Les montants de l'export sont hors taxes : le tableau est établi en HT.")
@click.option("--ca", "turnover", type=FrenchAmount(), default=None,
              help="Chiffre d'affaires de l'exercice (TTC, ou HT avec --ht), pour les "
                   "pourcentages (sinon celui des réglages ; sinon laissés vides).")
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="Fichier de réglages (par défaut : relance.toml du dossier courant, "
                   "du dossier de l'export ou du dossier au-dessus).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Dossier où écrire le tableau (par défaut : à côté de l'export).")
@click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
def payment_terms_command(export: Path, cloture: date, ht: bool, turnover: float | None,
                          config: Path | None, out: Path | None, debug: bool) -> None:  # fmt: skip
    """Tableau des délais de paiement clients (article D441-6) à la date de clôture.

    Écrit « délais de paiement – AAAA-MM-JJ.xlsx » selon le modèle officiel : factures
    émises non réglées, par tranche de retard, litiges à part. Utilisez l'export arrêté à la
    date de clôture. Rien n'est écrit dans le journal ni dans l'export.
    """
    from .formatting import format_eur
    from .payment_terms import COLUMNS, write_payment_terms

    with _errors(debug):
        written = write_payment_terms(export, cloture, ht, turnover, config, out)
    terms = written.terms
    click.echo(f"Tableau écrit : {written.path}")
    for name, count, amount in zip(COLUMNS, terms.counts, terms.amounts, strict=True):
        click.echo(f"  {name} : {count} facture(s), {format_eur(amount)} {terms.basis}")
    click.echo(f"  Litiges exclus (B) : {terms.disputed_count} facture(s), "
               f"{format_eur(terms.disputed_amount)} {terms.basis}")  # fmt: skip
    if not terms.turnover:
        click.echo("  Pourcentages du chiffre d'affaires non remplis : indiquez --ca MONTANT.")
    for w in written.warnings:
        click.echo(f"Avertissement : {w}")


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
        if is_disk_full(exc):
            where = getattr(exc, "filename", None)
            disk = f" sur « {mount_point(Path(where))} » (en écrivant « {where} »)" if where else ""
            click.echo(
                f"Erreur : le disque est plein{disk}. Rien n'a été modifié : libérez de la "
                "place (quelques centaines de Mo suffisent pour les courriers et le journal), "
                "puis relancez.", err=True,
            )  # fmt: skip
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
