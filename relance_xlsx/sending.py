"""``relance-xlsx envoyer``: send the e-mail drafts a run wrote, each at most once.

The messages are the run's own ``.eml`` drafts (emails.py built them; nothing is built
twice): ``X-Unsent`` removed, the sender, date and a Message-ID set, and each attachment
refreshed from its file when the letter was edited in Word since the run.

Exactly once, through the journal (journal.SendLog): after the server accepted the sender
and the recipients, the Message-ID is committed as « handed over », then DATA is sent, then
the server's acceptance is committed. A failure before DATA delivered nothing (the message
is refused, or retried once on a new connection when the connection dropped); a failure
during DATA leaves the outcome unknown: listed, and resent only with ``--renvoyer``. A
process killed in between leaves « handed over » as the last step: unknown too.

Refusals (an address, a timeout, TLS, the connection) name the client and the reason and
put the letter on the « à poster » list; the others go on. A refused password stops the
batch before the first message. Three connection failures in a row stop it too: the rest
is left for the next ``envoyer``.
"""

from __future__ import annotations

import email
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path

from .cancel import CANCELLED_DIRNAME, IssuedLetter, letters_of
from .config import (
    Settings,
    load_settings,
    workspace,
)
from .credentials import Password
from .emails import parse_addresses
from .errors import InputError, SettingsError
from .files import atomic_target
from .sendlog import (
    SEND_DONE,
    SEND_REFUSED,
    SEND_UNKNOWN,
    SendingState,
    SendLog,
    latest_run_date,
    sending_states,
)

MAX_CONNECTION_FAILURES = 3  # in a row: the server is down or refuses us, stop the batch
POST_LIST_NAME = "a_poster – {day}.xlsx"

SENT = "envoyé"
REFUSED = "refusé"
UNKNOWN = "résultat inconnu"
NOT_TRIED = "non tenté"
SKIPPED = "déjà pris en charge"


@dataclass(frozen=True)
class SendOptions:
    """What the user asked for (the CLI's options, with ``run``'s defaults)."""

    day: date | None = None
    config: Path | None = None
    journal: Path | None = None
    out: Path | None = None
    resend_unknown: bool = False


@dataclass
class Outgoing:
    """One message ready to go: the draft as sent, its client addresses, its files."""

    letter: IssuedLetter
    draft: Path
    message: EmailMessage
    recipients: tuple[str, ...]
    attachments: tuple[tuple[str, int], ...]  # file name, size in bytes
    refreshed: tuple[str, ...] = ()  # attachments taken from a file edited since the run
    resend: bool = False  # outcome unknown before, sent again with --renvoyer


