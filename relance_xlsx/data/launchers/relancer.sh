#!/usr/bin/env bash
# Lanceur relance-xlsx (@SYSTEM@) : double-cliquez sur ce fichier (ou : bash relancer.sh).
# Il traite chaque export déposé dans « a_traiter » avec les réglages (relance.toml) et
# les modèles (dossier « modeles ») de ce dossier, puis affiche un résumé.
# Créé par « relance-xlsx init » (version @VERSION@). Mêmes étapes, numérotées pareil, que
# Relancer.bat (Windows), relancer.command (macOS) et relancer.sh (Linux).

# Options ajoutées à chaque lancement (exemple : OPTIONS="--pdf --emails") :
#   --pdf     un PDF de tous les courriers à imprimer en une fois (LibreOffice nécessaire)
#   --emails  un brouillon d'e-mail (.eml) par courrier, pour les clients avec une adresse
OPTIONS=""
# Envoyer ensuite les e-mails du jour par votre messagerie (section [email] de relance.toml) :
# ENVOYER="1". Un récapitulatif s'affiche ; le mot de passe est demandé la première fois.
ENVOYER="0"
# D'où installer relance-xlsx au premier lancement (dossier, fichier .whl ou nom du paquet).
SOURCE=@SOURCE@
ALWAYS_PAUSE=@ALWAYS_PAUSE@

finish() {
  # Garder la fenêtre ouverte pour lire le résumé (sauf sans clavier, ex. tâche planifiée).
  if [ "$ALWAYS_PAUSE" = "1" ] || { [ -t 0 ] && [ -t 1 ]; }; then
    echo
    read -r -n 1 -s -p "Appuyez sur une touche pour fermer…" || true
    echo
  fi
  exit "$1"
}

# 1. Se placer dans le dossier du lanceur
cd "$(dirname "$0")" || { echo "Dossier du lanceur introuvable."; finish 1; }

# 2. Trouver Python 3.11 ou plus récent
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11 python; do
  if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    PYTHON="$candidate"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  echo "Python 3.11 ou plus récent est introuvable sur cet ordinateur."
  echo "Installez-le depuis https://www.python.org/downloads/ puis relancez."
  finish 1
fi

# 3. Préparer l'environnement « .venv » (au premier lancement seulement)
VENV_PYTHON=".venv/bin/python"
if ! "$VENV_PYTHON" -m relance_xlsx.cli --version >/dev/null 2>&1; then
  echo "Premier lancement : installation de relance-xlsx dans le dossier « .venv »."
  echo "Cela prend quelques minutes et demande une connexion Internet ; ne fermez pas cette fenêtre."
  if [ ! -x "$VENV_PYTHON" ]; then
    if ! "$PYTHON" -m venv --system-site-packages .venv; then
      echo "Impossible de créer l'environnement « .venv »."
      echo "Sous Debian ou Ubuntu : sudo apt install python3-venv, puis relancez."
      finish 1
    fi
  fi
  if ! "$VENV_PYTHON" -m pip install --disable-pip-version-check "$SOURCE"; then
    echo "Installation de relance-xlsx impossible (voir le message ci-dessus)."
    echo "Vérifiez la connexion Internet, puis relancez. Source : \"$SOURCE\""
    finish 1
  fi
fi

# 4. Traiter les exports déposés dans « a_traiter »
mkdir -p a_traiter
if [ "$ENVOYER" = "1" ]; then OPTIONS="$OPTIONS --emails"; fi
# shellcheck disable=SC2086 # OPTIONS holds several words on purpose
"$VENV_PYTHON" -m relance_xlsx.cli run a_traiter --config relance.toml $OPTIONS "$@"
STATUS=$?
if [ "$STATUS" -eq 0 ] && [ "$ENVOYER" = "1" ]; then
  echo
  "$VENV_PYTHON" -m relance_xlsx.cli envoyer "$(date +%F)" --config relance.toml --oui
  STATUS=$?
fi

# 5. Dire comment cela s'est passé
echo
if [ "$STATUS" -eq 0 ]; then
  echo "Terminé. Courriers et rapport : dossier « courriers », à la date du jour."
else
  echo "Terminé avec des erreurs : lisez les messages ci-dessus."
fi
finish "$STATUS"
