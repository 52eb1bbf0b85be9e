"""Settings: one commented TOML file with French keys, validated with line numbers.

The schema is data (``SCHEMA``): each key has a type, a check and a default, so the
file written by ``relance-xlsx init`` and the validation can never drift apart.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import SettingsError
from .fields import CANONICAL_FIELDS
from .settings_checks import (
    Check,
    _amount,
    _as_day,
    _day,
    _flag,
    _non_negative_int,
    _per_minute,
    _port,
    _positive_int,
    _rate,
    _seconds,
    _security,
    _subdivision,
    _text,
    _text_list,
    _tiers,
    _turnover,
)

SETTINGS_FILENAME = "relance.toml"
JOURNAL_FILENAME = "journal_relances.sqlite"
LETTERS_DIRNAME = "courriers"

@dataclass(frozen=True)
class Delais:
    """Business-day delays between steps (README, "Les règles", Étapes)."""

    relance_1: int = 5
    relance_2: int = 10
    mise_en_demeure: int = 20
    contentieux: int = 10
    intervalle_minimum: int = 10
    tolerance_promesse: int = 2
    reception_courrier: int = 3  # business days for a letter to arrive (formal notice)


@dataclass(frozen=True)
class Montants:
    """Money settings: minimum balance, penalty rate, indemnity, what letters show."""

    minimum: float = 15.0
    taux_penalites: float | None = None  # percent per year; None = ECB rate + 10 points
    indemnite_forfaitaire: float = 40.0
    afficher_penalites: tuple[str, ...] = ("relance_2", "mise_en_demeure")
    delai_mise_en_demeure: int = 8  # calendar days given by the formal notice
    penalites_apres: int | None = None  # business days late; None: [delais] relance_1


@dataclass(frozen=True)
class Societe:
    """The creditor: printed in the sender block, payment instructions and signature."""

    nom: str = "Votre société"
    adresse: str = ""
    code_postal: str = ""
    ville: str = ""
    telephone: str = ""
    email: str = ""
    siret: str = ""
    forme_juridique: str = ""  # legal mentions (Code de commerce R123-237), in the footer
    capital: str = ""
    rcs: str = ""  # the city of the RCS registration
    tva_intracommunautaire: str = ""
    iban: str = ""
    bic: str = ""
    signataire: str = ""
    fonction: str = "Service comptabilité clients"


@dataclass(frozen=True)
class Indicateurs:
    """Figures the export cannot give: turnover (for DSO and D441-6) and the closing date.

    ``None`` means not set: the report then shows nothing rather than a guess.
    """

    chiffre_affaires_ttc_12_mois: float | None = None
    date_cloture: date | None = None
    chiffre_affaires_exercice_ttc: float | None = None
    chiffre_affaires_exercice_ht: float | None = None


@dataclass(frozen=True)
class EmailSettings:
    """SMTP sending (``relance-xlsx envoyer``); the password is never a setting."""

    serveur: str = ""
    port: int = 587
    securite: str = "starttls"  # "starttls" (port 587) or "ssl" (port 465): always TLS
    utilisateur: str = ""
    expediteur: str = ""  # empty: [societe] email
    copie_a: str = ""  # a hidden copy of every message, for the firm's own records
    par_minute: int = 20  # 0: no limit
    delai_reponse: int = 60  # seconds to wait for the server before giving up


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, validated. ``path`` is the settings file, if any."""

    subdivision: str = ""
    delais: Delais = field(default_factory=Delais)
    montants: Montants = field(default_factory=Montants)
    colonnes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    feuille: str = ""
    colonne_statut: str = "Statut relance"
    societe: Societe = field(default_factory=Societe)
    modeles_dossier: Path | None = None
    qr_paiement: bool = False  # [courriers]: an EPC payment QR code beside the IBAN
    factures_dossier: Path | None = None  # [factures]: the invoice PDFs, for copies
    clients_particuliers: tuple[str, ...] = ()
    taux_bce: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    indicateurs: Indicateurs = field(default_factory=Indicateurs)
    email: EmailSettings = field(default_factory=EmailSettings)
    path: Path | None = None

    @property
    def base_dir(self) -> Path | None:
        """Folder of the settings file: relative paths in it are resolved from here."""
        return self.path.parent if self.path else None


