"""E-mail drafts: one .eml per letter, for clients whose export row has an e-mail address.

Nothing is sent. Each draft carries ``X-Unsent: 1``, so Outlook opens it as a new message
with a « Envoyer » button; Thunderbird opens it as a message, and « Modifier comme nouveau
message » (Ctrl+E) makes it one to send. The letter is attached: its PDF when --pdf made
one, else the .docx. The body is short, polite, and firmer at each tier, as the seeds advise
for e-mail reminders: subject with the invoice numbers, amount, how to pay, an offer to talk.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from .amounts import LetterAmounts
from .config import Settings
from .files import write_bytes_atomic
from .formatting import format_date_long, format_eur
from .letters.context import unallocated_sentence
from .model import PlannedLetter, PricedLetter, RenderedLetter
from .salutation import addressee
from .tiers import LETTER_LEVELS, tier

DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
MAX_NUMBERS_IN_SUBJECT = 4
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DraftResult:
    """The letters given, each with its draft (``email`` is None: no usable address)."""

    letters: tuple[RenderedLetter, ...]
    warnings: tuple[str, ...]

    @property
    def files(self) -> tuple[Path | None, ...]:
        """The drafts' paths, one per letter (``None``: no usable address)."""
        return tuple(x.email for x in self.letters)


def _one_line(text: str) -> str:
    """Header-safe text: no line breaks or control characters (they come from the export)."""
    return " ".join(_CONTROL.sub(" ", str(text or "")).split())


def parse_addresses(text: str) -> tuple[list[Address], list[str]]:
    """Addresses in an export cell ("a@b.fr; c@d.fr"), and the parts that are not addresses.

    International domain names (compta@hôtel.fr) are written in their ASCII form.
    """
    good: list[Address] = []
    bad: list[str] = []
    candidates: list[str] = []
    for chunk in re.split(r"[;,]+", _one_line(text)):
        chunk = chunk.strip()
        if not chunk:
            continue
        bracketed = re.findall(r"<([^<>]*)>", chunk)  # "Anne Girard <anne@hotel.fr>"
        if bracketed:
            candidates.extend(bracketed)
        elif "@" in chunk:
            candidates.extend(t for t in chunk.split() if "@" in t)  # names beside: ignored
        else:
            candidates.append(chunk)
    for part in candidates:
        part = part.strip().strip("<>").rstrip(".")
        if not part:
            continue
        if not _ADDRESS.match(part) or ".." in part or part.split("@")[1].startswith("."):
            bad.append(part)
            continue
        user, domain = part.rsplit("@", 1)
        try:
            if not user.isascii():
                raise UnicodeError
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            bad.append(part)
            continue
        good.append(Address(username=user, domain=domain))
    return good, bad


def _numbers(letter: PlannedLetter) -> list[str]:
    return [_one_line(n) for n in letter.numeros]


def subject(letter: PlannedLetter, settings: Settings) -> str:
    """« Deuxième relance – factures n° A, B – Société X »."""
    numbers = _numbers(letter)
    if not numbers:
        what = "votre compte client"
    elif len(numbers) == 1:
        what = f"facture n° {numbers[0]}"
    elif len(numbers) <= MAX_NUMBERS_IN_SUBJECT:
        what = f"factures n° {', '.join(numbers)}"
    else:
        what = f"{len(numbers)} factures (n° {', '.join(numbers[:3])}…)"
    parts = [tier(letter.niveau).subject, what]
    if settings.societe.nom and settings.societe.nom != "Votre société":
        parts.append(_one_line(settings.societe.nom))
    return " – ".join(parts)


def _which(numbers: Sequence[str]) -> str:
    """« la facture n° A », « les factures n° A et B »."""
    if not numbers:
        return "les sommes détaillées dans le courrier joint"
    if len(numbers) == 1:
        return f"la facture n° {numbers[0]}"
    return f"les factures n° {', '.join(numbers[:-1])} et {numbers[-1]}"


def _agreed(numbers: Sequence[str], singular: str, plural: str) -> str:
    """The verb agreed with the invoices (« reste impayée » / « restent impayées »)."""
    return singular if len(numbers) == 1 else plural


def _still_unpaid(letter: PlannedLetter) -> str:
    """The opening of a second reminder: it speaks of the first one only for the invoices
    that had it; the others are said to be due, never to have been reminded."""
    numbers = _numbers(letter)
    reminded = [_one_line(n) for n in letter.numeros_relances]
    if not reminded:
        return (f"Sauf erreur de notre part, {_which(numbers)} "
                + _agreed(numbers, "reste", "restent") + " à ce jour "
                + _agreed(numbers, "impayée.", "impayées."))
    once = all(x.niveau_avant <= LETTER_LEVELS[0] for x in letter.lignes if x.relancee)
    text = (("Malgré notre premier rappel, " if once else "Malgré nos rappels, ")
            + _which(reminded) + " "
            + _agreed(reminded, "n'a toujours pas été réglée", "n'ont toujours pas été réglées"))
    fresh = [n for n in numbers if n not in reminded]
    if not fresh:
        return text + "."
    return (f"{text} ; {_which(fresh)}, "
            + _agreed(fresh, "qui n'avait pas encore fait l'objet d'un rappel, est également "
                      "échue.", "qui n'avaient pas encore fait l'objet d'un rappel, sont "
                      "également échues."))


