"""The template variables, as data: documented once, read by the checks and the listings.

The template checker, ``relance-xlsx modeles --variables`` (``variables_table``) and
``templates_word/VARIABLES.md`` (``scripts/build_templates.py``) all come from ``VARIABLES``,
so a variable cannot be documented in one place and missing in another.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One template variable: documented once, used by the checks and the listings."""

    name: str
    description: str
    example: str
    group: str


G_SOCIETE = "Votre société (réglages, section [societe])"
G_CLIENT = "Le client"
G_COURRIER = "Le courrier"
G_MONTANTS = "Les montants"
G_FACTURE = (
    "Chaque ligne du tableau des factures : seulement entre {%tr for f in factures %} "
    "et {%tr endfor %}"
)

VARIABLES: tuple[Variable, ...] = (
    Variable("societe.nom", "Raison sociale de votre société", "Menuiserie Martin SARL",
             G_SOCIETE),
    Variable("societe.adresse", "Adresse (peut tenir sur plusieurs lignes)",
             "4 avenue de la Gare", G_SOCIETE),
    Variable("societe.code_postal", "Code postal", "38000", G_SOCIETE),
    Variable("societe.ville", "Ville", "Grenoble", G_SOCIETE),
    Variable("societe.telephone", "Téléphone", "04 76 00 00 00", G_SOCIETE),
    Variable("societe.email", "Adresse e-mail", "compta@menuiserie-martin.fr", G_SOCIETE),
    Variable("societe.siret", "Numéro SIRET", "123 456 789 00012", G_SOCIETE),
    Variable("societe.forme_juridique", "Forme juridique", "SARL", G_SOCIETE),
    Variable("societe.capital", "Capital social", "50 000 €", G_SOCIETE),
    Variable("societe.rcs", "Ville du greffe d'immatriculation au RCS", "Grenoble", G_SOCIETE),
    Variable("societe.tva_intracommunautaire", "Numéro de TVA intracommunautaire",
             "FR 12 123456789", G_SOCIETE),
    Variable("mentions_legales", "Mentions légales prêtes à imprimer (forme, capital, RCS, "
             "SIRET, TVA), des réglages remplis seulement",
             "SARL au capital de 50 000 € – RCS Grenoble 123 456 789 – SIRET 123 456 789 00012 "
             "– TVA FR 12 123456789", G_SOCIETE),
    Variable("societe.iban", "IBAN pour les virements (vide si non renseigné)",
             "FR76 3000 6000 0112 3456 7890 189", G_SOCIETE),
    Variable("societe.bic", "BIC de la banque (vide si non renseigné)", "AGRIFRPPXXX",
             G_SOCIETE),
    Variable("societe.signataire", "Personne qui signe les courriers", "Claire Martin",
             G_SOCIETE),
    Variable("societe.fonction", "Fonction du signataire", "Responsable comptabilité clients",
             G_SOCIETE),
    Variable("client.nom", "Raison sociale ou nom du client", "Dupont & Fils", G_CLIENT),
    Variable("client.code", "Code (compte) du client dans votre comptabilité", "C0042",
             G_CLIENT),
    Variable("client.contact", "Personne à contacter chez le client", "M. Jean Dupont",
             G_CLIENT),
    Variable("client.adresse", "Adresse du client (peut tenir sur plusieurs lignes)",
             "12 rue des Lilas", G_CLIENT),
    Variable("client.code_postal", "Code postal du client", "69003", G_CLIENT),
    Variable("client.ville", "Ville du client (suivie, à l'étranger, du pays en capitales sur "
             "la ligne suivante)", "Lyon", G_CLIENT),
    Variable("client.pays", "Pays du client, en capitales, vide pour la France", "", G_CLIENT),
    Variable("client.email", "E-mail du client", "contact@dupont-fils.fr", G_CLIENT),
    Variable("client.telephone", "Téléphone du client", "04 72 00 00 00", G_CLIENT),
    Variable("lieu", "Ville d'où part le courrier (celle de votre société)", "Grenoble",
             G_COURRIER),
    Variable("date_courrier", "Date du courrier", "23 novembre 2026", G_COURRIER),
    Variable("salutation", "Formule d'appel, tirée du contact (ou d'un nom de client précédé "
             "de M., Mme, Monsieur, Madame) ; sinon « Madame, Monsieur, »", "Madame Lambert,",
             G_COURRIER),
    Variable("appel", "La même, sans le nom, pour la formule de politesse",
             "Madame", G_COURRIER),
    Variable("niveau", "Niveau de relance, en toutes lettres", "Relance 2", G_COURRIER),
    Variable("numero_relance", "Niveau de relance, en chiffre : 1, 2 ou 3 (mise en demeure)",
             "2", G_COURRIER),
    Variable("objet", "Objet du courrier, avec les numéros des factures",
             "Deuxième relance – factures n° F2026-001 et F2026-014", G_COURRIER),
    Variable("numeros_factures", "Numéros des factures relancées (hors avoirs)",
             "F2026-001, F2026-014", G_COURRIER),
    Variable("nombre_factures", "Nombre de factures relancées (hors avoirs)", "2", G_COURRIER),
    Variable("date_courrier_precedent", "Date du dernier courrier qui a relancé l'une des "
             "factures de ce courrier (vide si aucune ne l'a été)", "9 novembre 2026",
             G_COURRIER),
    Variable("deja_relancees", "Vrai si au moins une facture du courrier a déjà été relancée : "
             "seulement alors le courrier peut parler de relances précédentes", "vrai",
             G_COURRIER),
    Variable("toutes_relancees", "Vrai si toutes les factures du courrier ont déjà été "
             "relancées (faux dès que l'une d'elles ne l'a jamais été)", "faux", G_COURRIER),
    Variable("particulier", "Vrai si le client est un particulier (consommateur)", "faux",
             G_COURRIER),
    Variable("qr_paiement", "QR code de paiement (virement SEPA : bénéficiaire, IBAN, montant "
             "réclamé, numéros des factures), avec [courriers] qr_paiement = true et un IBAN ; "
             "vide sinon", "", G_COURRIER),
    Variable("factures", "Liste des factures et avoirs du tableau (voir ci-dessous)", "",
             G_COURRIER),
    Variable("reglements_non_affectes", "Phrase sur les règlements reçus mais non affectés à "
             "une facture (déduits du tableau) : le client est prié d'indiquer les factures "
             "qu'ils règlent (vide s'il n'y en a pas)",
             "Nous avons bien reçu votre règlement de 1 000,00 € du 20/11/2026 ; ne sachant "
             "pas quelles factures il règle, nous l'avons déduit du montant restant dû. Merci "
             "de nous les indiquer.", G_COURRIER),
    Variable("promesse_non_tenue", "Date à laquelle le client avait promis de payer (classeur "
             "de suivi), passée sans que le solde baisse d'autant ; vide sinon",
             "4 décembre 2026", G_COURRIER),
    Variable("reglements_recus", "Vrai quand un règlement a été reçu : une facture du "
             "tableau réglée en partie (colonne « Réglé »), ou un règlement non affecté",
             "vrai", G_COURRIER),
    Variable("total_du", "Total restant dû, avoirs et règlements non affectés déduits",
             "3 450,00 €", G_MONTANTS),
    Variable("total_interets", "Total des intérêts (pénalités) de retard", "45,20 €",
             G_MONTANTS),
    Variable("total_indemnites", "Total des indemnités forfaitaires de recouvrement",
             "80,00 €", G_MONTANTS),
    Variable("total_reclame", "Total réclamé : restant dû, plus intérêts et indemnités quand "
             "ils sont affichés", "3 575,20 €", G_MONTANTS),
    Variable("total_reclame_lettres", "Total réclamé en toutes lettres",
             "trois mille cinq cent soixante-quinze euros et vingt centimes", G_MONTANTS),
    Variable("afficher_penalites", "Vrai quand ce courrier chiffre les pénalités (réglages "
             "[montants] afficher_penalites ; jamais pour un particulier)", "vrai", G_MONTANTS),
    Variable("taux_penalites", "Taux annuel des pénalités de retard (vide pour un particulier)",
             "12,15 %", G_MONTANTS),
    Variable("base_taux", "D'où vient ce taux", "taux de refinancement de la BCE majoré de 10 "
             "points (12,15 % au 2e semestre 2026)", G_MONTANTS),
    Variable("reference_legale", "Textes de loi applicables",
             "articles L441-10 et D441-5 du Code de commerce", G_MONTANTS),
    Variable("indemnite_unitaire", "Indemnité forfaitaire par facture (vide pour un "
             "particulier)", "40,00 €", G_MONTANTS),
    Variable("date_limite", "Date limite de paiement de la mise en demeure : sa réception "
             "présumée ([delais] reception_courrier, jours ouvrés), plus le délai (vide sinon)",
             "4 décembre 2026", G_MONTANTS),
    Variable("delai_jours", "Délai de la mise en demeure, en jours", "8", G_MONTANTS),
    Variable("mention_consommateur", "Phrase légale pour un particulier (vide sinon)",
             "Conformément à l'article 1231-6 du Code civil, les sommes dues porteront "
             "intérêts au taux légal à compter de la présente mise en demeure.", G_MONTANTS),
    Variable("f.numero", "Numéro de la facture ou de l'avoir", "F2026-001", G_FACTURE),
    Variable("f.date_facture", "Date de la facture (format court)", "15/09/2026", G_FACTURE),
    Variable("f.date_echeance", "Date d'échéance (format court)", "15/10/2026", G_FACTURE),
    Variable("f.montant_ttc", "Montant TTC", "2 400,00 €", G_FACTURE),
    Variable("f.montant_regle", "Montant déjà réglé", "1 000,00 €", G_FACTURE),
    Variable("f.reste_du", "Reste dû (négatif pour un avoir)", "1 400,00 €", G_FACTURE),
    Variable("f.jours_retard", "Jours de retard à la date du courrier (vide pour un avoir)",
             "39", G_FACTURE),
    Variable("f.interets", "Intérêts de retard de la facture (vide pour un avoir)", "18,17 €",
             G_FACTURE),
    Variable("f.indemnite", "Indemnité forfaitaire de la facture (vide si aucune)", "40,00 €",
             G_FACTURE),
    Variable("f.avoir", "Vrai pour un avoir (montants négatifs)", "faux", G_FACTURE),
    Variable("f.non_affecte", "Vrai pour un règlement reçu mais non affecté à une facture "
             "(ligne « Règlement non affecté », déduite du total ; faux pour un avoir)", "faux",
             G_FACTURE),
    Variable("f.relancee_le", "Date de la dernière relance de cette facture (vide si elle n'a "
             "jamais été relancée, ou si la date n'est pas connue)", "9 novembre 2026",
             G_FACTURE),
    Variable("f.historique", "Ce que cette facture a déjà reçu, prêt à imprimer dans le "
             "tableau (vide pour une facture jamais relancée et pour un avoir)",
             "relancée le 09/11/2026", G_FACTURE),
)