@dataclass
class SendPlan:
    """Everything the recap shows, before anything is sent."""

    day: date
    settings: Settings
    journal: Path
    folder: Path
    sender: Address
    copies: tuple[str, ...]
    to_send: list[Outgoing] = field(default_factory=list)
    already_sent: list[tuple[IssuedLetter, SendingState]] = field(default_factory=list)
    unknown: list[tuple[IssuedLetter, SendingState]] = field(default_factory=list)
    no_draft: list[IssuedLetter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What became of one message."""

    letter: IssuedLetter
    state: str  # SENT, REFUSED, UNKNOWN, NOT_TRIED, SKIPPED
    reason: str = ""
    recipients: tuple[str, ...] = ()


@dataclass
class SendResult:
    outcomes: list[Outcome]
    stopped: str = ""  # why the batch stopped early (bad login, server unreachable)
    bad_login: bool = False  # the server refused the password: the store must forget it
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)


# --- planning ------------------------------------------------------------------------------


def _paths(options: SendOptions) -> tuple[Path | None, Path, Path]:
    """Settings, journal and letters folder, found as ``run`` and ``annuler`` find them."""
    found = workspace(options.config, options.journal, options.out)
    return found.settings, found.journal, found.out


def _sender(settings: Settings) -> Address:
    """The From address: [email] expediteur, else [societe] email."""
    cfg = settings.email
    text = cfg.expediteur or settings.societe.email
    found, _ = parse_addresses(text)
    if not found:
        raise SettingsError(
            "Adresse d'expédition manquante ou incorrecte"
            + (f" (« {text} »)" if text else "")
            + " : renseignez expediteur dans la section [email] de relance.toml "
            "(ou email dans [societe])."
        )
    name = settings.societe.nom if settings.societe.nom != "Votre société" else ""
    return Address(display_name=name, username=found[0].username, domain=found[0].domain)


def _check(settings: Settings) -> tuple[Address, tuple[str, ...]]:
    cfg = settings.email
    if not cfg.serveur:
        where = settings.path.name if settings.path else "relance.toml"
        raise SettingsError(
            f"Aucun serveur d'envoi dans les réglages ({where}) : renseignez la section "
            "[email] (serveur, port, securite, utilisateur), puis relancez."
        )
    sender = _sender(settings)
    copies, bad = parse_addresses(cfg.copie_a)
    if bad:
        raise SettingsError(f"[email] copie_a : adresse incorrecte « {', '.join(bad)} ».")
    return sender, tuple(a.addr_spec for a in copies)


def find_draft(folder: Path, fichier: str) -> Path | None:
    """The .eml the run wrote beside the letter (cancelled letters' files are not looked at)."""
    if not folder.exists() or not fichier:
        return None
    stem = Path(fichier).stem
    for path in sorted(folder.rglob(f"{stem}.eml")):
        if CANCELLED_DIRNAME not in path.relative_to(folder).parts:
            return path
    return None


def _outgoing(letter: IssuedLetter, draft: Path, sender: Address, message_id: str,
              resend: bool) -> Outgoing:  # fmt: skip
    """The draft as it will be sent; its attachments as the files are now."""
    msg = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for header in ("X-Unsent", "From", "Sender", "Date", "Message-ID", "Bcc"):
        del msg[header]
    msg["From"] = sender
    msg["Message-ID"] = message_id
    attachments: list[tuple[str, int]] = []
    refreshed: list[str] = []
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        data = part.get_content()
        current = draft.parent / name if name else None
        if current is not None and current.is_file() and current.read_bytes() != data:
            data = current.read_bytes()
            part.set_content(data, maintype=part.get_content_maintype(),
                             subtype=part.get_content_subtype(), filename=name)  # fmt: skip
            refreshed.append(name)
        attachments.append((name, len(data)))
    to = msg["To"].addresses if msg["To"] else ()
    recipients = tuple(a.addr_spec for a in to)
    return Outgoing(letter, draft, msg, recipients, tuple(attachments), tuple(refreshed), resend)


def plan_sending(options: SendOptions) -> SendPlan:
    """Which messages of the date go out now, which were sent, which are in doubt."""
    settings_path, journal, out = _paths(options)
    settings = load_settings(settings_path)
    sender, copies = _check(settings)
    if not journal.exists():
        raise InputError(
            f"Journal des relances introuvable : « {journal} ».\nLancez la commande depuis le "
            "dossier de travail, ou indiquez le journal avec --journal."
        )
    day = options.day or latest_run_date(journal)
    if day is None:
        raise InputError("Aucun courrier dans le journal : lancez d'abord relance-xlsx run "
                         "avec --emails.")  # fmt: skip
    letters = letters_of(journal, day)
    if not letters:
        raise InputError(f"Aucun courrier du {day:%d/%m/%Y} dans le journal « {journal} » "
                         "(annulé, ou jamais produit ?) : rien à envoyer.")  # fmt: skip
    folder = out / day.isoformat()
    states = sending_states(journal, day)
    plan = SendPlan(day, settings, journal, folder, sender, copies)
    for letter in letters:
        state = states.get(letter.cle_client)
        if state is not None and state.etat == SEND_DONE:
            plan.already_sent.append((letter, state))
            continue
        resend = state is not None and state.unknown
        if resend and not options.resend_unknown:
            plan.unknown.append((letter, state))
            continue
        draft = find_draft(folder, letter.fichier)
        if draft is None:
            plan.no_draft.append(letter)
            continue
        message_id = state.message_id if resend else make_msgid(domain=sender.domain)
        try:
            plan.to_send.append(_outgoing(letter, draft, sender, message_id, resend))
        except (OSError, ValueError, AttributeError) as exc:
            plan.warnings.append(f"Brouillon illisible pour « {letter.client} » "
                                 f"({draft.name} : {exc}) : pas d'envoi.")  # fmt: skip
            plan.no_draft.append(letter)
    if not plan.to_send and not plan.already_sent and not plan.unknown:
        raise InputError(
            f"Aucun brouillon d'e-mail (.eml) pour les courriers du {day:%d/%m/%Y} dans "
            f"« {folder} ».\nLes brouillons sont écrits par relance-xlsx run … --emails, pour "
            "les clients dont l'export donne une adresse."
        )
    return plan


def _size(n: int) -> str:
    return f"{n / 1024:.0f} Ko" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} Mo"


def recap_text(plan: SendPlan) -> str:
    """What will go out, to whom, with what, from where: shown before the confirmation."""
    cfg = plan.settings.email
    lines = [f"E-mails des courriers du {plan.day:%d/%m/%Y} :"]
    lines.append(f"  expéditeur : {plan.sender}")
    lines.append(f"  serveur    : {cfg.serveur}:{cfg.port} ({cfg.securite.upper()}), "
                 f"identifiant « {cfg.utilisateur or '(aucun)'} »")  # fmt: skip
    if plan.copies:
        lines.append(f"  copie cachée de chaque message à : {', '.join(plan.copies)}")
    if cfg.par_minute:
        lines.append(f"  au plus {cfg.par_minute} e-mails par minute")
    lines.append("")
    lines.append(f"À envoyer : {len(plan.to_send)} e-mail(s)")
    for out in plan.to_send:
        files = ", ".join(f"{n} ({_size(s)})" for n, s in out.attachments) or "aucune"
        again = " [RENVOI]" if out.resend else ""
        lines.append(f"  - {out.letter.client}{again} → {', '.join(out.recipients)}")
        lines.append(f"      pièces jointes : {files}")
        for name in out.refreshed:
            lines.append(f"      (« {name} » a été modifié depuis l'exécution : la version "
                         "actuelle est jointe)")  # fmt: skip
    if plan.already_sent:
        lines.append(f"Déjà envoyés, pas renvoyés : {len(plan.already_sent)}")
    if plan.unknown:
        lines.append(f"Résultat inconnu (l'envoi a été interrompu) : {len(plan.unknown)}, pas "
                     "renvoyés sans --renvoyer :")  # fmt: skip
        for letter, state in plan.unknown:
            when = state.horodatage.replace("T", " à ")
            lines.append(f"  - {letter.client} (remis au serveur le {when}, {state.message_id})")
        lines.append("  Vérifiez dans votre messagerie (éléments envoyés, ou la copie "
                     "cachée) s'ils sont partis ; sinon : relance-xlsx envoyer "
                     f"{plan.day.isoformat()} --renvoyer")  # fmt: skip
    if plan.no_draft:
        names = ", ".join(x.client for x in plan.no_draft[:5])
        more = " …" if len(plan.no_draft) > 5 else ""
        lines.append(f"Sans brouillon d'e-mail (pas d'adresse), à poster : {len(plan.no_draft)}"
                     f" ({names}{more})")  # fmt: skip
    lines.extend(plan.warnings)
    return "\n".join(lines)


# --- sending -------------------------------------------------------------------------------


class _Stop(Exception):
    """The batch cannot go on (bad login): nothing more is sent."""


class _Unreachable(Exception):
    """No connection to the server (refused, timeout, TLS): this message fails."""


def _text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())


