"""Salutation: one rule for letters and e-mails, from the contact or a civility in the name."""

from __future__ import annotations

import pytest

from relance_xlsx.salutation import addressee


@pytest.mark.parametrize(
    "contact, client, appel, salutation",
    [("Mme Élodie Favre, Direction administrative et financière", "Favre SA", "Madame",
      "Madame Favre,"),
     ("M. Moreau", "", "Monsieur", "Monsieur Moreau,"),
     ("Madame Lambert", "", "Madame", "Madame Lambert,"),
     ("Mme Anne-Sophie de La Tour", "", "Madame", "Madame de La Tour,"),
     ("M Paul Martin - DAF", "", "Monsieur", "Monsieur Martin,"),
     ("", "M. MOREAU Pierre", "Monsieur", "Monsieur Moreau,"),
     ("", "Madame Lambert", "Madame", "Madame Lambert,"),
     ("", "Mme Sophie Lambert", "Madame", "Madame Lambert,"),
     ("Jean Dupont", "Mme Lambert", "Madame, Monsieur", "Madame, Monsieur,"),
     ("M. et Mme Dupont", "", "Madame, Monsieur", "Madame, Monsieur,"),
     ("", "Dupont & Fils", "Madame, Monsieur", "Madame, Monsieur,"),
     ("", "M Bricolage", "Madame, Monsieur", "Madame, Monsieur,"),
     ("", "Mmes Dupont", "Madame, Monsieur", "Madame, Monsieur,"),
     ("", "", "Madame, Monsieur", "Madame, Monsieur,"),
     # clients abroad (a German contact read « Madame, Monsieur, » in a trial)
     ("Herr Klaus Müller", "Müller Maschinenbau GmbH", "Monsieur", "Monsieur Müller,"),
     ("Frau Anna Schmidt", "", "Madame", "Madame Schmidt,"),
     ("Mrs. Jane Smith", "", "Madame", "Madame Smith,"),
     ("Ms Jane Smith", "", "Madame", "Madame Smith,"),
     ("", "MS Informatique", "Madame, Monsieur", "Madame, Monsieur,"),
     ("", "Frau Holle GmbH", "Madame, Monsieur", "Madame, Monsieur,")],
)  # fmt: skip
def test_salutation(contact: str, client: str, appel: str, salutation: str) -> None:
    found = addressee(contact, client)
    assert (found.appel, found.salutation) == (appel, salutation)
    assert found.attention == contact  # "À l'attention de …" only for a real contact
