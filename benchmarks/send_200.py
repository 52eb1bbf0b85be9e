"""How long ``relance-xlsx envoyer`` takes for 200 messages against a local SMTP server.

A real run with --emails writes 200 letters and drafts (not timed), then ``envoyer --oui``
sends them through aiosmtpd on 127.0.0.1 (STARTTLS, login), rate limit off
(``par_minute = 0``). Target: under 20 s. Usage: python benchmarks/send_200.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

from conftest import HEADERS, invoice, run_cli, write_xlsx  # noqa: E402
from smtp_helpers import PASSWORD, SmtpServer  # noqa: E402


def main(count: int = 200) -> float:
    with tempfile.TemporaryDirectory() as tmp, SmtpServer(Path(tmp) / "tls") as server:
        folder = Path(tmp)
        os.chdir(folder)
        os.environ["SSL_CERT_FILE"] = str(server.cert)
        os.environ["RELANCE_SMTP_MOT_DE_PASSE"] = PASSWORD
        (folder / "relance.toml").write_text(
            '[societe]\nnom = "Cabinet Test"\nemail = "relances@cabinet-test.fr"\n\n'
            + server.settings_text(par_minute=0), encoding="utf-8")  # fmt: skip
        rows = [invoice(f"FA{i:05d}", date(2026, 9, 1), 500.0 + i, client=f"Client {i:03d}",
                        code=f"C{i:03d}") + [f"compta{i}@client{i}.fr"]
                for i in range(count)]  # fmt: skip
        export = write_xlsx(folder / "echeancier.xlsx", rows, [*HEADERS, "E-mail"])
        started = time.perf_counter()
        result = run_cli("run", export, "--date", "2026-11-23", "--emails")
        assert result.exit_code == 0, result.output
        print(f"run --emails ({count} courriers et brouillons) : "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        started = time.perf_counter()
        result = run_cli("envoyer", "--oui")
        elapsed = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        received = len(server.messages)
        assert received == count, (received, result.output[-2000:])
        print(f"envoyer : {received} e-mails reçus par le serveur en {elapsed:.1f} s "
              f"({received / elapsed:.0f} par seconde)")  # fmt: skip
        os.chdir(ROOT)
        return elapsed


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