def _reason(exc: BaseException, settings: Settings) -> str:
    """A French reason for a connection or protocol failure."""
    cfg = settings.email
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"connexion chiffrée (TLS) impossible : le certificat du serveur {cfg.serveur} "
                f"n'est pas reconnu ({exc.verify_message})")  # fmt: skip
    if isinstance(exc, ssl.SSLError):
        return f"connexion chiffrée (TLS) impossible avec {cfg.serveur} ({exc.reason or exc})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"le serveur {cfg.serveur} ne propose pas ce qui est demandé ({exc})"
    if _timed_out(exc):
        return f"le serveur ne répond pas (plus de {cfg.delai_reponse} s d'attente)"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "connexion interrompue par le serveur"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"réponse du serveur : {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"connexion impossible à {cfg.serveur}:{cfg.port} ({exc.strerror or exc})" \
        if isinstance(exc, OSError) else str(exc)


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also when smtplib reports it as a lost connection."""
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


class _Connection:
    """One SMTP session, reopened after a failure; always TLS, logged in when a user is set."""

    def __init__(self, settings: Settings, password: Password | None) -> None:
        self.settings = settings
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    def get(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = self._open()
        return self.smtp

    def _open(self) -> smtplib.SMTP:
        cfg = self.settings.email
        context = ssl.create_default_context()  # the system's CAs (or SSL_CERT_FILE)
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.securite == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.serveur, cfg.port, timeout=cfg.delai_reponse,
                                        context=context)  # fmt: skip
            else:
                smtp = smtplib.SMTP(cfg.serveur, cfg.port, timeout=cfg.delai_reponse)
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise _Unreachable(
                        f"le serveur {cfg.serveur}:{cfg.port} ne propose pas STARTTLS : rien "
                        'n\'est envoyé sans chiffrement (essayez securite = "ssl", port 465)'
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.utilisateur:
                smtp.login(cfg.utilisateur, self.password.value if self.password else "")
        except smtplib.SMTPAuthenticationError as exc:
            _quit(smtp)
            raise _Stop(
                f"identifiant ou mot de passe refusé par le serveur {cfg.serveur} pour "
                f"« {cfg.utilisateur} » ({exc.smtp_code} {_text(exc.smtp_error)})"
            ) from None
        except _Unreachable:
            _quit(smtp)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            _quit(smtp)
            raise _Unreachable(_reason(exc, self.settings)) from None
        return smtp

    def drop(self) -> None:
        _quit(self.smtp)
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.drop()


def _quit(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


def _envelope(smtp: smtplib.SMTP, sender: str, out: Outgoing,
              copies: tuple[str, ...]) -> tuple[list[str], str]:  # fmt: skip
    """MAIL and RCPT: the client addresses the server accepted, or why none was."""
    options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
    code, resp = smtp.mail(sender, options)
    if code != 250:
        smtp.rset()
        return [], f"adresse d'expédition {sender} refusée par le serveur ({code} {_text(resp)})"
    accepted: list[str] = []
    refused: list[str] = []
    for address in out.recipients:
        code, resp = smtp.rcpt(address)
        if code in (250, 251):
            accepted.append(address)
        else:
            refused.append(f"{address} ({code} {_text(resp)})")
    if not accepted:
        smtp.rset()
        return [], "adresse refusée par le serveur : " + ", ".join(refused)
    for address in copies:
        smtp.rcpt(address)  # the firm's own copy: a refusal there does not stop the message
    return accepted, "; ".join(refused)


def send(
    plan: SendPlan,
    password: Password | None,
    resend_unknown: bool = False,
    progress: Callable[[Outcome], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send the plan's messages in order, one SMTP session, at the configured pace."""
    cfg = plan.settings.email
    interval = 60.0 / cfg.par_minute if cfg.par_minute else 0.0
    result = SendResult([])
    started = clock()
    log = SendLog(plan.journal, plan.day)
    connection = _Connection(plan.settings, password)
    failures = 0
    last = None
    try:
        for index, out in enumerate(plan.to_send):
            if result.stopped:
                result.outcomes.append(Outcome(out.letter, NOT_TRIED, result.stopped))
                continue
            if last is not None and interval:
                sleep(max(0.0, last + interval - clock()))
            last = clock()
            try:
                outcome = _send_one(connection, log, plan, out, resend_unknown)
                failures = 0
            except _Stop as exc:
                first = " dès le premier message" if index == 0 else ""
                result.stopped = f"envoi arrêté{first} ({out.letter.client}) : {exc}"
                result.bad_login = True
                outcome = Outcome(out.letter, NOT_TRIED, str(exc))
            except _Unreachable as exc:
                failures += 1
                log.outcome(out.letter, str(out.message["Message-ID"]), SEND_REFUSED, str(exc))
                outcome = Outcome(out.letter, REFUSED, str(exc), out.recipients)
                if failures >= MAX_CONNECTION_FAILURES:
                    result.stopped = (f"{failures} échecs de connexion de suite ({exc}) : "
                                      "envoi arrêté")  # fmt: skip
            result.outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    finally:
        connection.close()
        log.close()
        result.seconds = clock() - started
    return result