# --- schema -------------------------------------------------------------------------------

SCHEMA: dict[str, dict[str, tuple[Check, Any, str]]] = {
    "calendrier": {
        "subdivision": (
            _subdivision,
            "",
            'Jours fériés : "" pour la métropole ; "57" (Moselle) ou "6AE" (Alsace : Bas-Rhin '
            'et Haut-Rhin) ajoutent le Vendredi saint et le 26 décembre ; "971", "972", '
            '"973", "974", "976"… ajoutent les fêtes de l\'outre-mer.',
        ),
    },
    "delais": {
        "relance_1": (_non_negative_int, 5, "Relance 1 : jours ouvrés après l'échéance."),
        "relance_2": (_positive_int, 10, "Relance 2 : jours ouvrés après la relance 1."),
        "mise_en_demeure": (_positive_int, 20, "Mise en demeure : jours ouvrés après la "
                            "relance 2."),
        "contentieux": (
            _positive_int,
            10,
            "Contentieux : jours ouvrés après la mise en demeure (aucun courrier, "
            "la facture est listée pour être transmise).",
        ),
        "intervalle_minimum": (
            _non_negative_int,
            10,
            "Pas de nouveau courrier à un client moins de N jours ouvrés après le précédent "
            "(un client relancé chaque semaine ne lit plus les courriers).",
        ),
        "tolerance_promesse": (
            _non_negative_int,
            2,
            "Une promesse de paiement (suivi_relances.xlsx) suspend les courriers jusqu'à sa "
            "date plus N jours ouvrés ; ensuite, non tenue, elle est signalée et le cycle "
            "reprend.",
        ),
        "reception_courrier": (_non_negative_int, 3, "Jours ouvrés d'acheminement du "
                               "courrier : le délai de la mise en demeure court de sa réception."),
    },
    "montants": {
        "minimum": (
            _amount,
            15,
            "Pas de courrier quand le solde net du client (avoirs déduits) est inférieur "
            "à ce montant, en euros.",
        ),
        "taux_penalites": (
            _rate,
            None,
            "Taux annuel des pénalités de retard prévu par vos CGV, en % (ex. : 15). "
            "Laissé en commentaire : taux BCE + 10 points (article L441-10 du Code de commerce).",
        ),
        "indemnite_forfaitaire": (_amount, 40, "Indemnité forfaitaire de recouvrement par "
                                  "facture (professionnels uniquement), en euros."),
        "afficher_penalites": (_tiers, ["relance_2", "mise_en_demeure"], "Courriers qui "
                               "chiffrent les pénalités, l'indemnité et le total réclamé."),
        "delai_mise_en_demeure": (_positive_int, 8, "Délai laissé par la mise en demeure, en "
                                  "jours, après sa réception (reporté au jour ouvré suivant)."),
        "penalites_apres": (_non_negative_int, None, "Pénalités et indemnité chiffrées "
                            "seulement pour les factures en retard d'au moins N jours ouvrés. "
                            "Laissé en commentaire : le délai de la relance 1."),
    },
    "colonnes": {},  # free: canonical field = header in the export (checked separately)
    "classeur": {
        "feuille": (
            _text,
            "",
            'Nom de la feuille à lire ; "" : la première feuille qui contient les factures.',
        ),
        "colonne_statut": (
            _text,
            "Statut relance",
            "Titre de la colonne de statut ajoutée (ou reprise) dans votre classeur.",
        ),
    },
    "societe": {
        "nom": (_text, "Votre société", "Raison sociale imprimée sur les courriers."),
        "adresse": (_text, "", "Adresse (une ligne ; \\n pour aller à la ligne)."),
        "code_postal": (_text, "", ""),
        "ville": (_text, "", "Ville, aussi utilisée pour « Fait à … »."),
        "telephone": (_text, "", ""),
        "email": (_text, "", ""),
        "siret": (_text, "", ""),
        "forme_juridique": (_text, "", 'Mentions légales du pied de page, ex. : "SARL".'),
        "capital": (_text, "", 'Capital social, ex. : "50 000 €".'),
        "rcs": (_text, "", 'Ville du greffe d\'immatriculation (RCS), ex. : "Grenoble".'),
        "tva_intracommunautaire": (_text, "", "Numéro de TVA intracommunautaire."),
        "iban": (_text, "", "Coordonnées bancaires imprimées pour le règlement."),
        "bic": (_text, "", ""),
        "signataire": (_text, "", "Nom de la personne qui signe les courriers."),
        "fonction": (_text, "Service comptabilité clients", "Fonction du signataire."),
    },
    "modeles": {
        "dossier": (
            _text,
            "",
            "Dossier de vos propres modèles Word (relatif à ce fichier) ; "
            '"" : modèles fournis. Un modèle absent y est remplacé par celui fourni.',
        ),
    },
    "courriers": {"qr_paiement": (_flag, False, "true : un QR code de paiement (virement SEPA, "
                                  "norme EPC) à côté de l'IBAN de [societe].")},
    "factures": {"dossier": (_text, "", "Dossier des factures en PDF (relatif à ce fichier) : "
                             "leurs duplicata suivent chaque courrier ; \"\" : aucun.")},
    "clients": {
        "particuliers": (
            _text_list,
            [],
            "Codes (ou noms) des clients particuliers : règles de la consommation "
            "(ni indemnité de 40 €, ni pénalités avant la mise en demeure).",
        ),
    },
    "taux_bce": {},  # free: "AAAA-01-01" or "AAAA-07-01" = rate, completes the shipped table
    "indicateurs": {
        "chiffre_affaires_ttc_12_mois": (
            _turnover,
            None,
            "Chiffre d'affaires TTC des 12 derniers mois, en euros : le rapport affiche alors "
            "le DSO (délai moyen de paiement clients). Laissé en commentaire : pas de DSO.",
        ),
        "date_cloture": (
            _day,
            None,
            "Date de clôture de l'exercice : le rapport ajoute alors le tableau des délais de "
            "paiement (article D441-6 du Code de commerce) à cette date.",
        ),
        "chiffre_affaires_exercice_ttc": (
            _turnover,
            None,
            "Chiffre d'affaires TTC de l'exercice, pour les pourcentages du tableau D441-6.",
        ),
        "chiffre_affaires_exercice_ht": (
            _turnover,
            None,
            "Chiffre d'affaires HT de l'exercice, pour le tableau D441-6 établi en HT (--ht).",
        ),
    },
    "email": {
        "serveur": (
            _text,
            "",
            "Serveur d'envoi (SMTP) de votre messagerie, ex. : smtp.office365.com, "
            "smtp.gmail.com, ssl0.ovh.net.",
        ),
        "port": (_port, 587, "Port du serveur : 587 avec starttls, 465 avec ssl."),
        "securite": (
            _security,
            "starttls",
            'Chiffrement de la connexion : "starttls" ou "ssl" (jamais sans chiffrement).',
        ),
        "utilisateur": (
            _text,
            "",
            "Identifiant de connexion (souvent votre adresse). Le mot de passe n'est pas "
            "écrit ici : il est demandé au premier envoi et gardé dans le trousseau du "
            "système (ou variable d'environnement RELANCE_SMTP_MOT_DE_PASSE).",
        ),
        "expediteur": (
            _text,
            "",
            'Adresse d\'expédition des e-mails ; "" : l\'adresse de [societe] email.',
        ),
        "copie_a": (
            _text,
            "",
            "Adresse qui reçoit une copie cachée de chaque e-mail (votre propre boîte, "
            "pour archive) ; \"\" : pas de copie.",
        ),
        "par_minute": (
            _per_minute,
            20,
            "Nombre maximum d'e-mails envoyés par minute (les serveurs limitent les envois "
            "en rafale) ; 0 : sans limite.",
        ),
        "delai_reponse": (
            _seconds,
            60,
            "Secondes d'attente d'une réponse du serveur avant d'abandonner un envoi.",
        ),
    },
}