def _paragraphs(letter: PlannedLetter, settings: Settings, amounts: LetterAmounts) -> list[str]:
    """The body's paragraphs, firmer at each tier."""
    numbers = _numbers(letter)
    which = _which(numbers)
    total = format_eur(amounts.total_reclame)
    iban = settings.societe.iban
    pay = f" par virement (IBAN {iban})" if iban else ""
    step = tier(letter.niveau)
    if step.formal:
        deadline = format_date_long(amounts.date_limite)
        return [
            f"À ce jour, {which} " + _agreed(numbers, "reste impayée.", "restent impayées."),
            f"Vous trouverez ci-joint notre mise en demeure de payer la somme de {total}"
            + (f" au plus tard le {deadline}" if deadline else "")
            + ", également adressée par lettre recommandée avec accusé de réception.",
            "À défaut de règlement dans ce délai, nous transmettrons ce dossier au service "
            "contentieux, sans autre avis.",
        ]  # fmt: skip
    if step.level == LETTER_LEVELS[0]:
        return [
            f"Sauf erreur de notre part, {which} "
            + _agreed(numbers, "reste", "restent") + " à ce jour "
            + _agreed(numbers, "impayée.", "impayées."),
            f"Vous trouverez ci-joint notre courrier de rappel, qui en donne le détail. "
            f"Le montant dû s'élève à {total}. Nous vous remercions de bien vouloir procéder "
            f"à son règlement{pay} dans les meilleurs délais.",
            "Si votre paiement est déjà parti, merci de ne pas tenir compte de ce message. "
            "Pour toute question, nous restons à votre disposition.",
        ]  # fmt: skip
    return [
        _still_unpaid(letter),
        f"Vous trouverez ci-joint notre deuxième relance. Le montant réclamé s'élève à "
        f"{total}. Nous vous demandons de le régler{pay} sans délai.",  # as the letter
        "Si vous rencontrez une difficulté, appelez-nous : nous pouvons convenir "
        "ensemble d'un échéancier de paiement.",
    ]  # fmt: skip


def body(letter: PlannedLetter, settings: Settings, amounts: LetterAmounts) -> str:
    """A short French text, its tone set by the tier; the letter attached says the rest,
    and both thank for a payment received but not allocated (and ask what it pays)."""
    soc = settings.societe
    greeting = addressee(_one_line(letter.contact), _one_line(letter.client)).salutation
    paragraphs = _paragraphs(letter, settings, amounts)
    received = unallocated_sentence(letter)
    if received:
        paragraphs.insert(1, received)
    signature = [x for x in (soc.signataire, soc.fonction, soc.nom, soc.telephone) if x]
    if soc.nom == "Votre société":
        signature = [x for x in signature if x != soc.nom]
    lines = [greeting, "", *("\n\n".join(paragraphs).split("\n")), "", "Cordialement,", "",
             *map(_one_line, signature)]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def build_draft(
    priced: PricedLetter, settings: Settings, attachments: Sequence[Path]
) -> EmailMessage:
    """The draft message of one letter; raises ValueError when the client has no address."""
    letter = priced.letter
    to, _bad = parse_addresses(letter.email)
    if not to:
        raise ValueError(f"aucune adresse e-mail utilisable pour « {letter.client} »")
    msg = EmailMessage()
    msg["X-Unsent"] = "1"  # Outlook: open as a message to send, not as a received one
    msg["To"] = [Address(display_name=_one_line(letter.client), username=a.username,
                         domain=a.domain) for a in to]  # fmt: skip
    sender, _ = parse_addresses(settings.societe.email)
    if sender:
        name = settings.societe.nom if settings.societe.nom != "Votre société" else ""
        msg["From"] = Address(display_name=_one_line(name), username=sender[0].username,
                              domain=sender[0].domain)  # fmt: skip
    msg["Subject"] = subject(letter, settings)
    msg.set_content(body(letter, settings, priced.amounts))
    for path in attachments:
        ctype = DOCX_TYPE if path.suffix.lower() == ".docx" else None
        if ctype is None:
            guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            ctype = tuple(guessed.split("/", 1))
        msg.add_attachment(path.read_bytes(), maintype=ctype[0], subtype=ctype[1],
                           filename=path.name)  # fmt: skip
    return msg


def write_drafts(letters: Sequence[RenderedLetter], settings: Settings) -> DraftResult:
    """``<letter>.eml`` beside each letter whose client has an e-mail address.

    The letter's PDF is attached when one was made, else its .docx; then its invoice copies.
    """
    done: list[RenderedLetter] = []
    warnings: list[str] = []
    without: list[str] = []
    for rendered in letters:
        letter = rendered.letter
        good, bad = parse_addresses(letter.email)
        if bad:
            warnings.append(
                f"Adresse e-mail incorrecte pour « {_one_line(letter.client)} » : "
                f"« {', '.join(bad)} »" + (" (ignorée)." if good else " : pas de brouillon, "
                                           "courrier à poster.")
            )  # fmt: skip
        if not good:
            done.append(replace(rendered, email=None))
            if not bad:
                without.append(_one_line(letter.client))
            continue
        # the PDF when there is one: a client should not receive an editable letter
        attachments = [rendered.pdf or rendered.docx, *rendered.copies]
        msg = build_draft(rendered.priced, settings, attachments)
        target = rendered.docx.with_suffix(".eml")
        write_bytes_atomic(target, msg.as_bytes(policy=SMTP))
        done.append(replace(rendered, email=target))
    if without:
        shown = ", ".join(without[:5]) + (" …" if len(without) > 5 else "")
        warnings.append(
            f"{len(without)} client(s) sans adresse e-mail dans l'export, courrier à poster "
            f"seulement : {shown}."
        )
    return DraftResult(tuple(done), tuple(warnings))