def _send_one(connection: _Connection, log: SendLog, plan: SendPlan, out: Outgoing,
              resend_unknown: bool) -> Outcome:  # fmt: skip
    """One message: envelope (retried once on a new connection if it dropped), the
    journal's « handed over », DATA, the journal's outcome."""
    message_id = str(out.message["Message-ID"])
    sender = plan.sender.addr_spec

    def refused(reason: str) -> Outcome:
        log.outcome(out.letter, message_id, SEND_REFUSED, reason)
        return Outcome(out.letter, REFUSED, reason, out.recipients)

    for attempt in (1, 2):
        smtp = connection.get()  # _Stop, _Unreachable
        try:
            accepted, trouble = _envelope(smtp, sender, out, plan.copies)
            break
        except smtplib.SMTPServerDisconnected as exc:
            connection.drop()  # nothing was handed over: safe to try again
            if attempt == 2 or _timed_out(exc):
                return refused(_reason(exc, plan.settings))
        except (OSError, smtplib.SMTPException) as exc:
            connection.drop()
            return refused(_reason(exc, plan.settings))
    if not accepted:
        return refused(trouble)
    recipients = ", ".join(accepted + list(plan.copies))
    if not log.prepare(out.letter, message_id, recipients, sender, resend_unknown):
        smtp.rset()
        return Outcome(out.letter, SKIPPED, "déjà envoyé par une autre exécution", out.recipients)
    del out.message["Date"]
    out.message["Date"] = formatdate(localtime=True)
    try:
        code, resp = smtp.data(out.message.as_bytes(policy=SMTP))
    except smtplib.SMTPDataError as exc:  # the server said no: nothing delivered
        try:
            smtp.rset()  # DATA itself refused: the envelope is still open on the server
        except (OSError, smtplib.SMTPException):
            connection.drop()
        return refused(f"message refusé par le serveur ({exc.smtp_code} {_text(exc.smtp_error)})")
    except (OSError, smtplib.SMTPException) as exc:  # it may hold the message: unknown
        connection.drop()
        reason = _reason(exc, plan.settings)
        log.outcome(out.letter, message_id, SEND_UNKNOWN, reason)
        return Outcome(out.letter, UNKNOWN, reason, tuple(accepted))
    log.outcome(out.letter, message_id, SEND_DONE, f"{code} {_text(resp)}"[:200])
    note = f"adresse(s) refusée(s) : {trouble}" if trouble else ""
    return Outcome(out.letter, SENT, note, tuple(accepted))