_HALF_YEAR_KEY = re.compile(r"^\d{4}-(01|07)-01$")


def _line_of(text: str, section: str, key: str | None = None) -> int | None:
    """Line number (1-based) of ``[section]`` or of ``key`` inside it: tomllib gives none."""
    current = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if m:
            current = m.group(1).strip().strip('"')
            if key is None and current == section:
                return no
            continue
        if key is not None and current == section:
            m = re.match(r'^("([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+))\s*=', line)
            if m and key in (m.group(2), m.group(3), m.group(4)):
                return no
    return None


def _where(path: Path, text: str, section: str, key: str | None = None) -> str:
    line = _line_of(text, section, key)
    name = f"[{section}] {key}" if key else f"[{section}]"
    return f"{path.name}, ligne {line}, {name}" if line else f"{path.name}, {name}"


_TOML_ERR = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_settings(path: Path | None) -> Settings:
    """Read and validate the settings file; ``None`` gives the defaults."""
    if path is None:
        return Settings()
    path = Path(path)
    if not path.is_file():
        raise SettingsError(
            f"Fichier de réglages introuvable : {path}\n"
            "Vérifiez le chemin donné à --config, ou créez-en un avec : relance-xlsx init DOSSIER"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise SettingsError(
                f"Réglages illisibles ({path.name}) : ce n'est pas un fichier texte.\n"
                "Ouvrez-le avec le Bloc-notes pour vérifier, ou recréez-le avec : "
                "relance-xlsx init DOSSIER"
            ) from exc
    try:
        data = tomllib.loads(text)
    except RecursionError as exc:
        raise SettingsError(
            f"Réglages illisibles ({path.name}) : trop de crochets ou d'accolades imbriqués.\n"
            "Un fichier de réglages n'a que des sections [nom] et des lignes clé = valeur."
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_ERR.search(str(exc))
        where = f", ligne {m.group(1)}, colonne {m.group(2)}" if m else ""
        raise SettingsError(
            f"Réglages illisibles ({path.name}{where}) : la syntaxe n'est pas correcte.\n"
            "Vérifiez les guillemets autour des textes, les crochets des sections "
            "et le signe = entre la clé et la valeur ; les noms de clés s'écrivent sans "
            "accents ni espaces (ex. : date_echeance)."
        ) from exc
    return settings_from_dict(data, path, text)


def _validated(section: str, key: str, value: Any, path: Path, text: str) -> Any:
    """One key of the file, checked against ``SCHEMA``: its value, or a SettingsError that
    names the key and its line."""
    if section == "colonnes":
        if key not in CANONICAL_FIELDS:
            raise SettingsError(
                f"Champ inconnu {_where(path, text, section, key)}.\n"
                f"Champs possibles : {', '.join(CANONICAL_FIELDS)}."
            )
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(
                f"{_where(path, text, section, key)} : le titre de colonne de votre "
                f'export est attendu entre guillemets, ex. : {key} = "N° pièce".'
            )
        return value
    if section == "taux_bce":
        if not _HALF_YEAR_KEY.match(key):
            raise SettingsError(
                f"{_where(path, text, section, key)} : la clé doit être une date de "
                'début de semestre entre guillemets, ex. : "2027-01-01" = 2.15'
            )
        complaint = _rate(value)
        if complaint:
            raise SettingsError(f"{_where(path, text, section, key)} : {complaint}.")
        return float(value)
    if key not in SCHEMA[section]:
        raise SettingsError(
            f"Clé inconnue {_where(path, text, section, key)}.\n"
            f"Clés possibles dans [{section}] : {', '.join(SCHEMA[section])}."
        )
    check = SCHEMA[section][key][0]
    complaint = check(value)
    if complaint:
        raise SettingsError(
            f"Valeur incorrecte {_where(path, text, section, key)} : {complaint}."
        )
    return value


def settings_from_dict(data: Mapping[str, Any], path: Path, text: str = "") -> Settings:
    """Validate parsed TOML against ``SCHEMA`` and build a frozen ``Settings``."""
    values: dict[str, dict[str, Any]] = {}
    for section, content in data.items():
        if section not in SCHEMA:
            raise SettingsError(
                f"Section inconnue {_where(path, text, section)}.\n"
                f"Sections possibles : {', '.join('[' + s + ']' for s in SCHEMA)}."
            )
        if not isinstance(content, dict):
            raise SettingsError(
                f"{_where(path, text, section)} : une section [{section}] est attendue."
            )
        values[section] = {
            key: _validated(section, key, value, path, text) for key, value in content.items()
        }

    def get(section: str, key: str) -> Any:
        return values.get(section, {}).get(key, SCHEMA[section][key][1])

    delais = Delais(**{k: get("delais", k) for k in SCHEMA["delais"]})
    rate = get("montants", "taux_penalites")
    montants = Montants(
        minimum=float(get("montants", "minimum")),
        taux_penalites=None if rate is None else float(rate),
        indemnite_forfaitaire=float(get("montants", "indemnite_forfaitaire")),
        afficher_penalites=tuple(get("montants", "afficher_penalites")),
        delai_mise_en_demeure=get("montants", "delai_mise_en_demeure"),
        penalites_apres=get("montants", "penalites_apres"),
    )
    societe = Societe(
        **{k: get("societe", k).replace("\\n", "\n") for k in SCHEMA["societe"]}
    )
    def folder(section: str) -> Path | None:  # relative to the settings file
        given = get(section, "dossier")
        return (path.parent / Path(given)) if given else None  # an absolute path stays
    return Settings(
        subdivision=get("calendrier", "subdivision"),
        delais=delais,
        montants=montants,
        colonnes=MappingProxyType(dict(values.get("colonnes", {}))),
        feuille=get("classeur", "feuille"),
        colonne_statut=get("classeur", "colonne_statut").strip() or "Statut relance",
        societe=societe,
        modeles_dossier=folder("modeles"),
        qr_paiement=get("courriers", "qr_paiement"),
        factures_dossier=folder("factures"),
        clients_particuliers=tuple(get("clients", "particuliers")),
        taux_bce=MappingProxyType(dict(values.get("taux_bce", {}))),
        indicateurs=_indicateurs(get),
        email=_email_settings(values.get("email", {})),
        path=path,
    )


def _indicateurs(get: Callable[[str, str], Any]) -> Indicateurs:
    def amount(key: str) -> float | None:
        value = get("indicateurs", key)
        return None if value is None else float(value)

    closing = get("indicateurs", "date_cloture")
    return Indicateurs(
        chiffre_affaires_ttc_12_mois=amount("chiffre_affaires_ttc_12_mois"),
        date_cloture=None if closing is None else _as_day(closing),
        chiffre_affaires_exercice_ttc=amount("chiffre_affaires_exercice_ttc"),
        chiffre_affaires_exercice_ht=amount("chiffre_affaires_exercice_ht"),
    )
def _email_settings(given: Mapping[str, Any]) -> EmailSettings:
    """[email] with its defaults; the port follows the security when it is not given."""
    values = {k: given.get(k, SCHEMA["email"][k][1]) for k in SCHEMA["email"]}
    if "port" not in given and values["securite"] == "ssl":
        values["port"] = 465
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    return EmailSettings(**values)


def find_settings(explicit: Path | None, export: Path | None) -> Path | None:
    """The settings file: ``--config``, else relance.toml here, beside or above the export."""
    if explicit is not None:
        return Path(explicit)
    candidates = [Path.cwd() / SETTINGS_FILENAME]
    if export is not None:
        folder = Path(export).resolve().parent
        candidates += [folder / SETTINGS_FILENAME, folder.parent / SETTINGS_FILENAME]
    for c in candidates:
        if c.is_file():
            return c
    return None


@dataclass(frozen=True)
class Workspace:
    """Where the commands run after ``run`` (``annuler``, ``envoyer``) find the journal and
    the letters: as ``run`` puts them, beside relance.toml (the current folder without it)."""

    settings: Path | None
    journal: Path
    out: Path


def workspace(config: Path | None, journal: Path | None, out: Path | None) -> Workspace:
    settings = find_settings(config, None)
    base = settings.resolve().parent if settings else Path.cwd()
    return Workspace(settings, Path(journal) if journal else base / JOURNAL_FILENAME,
                     Path(out) if out else base / LETTERS_DIRNAME)  # fmt: skip
