"""The SMTP password: never in relance.toml, never in the journal, a log or a message.

Read, in this order, from the environment variable ``RELANCE_SMTP_MOT_DE_PASSE`` (scripts,
scheduled tasks) or from the system's credential store through ``keyring`` (Windows
Credential Manager, macOS Keychain, Secret Service on Linux); otherwise asked once, and kept
in the store after the server accepted it, so a typo is never remembered.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .config import EmailSettings
from .errors import RelanceError

ENV_VAR = "RELANCE_SMTP_MOT_DE_PASSE"
SERVICE = "relance-xlsx"


@dataclass(frozen=True)
class Password:
    """A password and where it came from ("env", "keyring", "prompt"); repr hides it."""

    value: str
    source: str

    def __repr__(self) -> str:  # never printed, even in a traceback's locals
        return f"Password(source={self.source!r})"

    __str__ = __repr__


def account(settings: EmailSettings) -> str:
    """The credential store's entry name: user at server, one per mailbox."""
    return f"{settings.utilisateur}@{settings.serveur}"


def _keyring():  # noqa: ANN202 - the keyring module, or None when it is not installed
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def stored(settings: EmailSettings) -> str | None:
    """The password kept in the system's store, if the store works and holds one."""
    kr = _keyring()
    if kr is None:
        return None
    try:
        return kr.get_password(SERVICE, account(settings))
    except Exception:  # noqa: BLE001 - no usable backend (headless Linux…): just ask
        return None


def get_password(settings: EmailSettings, ask: Callable[[str], str] | None) -> Password:
    """The password from the environment, the store, or ``ask`` (None: no one to ask)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Password(env, "env")
    kept = stored(settings)
    if kept:
        return Password(kept, "keyring")
    if ask is None:
        raise RelanceError(
            f"Mot de passe de la messagerie inconnu pour « {settings.utilisateur} ».\n"
            "Lancez une fois relance-xlsx envoyer dans une fenêtre de commande : il sera "
            "demandé puis gardé dans le trousseau du système. Pour un script, donnez-le "
            f"dans la variable d'environnement {ENV_VAR}."
        )
    value = ask(f"Mot de passe de la messagerie pour {settings.utilisateur} "
                f"({settings.serveur})")  # fmt: skip
    if not value:
        raise RelanceError("Aucun mot de passe saisi : rien n'a été envoyé.")
    return Password(value, "prompt")


def remember(settings: EmailSettings, password: Password) -> str | None:
    """Keep a typed password in the store once the server accepted it; a French warning
    when the store cannot keep it (it will be asked again next time)."""
    if password.source != "prompt":
        return None
    kr = _keyring()
    try:
        if kr is None:
            raise RuntimeError("module keyring absent")
        kr.set_password(SERVICE, account(settings), password.value)
    except Exception:  # noqa: BLE001 - any backend failure: say it, go on
        return ("Le mot de passe n'a pas pu être gardé dans le trousseau du système : il "
                "sera demandé au prochain envoi.")  # fmt: skip
    return None


def forget(settings: EmailSettings, password: Password) -> None:
    """Drop a stored password the server refused, so the next run asks again."""
    kr = _keyring()
    if password.source != "keyring" or kr is None:
        return
    try:
        kr.delete_password(SERVICE, account(settings))
    except Exception:  # noqa: BLE001 - nothing stored after all
        pass