# --- the « à poster » list -----------------------------------------------------------------


@dataclass(frozen=True)
class LetterEmail:
    """One letter of a date and what became of its e-mail, from the journal."""

    client: str
    fichier: str
    etat: str  # "envoyé", "refusé", "résultat inconnu", "pas d'adresse", "pas encore envoyé"
    quand: str
    destinataires: str
    raison: str
    a_poster: bool


def letter_emails(journal: Path, folder: Path, day: date) -> list[LetterEmail]:
    """Each letter in force of ``day`` and its e-mail's state: what the report needs."""
    states = sending_states(journal, day)
    rows = []
    for letter in letters_of(journal, day):
        state = states.get(letter.cle_client)
        if state is None:
            has_draft = find_draft(folder, letter.fichier) is not None
            etat = "pas encore envoyé" if has_draft else "pas d'adresse e-mail"
            rows.append(LetterEmail(letter.client, letter.fichier, etat, "", "", "",
                                    not has_draft))  # fmt: skip
            continue
        etat = {SEND_DONE: SENT, SEND_REFUSED: REFUSED}.get(state.etat, UNKNOWN)
        rows.append(LetterEmail(letter.client, letter.fichier, etat,
                                state.horodatage.replace("T", " "), state.destinataires,
                                state.raison if state.etat != SEND_DONE else "",
                                state.etat == SEND_REFUSED))  # fmt: skip
    return rows


def mark_follow_up(plan: SendPlan) -> bool:
    """The follow-up workbook (suivi_relances.xlsx) says, client by client, whether the
    e-mail of its letter went out; the next run keeps saying it."""
    from . import followup, followup_sheet
    from .sendlog import email_words

    base = plan.settings.path.parent if plan.settings.path else plan.journal.parent
    states = sending_states(plan.journal, plan.day)
    words = {key: email_words(state) for key, state in states.items()}
    return followup_sheet.mark_emails(followup.path_for(base), plan.day, words,
                                base / "sauvegardes")  # fmt: skip


def write_post_list(journal: Path, folder: Path, day: date) -> Path:
    """``a_poster – AAAA-MM-JJ.xlsx`` beside the letters: sheet « À poster » (refused e-mails
    and clients without an address), sheet « E-mails » (every letter, its e-mail's state)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = letter_emails(journal, folder, day)
    wb = Workbook()
    post = wb.active
    post.title = "À poster"
    post.append(["Client", "Courrier", "Raison"])
    for r in rows:
        if r.a_poster:
            post.append([r.client, r.fichier, r.raison or r.etat])
    sheet = wb.create_sheet("E-mails")
    sheet.append(["Client", "Courrier", "E-mail", "Horodatage", "Destinataires", "Détail"])
    for r in rows:
        sheet.append([r.client, r.fichier, r.etat, r.quand, r.destinataires, r.raison])
    for ws, widths in ((post, (32, 40, 70)), (sheet, (32, 40, 20, 20, 40, 60))):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.data_type = "s"  # text from the export stays text, never a formula
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / POST_LIST_NAME.format(day=day.isoformat())
    with atomic_target(target) as tmp:
        wb.save(tmp)
    return target

