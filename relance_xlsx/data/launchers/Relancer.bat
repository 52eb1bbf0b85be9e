@echo off
chcp 65001 >nul
setlocal
REM Lanceur relance-xlsx (Windows) : double-cliquez sur ce fichier.
REM Il traite chaque export déposé dans « a_traiter » avec les réglages (relance.toml) et
REM les modèles (dossier « modeles ») de ce dossier, puis affiche un résumé.
REM Créé par « relance-xlsx init » (version @VERSION@). Mêmes étapes, numérotées pareil, que
REM Relancer.bat (Windows), relancer.command (macOS) et relancer.sh (Linux).

REM Options ajoutées à chaque lancement (exemple : set "OPTIONS=--pdf --emails") :
REM   --pdf     un PDF de tous les courriers à imprimer en une fois (LibreOffice nécessaire)
REM   --emails  un brouillon d'e-mail (.eml) par courrier, pour les clients avec une adresse
set "OPTIONS="
REM Envoyer ensuite les e-mails du jour par votre messagerie (section [email] de relance.toml) :
REM set "ENVOYER=1". Un récapitulatif s'affiche ; le mot de passe est demandé la première fois.
set "ENVOYER=0"
REM D'où installer relance-xlsx au premier lancement (dossier, fichier .whl ou nom du paquet).
set "SOURCE=@SOURCE@"
set "STATUS=1"

REM 1. Se placer dans le dossier du lanceur
REM (pushd plutôt que cd /d : il marche aussi sur un partage réseau \\serveur\dossier)
pushd "%~dp0"
if errorlevel 1 (
  echo Dossier du lanceur introuvable.
  goto finish
)

REM 2. Trouver Python 3.11 ou plus récent
set "PYTHON="
py -3 -c "import sys; sys.exit(sys.version_info < (3, 11))" >nul 2>&1
if not errorlevel 1 set "PYTHON=py -3"
if defined PYTHON goto venv
python -c "import sys; sys.exit(sys.version_info < (3, 11))" >nul 2>&1
if not errorlevel 1 set "PYTHON=python"
if defined PYTHON goto venv
echo Python 3.11 ou plus récent est introuvable sur cet ordinateur.
echo Installez-le depuis https://www.python.org/downloads/ puis relancez.
echo Pendant l'installation, cochez « Add python.exe to PATH ».
goto finish

:venv
REM 3. Préparer l'environnement « .venv » (au premier lancement seulement)
set "VENV_PYTHON=.venv\Scripts\python.exe"
"%VENV_PYTHON%" -m relance_xlsx.cli --version >nul 2>&1
if not errorlevel 1 goto process
echo Premier lancement : installation de relance-xlsx dans le dossier « .venv ».
echo Cela prend quelques minutes et demande une connexion Internet ; ne fermez pas cette fenêtre.
if exist "%VENV_PYTHON%" goto install
%PYTHON% -m venv --system-site-packages .venv
if not errorlevel 1 goto install
echo Impossible de créer l'environnement « .venv ».
goto finish

:install
"%VENV_PYTHON%" -m pip install --disable-pip-version-check "%SOURCE%"
if not errorlevel 1 goto process
echo Installation de relance-xlsx impossible (voir le message ci-dessus).
echo Vérifiez la connexion Internet, puis relancez. Source : "%SOURCE%"
goto finish

:process
REM 4. Traiter les exports déposés dans « a_traiter »
if not exist "a_traiter" mkdir "a_traiter"
if "%ENVOYER%"=="1" set "OPTIONS=%OPTIONS% --emails"
"%VENV_PYTHON%" -m relance_xlsx.cli run a_traiter --config relance.toml %OPTIONS% %*
set "STATUS=%ERRORLEVEL%"
if not "%STATUS%"=="0" goto report
if not "%ENVOYER%"=="1" goto report
echo.
REM La date du jour, AAAA-MM-JJ, quelle que soit la langue de Windows (VENV_PYTHON : sans espace)
for /f %%D in ('%VENV_PYTHON% -c "import datetime; print(datetime.date.today())"') do set "TODAY=%%D"
"%VENV_PYTHON%" -m relance_xlsx.cli envoyer %TODAY% --config relance.toml --oui
set "STATUS=%ERRORLEVEL%"

:report

REM 5. Dire comment cela s'est passé
echo.
if "%STATUS%"=="0" (
  echo Terminé. Courriers et rapport : dossier « courriers », à la date du jour.
) else (
  echo Terminé avec des erreurs : lisez les messages ci-dessus.
)

:finish
REM Garder la fenêtre ouverte pour lire le résumé.
echo.
pause
exit /b %STATUS%
