"""A real SMTP server on 127.0.0.1 for the sending tests and the benchmark: aiosmtpd with
STARTTLS on a self-signed certificate made here, a login, and faults on request."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "compta@cabinet-test.fr"
PASSWORD = "Zq7!pT-mot2passe-Secret"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


@dataclass
class Faults:
    """What the server does wrong, on request."""

    refuse: set[str] = field(default_factory=set)  # RCPT 550 for these addresses
    slow: set[str] = field(default_factory=set)  # RCPT answered after ``slow_seconds``
    slow_seconds: float = 3.0
    drop_after: int | None = None  # close the connection at the MAIL after N messages
    hold_at: int | None = None  # keep the N-th message without ever answering its DATA


class Recorder:
    """The handler: keeps every message it accepted; applies the faults."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.faults = Faults()
        self.logins: list[bytes] = []
        self.held = threading.Event()
        self._dropped = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001
        f = self.faults
        if f.drop_after is not None and len(self.messages) >= f.drop_after and not self._dropped:
            self._dropped = True
            server.transport.close()
            return "421 4.3.0 Connexion fermée"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        if address in self.faults.refuse:
            return "550 5.1.1 Destinataire inconnu"
        if address in self.faults.slow:
            await asyncio.sleep(self.faults.slow_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))  # fmt: skip
        if self.faults.hold_at == len(self.messages):
            self.held.set()
            await asyncio.sleep(120)  # the client is killed meanwhile
        return "250 2.0.0 Message accepté"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())  # fmt: skip
        self.logins.append(auth_data.login if isinstance(auth_data, LoginPassword) else b"")
        return AuthResult(success=ok, handled=False)  # False: answer 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS required before AUTH and before MAIL."""

    def __init__(self, folder: Path, implicit_tls: bool = False) -> None:
        self.cert, self.key = make_certificate(folder)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, self.key)
        self.handler = Recorder()
        self.port = free_port()
        self.implicit_tls = implicit_tls
        if implicit_tls:  # "ssl" (port 465): TLS from the first byte
            tls_options: dict[str, object] = {"ssl_context": tls, "auth_require_tls": False}
        else:  # "starttls" (port 587): STARTTLS required before AUTH and MAIL
            tls_options = {"tls_context": tls, "require_starttls": True,
                           "auth_require_tls": True}  # fmt: skip
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port,
            authenticator=self.handler.authenticate, auth_required=True,
            server_hostname="localhost", **tls_options,
        )  # fmt: skip

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def faults(self) -> Faults:
        return self.handler.faults

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def settings_text(self, **overrides: object) -> str:
        """The [email] section that points at this server."""
        values: dict[str, object] = {"serveur": "127.0.0.1", "port": self.port,
                                     "securite": "ssl" if self.implicit_tls else "starttls",
                                     "utilisateur": USER,
                                     "par_minute": 0, "delai_reponse": 5}  # fmt: skip
        values.update(overrides)
        lines = ["[email]"]
        for k, v in values.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
        return "\n".join(lines) + "\n"
