"""The settings file ``init`` writes: every key of ``config.SCHEMA`` with its default and a
comment, so the file and the validation can never drift apart.
"""

from __future__ import annotations

from typing import Any

from .config import SCHEMA
from .fields import BY_NAME, CANONICAL_FIELDS, ONE_AMOUNT, REQUIRED

# What a key left as a comment shows in the file written by ``init`` (default: 15).
COMMENTED_EXAMPLES = {
    "chiffre_affaires_ttc_12_mois": "1250000.00",
    "date_cloture": "2026-12-31",
    "chiffre_affaires_exercice_ttc": "1250000.00",
    "chiffre_affaires_exercice_ht": "1041666.67",
}


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _field_note(name: str) -> str:
    """``reste dû – obligatoire si montant_ttc manque``: what the field is, if it is needed."""
    f = BY_NAME[name]
    if f.required == REQUIRED:
        return f"{f.label} – obligatoire"
    if f.required == ONE_AMOUNT:
        other = next(n for n in CANONICAL_FIELDS if n != name and BY_NAME[n].required == ONE_AMOUNT)
        return f"{f.label} – obligatoire si {other} manque"
    return f.label


SECTION_INTRO = {
    "calendrier": "Calendrier des jours ouvrés (lundi–vendredi hors jours fériés).",
    "delais": "Délais entre les étapes, en jours ouvrés.",
    "montants": "Montants, pénalités de retard et indemnité forfaitaire.",
    "colonnes": (
        "Colonnes de votre export, quand la détection automatique ne les trouve pas.\n"
        "Écrivez : champ = \"titre exact de la colonne\". Champs possibles :\n"
        + "\n".join(f"  {f} : {_field_note(f)}" for f in CANONICAL_FIELDS)
    ),
    "classeur": "Votre classeur Excel.",
    "societe": "Votre société, imprimée sur les courriers.",
    "modeles": "Modèles de courriers Word.",
    "clients": "Clients particuliers (consommateurs).",
    "taux_bce": (
        "Taux de refinancement de la BCE en vigueur au 1er janvier / 1er juillet, en %,\n"
        "pour compléter la table fournie quand un semestre y manque. Exemple :\n"
        '  "2027-01-01" = 2.15'
    ),
    "indicateurs": "Indicateurs du rapport : DSO, tableau des délais de paiement (D441-6).",
    "email": (
        "Envoi des e-mails de relance (relance-xlsx envoyer), par votre propre serveur,\n"
        "toujours chiffré. Rien n'est envoyé sans cette commande."
    ),
}



def default_settings_text() -> str:
    """The commented settings file written by ``init``: every key, with its default."""
    out = [
        "# Réglages de relance-xlsx",
        "# Modifiez les valeurs après le signe =, enregistrez, relancez.",
        "# Une ligne qui commence par # est un commentaire et n'est pas lue.",
        "",
    ]
    for section, keys in SCHEMA.items():
        out.append("# " + SECTION_INTRO[section].replace("\n", "\n# "))
        out.append(f"[{section}]")
        if section == "colonnes":
            for k in CANONICAL_FIELDS:
                if BY_NAME[k].example:
                    out.append(f'# {k} = "{BY_NAME[k].example}"')
        for key, (_check, default, comment) in keys.items():
            if comment:
                out.append("# " + comment)
            if default is None:
                out.append(f"# {key} = {COMMENTED_EXAMPLES.get(key, 15)}")
            else:
                out.append(f"{key} = {_toml_value(default)}")
        out.append("")
    return "\n".join(out)