SOCIETE_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("societe."))
CLIENT_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("client."))
FACTURE_FIELDS = tuple(v.name.split(".")[1] for v in VARIABLES if v.name.startswith("f."))
OBJECT_FIELDS: dict[str, tuple[str, ...]] = {"societe": SOCIETE_FIELDS, "client": CLIENT_FIELDS}
TOP_LEVEL = frozenset(
    {v.name for v in VARIABLES if "." not in v.name} | set(OBJECT_FIELDS)
)
LOOP_LIST = "factures"
# names Jinja itself provides: not unknown variables
JINJA_NAMES = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop",
                         "true", "false", "none", "True", "False", "None"})


def variables_table() -> str:
    """The variables as French text, grouped, for ``relance-xlsx modeles --variables``."""
    width = max(len(v.name) for v in VARIABLES) + 8
    out = [
        "Variables utilisables dans les modèles de courriers Word",
        "Écrivez-les entre doubles accolades : {{ client.nom }}",
        "",
    ]
    group = None
    for v in VARIABLES:
        if v.group != group:
            group = v.group
            out += ["", group, "-" * min(len(group), 80)]
        indent = " " * (width + 1)
        lines = textwrap.wrap(v.description, 100, initial_indent=f"  {{{{ {v.name} }}}}"
                              .ljust(width) + " ", subsequent_indent=indent)
        example = f"ex. : {v.example}" if v.example else ""
        if example and len(lines[-1]) + 3 + len(example) <= 100:
            lines[-1] += "   " + example
        elif example:
            lines += textwrap.wrap(example, 100, initial_indent=indent, subsequent_indent=indent)
        out += lines
    out += [
        "",
        "Tableau des factures : une ligne de tableau contenant seulement",
        "  {%tr for f in factures %}, puis la ligne avec {{ f.numero }}, {{ f.reste_du }}…,",
        "  puis une ligne contenant seulement {%tr endfor %}.",
        "Paragraphe affiché sous condition : {%p if afficher_penalites %} seul sur sa ligne,",
        "  les paragraphes, puis {%p endif %} seul sur sa ligne.",
        "Guide complet : VARIABLES.md, à côté des modèles fournis.",
    ]
    return "\n".join(out)
