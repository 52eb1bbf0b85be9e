"""``relance-xlsx envoyer`` against a real SMTP server on 127.0.0.1 (STARTTLS, login).

Every test makes a real run with --emails first, then sends its drafts; the messages are
checked as the server received them. Faults are real: a refused address, a slow server, a
dropped connection, a wrong password, an unknown certificate, a process killed mid-batch.
"""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import HEADERS, ROOT, invoice, run_cli, write_xlsx

aiosmtpd = pytest.importorskip("aiosmtpd")
pytest.importorskip("cryptography")

from smtp_helpers import PASSWORD, SmtpServer  # noqa: E402

RUN = "2026-11-23"
CLIENTS = [
    ("C001", "Alpha SARL", "compta@alpha.fr"),
    ("C002", "Bêta & Fils", "factures@beta.fr"),
    ("C003", "Gamma SAS", "gamma@gamma.fr"),
    ("C004", "Delta Études", "delta@delta.fr"),
    ("C005", "Epsilon", ""),  # no address: the letter is posted
]
WITH_ADDRESS = [c for c in CLIENTS if c[2]]
SENDER = "relances@cabinet-test.fr"
COPY = "archives@cabinet-test.fr"


@pytest.fixture(autouse=True)
def no_system_keyring(monkeypatch):
    """Never the developer's real credential store: keyring's failing backend."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def server(tmp_path, monkeypatch):
    with SmtpServer(tmp_path / "tls") as srv:
        monkeypatch.setenv("SSL_CERT_FILE", str(srv.cert))  # trust the test certificate
        monkeypatch.setenv("RELANCE_SMTP_MOT_DE_PASSE", PASSWORD)
        yield srv


def settings(folder: Path, server: SmtpServer, **email: object) -> Path:
    path = folder / "relance.toml"
    path.write_text(
        '[societe]\nnom = "Cabinet Test"\nemail = "contact@cabinet-test.fr"\n'
        'signataire = "Claire Martin"\n\n'
        + server.settings_text(expediteur=SENDER, copie_a=COPY, **email),
        encoding="utf-8",
    )
    return path


def make_run(folder: Path, server: SmtpServer, clients=CLIENTS, **email: object) -> Path:
    """A real run with --emails: one letter (and one draft when an address) per client."""
    settings(folder, server, **email)
    rows = [invoice(f"FA{i:04d}", date(2026, 9, 1), 1200.0 + i, client=name, code=code)
            + [address] for i, (code, name, address) in enumerate(clients)]  # fmt: skip
    export = write_xlsx(folder / "echeancier.xlsx", rows, [*HEADERS, "E-mail"])
    result = run_cli("run", export, "--date", RUN, "--emails")
    assert result.exit_code == 0, result.output
    run_dir = folder / "courriers" / RUN
    assert len(list(run_dir.glob("*.eml"))) == sum(1 for c in clients if c[2])
    return run_dir


def received_by(server: SmtpServer) -> dict[str, int]:
    """Client address -> number of messages the server received for it."""
    counts: dict[str, int] = {}
    for m in server.messages:
        for address in m.rcpt_tos:
            if address != COPY:
                counts[address] = counts.get(address, 0) + 1
    return counts


def journal_rows(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "journal_relances.sqlite") as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'envois_email'").fetchone():
            return []
        return con.execute("SELECT client, etat, message_id, raison FROM envois_email "
                           "ORDER BY id").fetchall()  # fmt: skip


def post_list(run_dir: Path) -> dict[str, list[list]]:
    wb = load_workbook(run_dir / f"a_poster – {RUN}.xlsx")
    return {ws.title: [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
            for ws in wb.worksheets}  # fmt: skip


def test_each_client_receives_its_letter_once_as_drafted(runner_cwd, server):
    run_dir = make_run(runner_cwd, server)
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "E-mails des courriers du 23/11/2026" in out  # the latest run, by default
    assert f"expéditeur : Cabinet Test <{SENDER}>" in out
    assert f"127.0.0.1:{server.port} (STARTTLS)" in out
    assert f"copie cachée de chaque message à : {COPY}" in out
    assert "À envoyer : 4 e-mail(s)" in out
    assert "Bêta & Fils → factures@beta.fr" in out and "pièces jointes : " in out
    assert "à poster : 1 (Epsilon)" in out
    assert "E-mails : 4 envoyé(s)" in out

    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS}
    ids = {row[2] for row in journal_rows(runner_cwd) if row[1] == "envoye"}
    assert len(ids) == 4
    for m in server.messages:
        msg = m.message
        assert m.mail_from == SENDER and COPY in m.rcpt_tos  # the hidden copy: envelope only
        assert COPY not in str(msg) and "X-Unsent" not in msg and "Bcc" not in msg
        assert msg["From"].addresses[0].addr_spec == SENDER
        assert msg["Message-ID"] in ids and msg["Date"]
        (to,) = msg["To"].addresses
        code, name, address = next(c for c in WITH_ADDRESS if c[2] == to.addr_spec)
        assert to.display_name == name
        assert msg["Subject"].startswith("Rappel de paiement – facture n° FA")
        assert msg["Subject"].endswith("Cabinet Test")
        text = msg.get_body(("plain",)).get_content()
        assert "Sauf erreur de notre part" in text and "Claire Martin" in text
        (attachment,) = list(msg.iter_attachments())
        docx = run_dir / attachment.get_filename()
        assert docx.suffix == ".docx" and name.split()[0] in docx.name
        assert attachment.get_content() == docx.read_bytes()  # byte-identical

    sheets = post_list(run_dir)
    assert [r[0] for r in sheets["À poster"]] == ["Epsilon"]
    states = {r[0]: r[2] for r in sheets["E-mails"]}
    assert states == {**{c[1]: "envoyé" for c in WITH_ADDRESS}, "Epsilon": "pas d'adresse e-mail"}

    again = run_cli("envoyer", RUN, "--oui")  # sends only what was not sent: nothing
    assert again.exit_code == 0, again.output
    assert "À envoyer : 0 e-mail(s)" in again.output
    assert "Déjà envoyés, pas renvoyés : 4" in again.output
    assert len(server.messages) == 4


def test_a_letter_edited_after_the_run_is_sent_as_it_is_now(runner_cwd, server):
    run_dir = make_run(runner_cwd, server, clients=CLIENTS[:1])
    docx = next(run_dir.glob("*.docx"))
    docx.write_bytes(docx.read_bytes() + b"\0")  # edited in Word since
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert "modifié depuis l'exécution" in result.output
    (attachment,) = list(server.messages[0].message.iter_attachments())
    assert attachment.get_content() == docx.read_bytes()


def test_nothing_is_sent_without_confirmation(runner_cwd, server):
    make_run(runner_cwd, server)
    no = run_cli_input("envoyer", input="n\n")
    assert no.exit_code == 0, no.output
    assert "Envoyer ces 4 e-mail(s) ? (o/n)" in no.output and "Rien n'a été envoyé." in no.output
    assert server.messages == [] and journal_rows(runner_cwd) == []
    yes = run_cli_input("envoyer", input="oui\n")
    assert yes.exit_code == 0, yes.output
    assert len(server.messages) == 4


def run_cli_input(*args: object, input: str):
    from click.testing import CliRunner

    from relance_xlsx.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def test_a_refused_address_is_named_and_goes_to_the_post_list(runner_cwd, server):
    run_dir = make_run(runner_cwd, server)
    server.faults.refuse = {"factures@beta.fr"}
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert ("REFUSÉ    Bêta & Fils : adresse refusée par le serveur : factures@beta.fr "
            "(550 5.1.1 Destinataire inconnu). Courrier à poster.") in result.output
    assert "3 envoyé(s), 1 refusé(s), courrier à poster" in result.output
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS if c[0] != "C002"}
    sheets = post_list(run_dir)
    assert sorted(r[0] for r in sheets["À poster"]) == ["Bêta & Fils", "Epsilon"]
    assert "550 5.1.1" in next(r[2] for r in sheets["À poster"] if r[0] == "Bêta & Fils")
    # the follow-up workbook says it too, and the next run keeps saying it
    last = follow_up_last_letters(runner_cwd)
    assert last["C001"] == "23/11/2026 – e-mail envoyé"
    assert last["C002"] == "23/11/2026 – e-mail refusé : courrier à poster"
    assert last["C005"] == "23/11/2026"
    again = run_cli("run", runner_cwd / "echeancier.xlsx", "--date", "2026-11-24")
    assert again.exit_code == 0, again.output
    assert follow_up_last_letters(runner_cwd)["C001"] == "23/11/2026 – e-mail envoyé"


def follow_up_last_letters(folder: Path) -> dict[str, str]:
    from openpyxl import load_workbook

    rows = list(load_workbook(folder / "suivi_relances.xlsx")["Clients"].iter_rows(
        values_only=True))  # fmt: skip
    col = rows[0].index("Dernier courrier")
    return {r[0]: r[col] for r in rows[1:]}


def test_a_server_that_does_not_answer_is_a_timeout_for_that_client(runner_cwd, server):
    make_run(runner_cwd, server, delai_reponse=1)
    server.faults.slow = {"gamma@gamma.fr"}
    server.faults.slow_seconds = 3
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert ("REFUSÉ    Gamma SAS : le serveur ne répond pas (plus de 1 s d'attente)"
            in result.output)  # fmt: skip
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS if c[0] != "C003"}


def test_a_wrong_password_stops_everything_before_the_first_message(runner_cwd, server,
                                                                   monkeypatch):  # fmt: skip
    run_dir = make_run(runner_cwd, server)
    monkeypatch.setenv("RELANCE_SMTP_MOT_DE_PASSE", "mauvais-mot-de-passe")
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 1, result.output
    assert "envoi arrêté dès le premier message (Alpha SARL) : identifiant ou mot de passe " \
           "refusé par le serveur 127.0.0.1" in result.output
    assert "mauvais-mot-de-passe" not in result.output
    assert server.messages == [] and journal_rows(runner_cwd) == []
    assert "4 non envoyé(s)" in result.output
    assert [r[0] for r in post_list(run_dir)["À poster"]] == ["Epsilon"]
    monkeypatch.setenv("RELANCE_SMTP_MOT_DE_PASSE", PASSWORD)  # fixed: all go
    assert run_cli("envoyer", "--oui").exit_code == 0
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS}


def test_an_unknown_certificate_is_a_tls_failure(runner_cwd, server, monkeypatch):
    make_run(runner_cwd, server, clients=CLIENTS[:2])
    monkeypatch.delenv("SSL_CERT_FILE")  # the self-signed certificate is not trusted
    result = run_cli("envoyer", "--oui")
    assert "REFUSÉ    Alpha SARL : connexion chiffrée (TLS) impossible : le certificat du " \
           "serveur 127.0.0.1 n'est pas reconnu" in result.output
    assert "REFUSÉ    Bêta & Fils : connexion chiffrée (TLS)" in result.output
    assert server.messages == []
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # refused ones go on the next run
    assert run_cli("envoyer", "--oui").exit_code == 0
    assert received_by(server) == {"compta@alpha.fr": 1, "factures@beta.fr": 1}


def test_a_connection_dropped_after_the_third_message(runner_cwd, server):
    make_run(runner_cwd, server)
    server.faults.drop_after = 3
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS}
    assert "E-mails : 4 envoyé(s)" in result.output


def _subprocess(folder: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "relance_xlsx.cli", "envoyer", *args],
                            cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip


def _wait(condition, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timeout"
        time.sleep(0.02)


def test_killed_after_the_second_message_then_run_again(runner_cwd, server):
    make_run(runner_cwd, server, par_minute=30)  # 2 s between messages
    proc = _subprocess(runner_cwd, "--oui")
    _wait(lambda: len(server.messages) >= 2)
    time.sleep(0.3)  # its acceptance recorded, waiting for the next slot
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(server.messages) == 2
    settings(runner_cwd, server)  # no rate limit for the rest
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert "Déjà envoyés, pas renvoyés : 2" in result.output
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS}


def test_killed_while_the_server_holds_a_message_is_unknown(runner_cwd, server):
    """Handed over, never confirmed: listed, not resent unless --renvoyer."""
    make_run(runner_cwd, server)
    server.faults.hold_at = 2
    proc = _subprocess(runner_cwd, "--oui")
    assert server.handler.held.wait(30)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.faults.hold_at = None
    held = server.messages[1].message
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 0, result.output
    assert "Résultat inconnu (l'envoi a été interrompu) : 1, pas renvoyés sans --renvoyer" \
           in result.output
    assert "  - Bêta & Fils (remis au serveur le " in result.output
    assert received_by(server) == {c[2]: 1 for c in WITH_ADDRESS}  # exactly one each
    states = {r[0]: r[2] for r in post_list(runner_cwd / "courriers" / RUN)["E-mails"]}
    assert states["Bêta & Fils"] == "résultat inconnu"

    again = run_cli("envoyer", "--oui", "--renvoyer")  # the accountant checked: not there
    assert again.exit_code == 0, again.output
    assert "Bêta & Fils [RENVOI] → factures@beta.fr" in again.output
    resent = server.messages[-1].message
    assert resent["Message-ID"] == held["Message-ID"]  # the same message, for the recipient
    assert received_by(server)["factures@beta.fr"] == 2


def test_the_password_is_never_written_anywhere(runner_cwd, server, monkeypatch):
    make_run(runner_cwd, server)
    server.faults.refuse = {"factures@beta.fr"}
    outputs = [run_cli("envoyer", "--oui", "--debug").output]
    wrong = "Faux-Mot-De-Passe-913"
    monkeypatch.setenv("RELANCE_SMTP_MOT_DE_PASSE", wrong)
    outputs.append(run_cli("envoyer", RUN, "--oui", "--debug").output)
    secrets = []
    for word in (PASSWORD, wrong):
        secrets += [word.encode(), base64.b64encode(word.encode()),
                    base64.b64encode(f"\0{server.handler.logins[0].decode()}\0{word}".encode())]
    for path in runner_cwd.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
    for text in outputs:
        assert not any(s.decode() in text for s in secrets)
    assert "mot de passe" not in (runner_cwd / "relance.toml").read_text(encoding="utf-8")


def test_the_password_is_asked_once_and_kept_in_the_store(runner_cwd, server, monkeypatch):
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1
        store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):  # noqa: ANN001
            return self.store.get((service, username))

        def set_password(self, service, username, password):  # noqa: ANN001
            self.store[(service, username)] = password

        def delete_password(self, service, username):  # noqa: ANN001
            self.store.pop((service, username), None)

    keyring.set_keyring(Memory())
    monkeypatch.delenv("RELANCE_SMTP_MOT_DE_PASSE")
    monkeypatch.setattr("relance_xlsx.cli._interactive", lambda: True)
    make_run(runner_cwd, server, clients=CLIENTS[:1])
    result = run_cli_input("envoyer", "--oui", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Mot de passe de la messagerie pour compta@cabinet-test.fr" in result.output
    assert PASSWORD not in result.output  # typed hidden
    assert list(Memory.store.values()) == [PASSWORD]
    assert len(server.messages) == 1

    key = next(iter(Memory.store))
    Memory.store[key] = "ancien-mot-de-passe"  # changed on the server since: refused
    make_run(runner_cwd, server, clients=CLIENTS[:2])
    refused = run_cli("envoyer", "--oui")
    assert refused.exit_code == 1 and "mot de passe refusé" in refused.output
    assert Memory.store == {}  # forgotten: asked again next time


def test_without_a_store_or_a_keyboard_the_error_says_what_to_do(runner_cwd, server,
                                                                 monkeypatch):  # fmt: skip
    make_run(runner_cwd, server, clients=CLIENTS[:1])
    monkeypatch.delenv("RELANCE_SMTP_MOT_DE_PASSE")
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 1
    assert "RELANCE_SMTP_MOT_DE_PASSE" in result.output and server.messages == []


def test_settings_without_a_server_are_refused_before_anything(runner_cwd, server):
    make_run(runner_cwd, server, clients=CLIENTS[:1])
    (runner_cwd / "relance.toml").write_text('[societe]\nemail = "a@b.fr"\n', encoding="utf-8")
    result = run_cli("envoyer", "--oui")
    assert result.exit_code == 2
    assert "Aucun serveur d'envoi dans les réglages (relance.toml)" in result.output


def test_the_launchers_have_an_envoyer_line_off_by_default(runner_cwd):
    folder = runner_cwd / "d"
    assert run_cli("init", folder).exit_code == 0
    sh = (folder / "relancer.sh").read_text(encoding="utf-8")
    bat = (folder / "Relancer.bat").read_bytes().decode("utf-8")
    assert 'ENVOYER="0"' in sh and 'set "ENVOYER=0"' in bat
    assert 'envoyer "$(date +%F)" --config relance.toml --oui' in sh
    assert "envoyer %TODAY% --config relance.toml --oui" in bat
    text = (folder / "relance.toml").read_text(encoding="utf-8")
    assert "[email]" in text and "par_minute = 20" in text
    assert "RELANCE_SMTP_MOT_DE_PASSE" in text


def test_ssl_mode_defaults_to_port_465(tmp_path):
    from relance_xlsx.config import load_settings

    path = tmp_path / "relance.toml"
    path.write_text('[email]\nserveur = "smtp.exemple.fr"\nsecurite = "ssl"\n', encoding="utf-8")
    assert load_settings(path).email.port == 465
    path.write_text('[email]\nsecurite = "clair"\n', encoding="utf-8")
    from relance_xlsx.errors import SettingsError

    with pytest.raises(SettingsError, match=r'\[email\] securite : "starttls" ou "ssl"'):
        load_settings(path)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS is implicit
def test_ssl_mode_sends_over_implicit_tls(runner_cwd, tmp_path, monkeypatch):
    with SmtpServer(tmp_path / "tls465", implicit_tls=True) as srv:
        monkeypatch.setenv("SSL_CERT_FILE", str(srv.cert))
        monkeypatch.setenv("RELANCE_SMTP_MOT_DE_PASSE", PASSWORD)
        make_run(runner_cwd, srv, clients=CLIENTS[:2])
        result = run_cli("envoyer", "--oui")
        assert result.exit_code == 0, result.output
        assert f"127.0.0.1:{srv.port} (SSL)" in result.output
        assert received_by(srv) == {"compta@alpha.fr": 1, "factures@beta.fr": 1}
