"""Settings: the commented file, French errors that name the key and the line."""

from __future__ import annotations

import pytest

from relance_xlsx.config import Settings, load_settings
from relance_xlsx.errors import SettingsError
from relance_xlsx.settings_file import default_settings_text


def write(tmp_path, text):
    path = tmp_path / "relance.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_file_loads_to_the_defaults(tmp_path):
    text = default_settings_text()
    assert "[delais]" in text and "relance_1 = 5" in text and "# " in text
    loaded = load_settings(write(tmp_path, text))
    defaults = Settings()
    assert loaded.delais == defaults.delais
    assert loaded.montants == defaults.montants
    assert loaded.colonne_statut == "Statut relance"
    assert loaded.subdivision == ""


def test_values_are_read(tmp_path):
    settings = load_settings(write(tmp_path, """
[calendrier]
subdivision = "57"
[delais]
relance_1 = 3
intervalle_minimum = 0
[montants]
minimum = 50
taux_penalites = 15
[colonnes]
date_echeance = "Date limite"
[classeur]
feuille = "Export"
colonne_statut = "Relances"
[modeles]
dossier = "mes_modeles"
"""))
    assert settings.subdivision == "57"
    assert settings.delais.relance_1 == 3 and settings.delais.relance_2 == 10
    assert settings.montants.minimum == 50 and settings.montants.taux_penalites == 15
    assert settings.colonnes["date_echeance"] == "Date limite"
    assert settings.feuille == "Export" and settings.colonne_statut == "Relances"
    assert settings.modeles_dossier == tmp_path / "mes_modeles"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[delais]\nrelance_1 = 5\nrelance_3 = 4\n",
         "Clé inconnue relance.toml, ligne 3, [delais] relance_3"),
        ("[delais]\n\nrelance_2 = \"dix\"\n",
         "Valeur incorrecte relance.toml, ligne 3, [delais] relance_2"),
        ("[delais]\nrelance_2 = -1\n", "ligne 2"),
        ("[calendrier]\nsubdivision = \"99\"\n", "subdivision inconnue"),
        ("[montants]\nminimum = \"15 €\"\n", "un montant en euros est attendu"),
        ("[retards]\nx = 1\n", "Section inconnue relance.toml, ligne 1, [retards]"),
        ("[colonnes]\necheance = \"Date\"\n", "Champ inconnu"),
        ("[colonnes]\nechéance = \"Date\"\n", "sans accents"),
        ("[delais]\nrelance_1 = \n", "ligne 2"),
        ("[delais\nrelance_1 = 5\n", "syntaxe"),
        ("[montants]\nafficher_penalites = [\"relance_4\"]\n", "n'est pas un niveau"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_key_and_line(tmp_path, text, expected):
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert expected in err.value.message
    assert err.value.exit_code == 2


def test_missing_settings_file(tmp_path):
    with pytest.raises(SettingsError, match="introuvable"):
        load_settings(tmp_path / "absent.toml")


def test_cp1252_settings_file(tmp_path):
    path = tmp_path / "relance.toml"
    path.write_bytes('[societe]\nnom = "Société Générale"\n'.encode("cp1252"))
    assert load_settings(path).societe.nom == "Société Générale"


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e308"])
def test_infinite_or_absurd_amounts_are_refused_with_the_key_and_line(tmp_path, value):
    path = tmp_path / "relance.toml"
    path.write_text(f"[montants]\nminimum = {value}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.exit_code == 2
    assert "relance.toml, ligne 2, [montants] minimum" in err.value.message


def test_binary_or_deeply_nested_settings_are_a_french_usage_error(tmp_path):
    binary = tmp_path / "binaire.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SettingsError) as err:
        load_settings(binary)
    assert err.value.exit_code == 2 and "illisibles" in err.value.message
    nested = tmp_path / "imbrique.toml"
    nested.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(nested)
    assert err.value.exit_code == 2 and "illisibles" in err.value.message
