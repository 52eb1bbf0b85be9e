"""--pdf: letters converted by LibreOffice in one call, merged into one print batch."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter

from conftest import digest, run_cli
from relance_xlsx import printing

RUN = "2026-11-23"
BATCH = f"a_imprimer – {RUN}.pdf"

FAKE_SOFFICE = """#!{python}
import json, sys, time
from pathlib import Path
from pypdf import PdfWriter
args = sys.argv[1:]
Path({log!r}).write_text(json.dumps(args), encoding="utf-8")
if {sleep}:
    time.sleep({sleep})
out = Path(args[args.index("--outdir") + 1])
files = [a for a in args if a.endswith(".docx")]
for i, f in enumerate(files):
    if "casse" in f:
        continue
    w = PdfWriter()
    w.add_blank_page(width=300 + i, height=400)
    with open(out / (Path(f).stem + ".pdf"), "wb") as fh:
        w.write(fh)
    if "coupe" in f:  # what a full disk leaves: the start of a PDF
        target = out / (Path(f).stem + ".pdf")
        target.write_bytes(target.read_bytes()[:200])
"""


def fake_soffice(tmp_path: Path, sleep: float = 0) -> tuple[str, Path]:
    log = tmp_path / "soffice-args.json"
    script = tmp_path / "soffice"
    script.write_text(FAKE_SOFFICE.format(python=sys.executable, log=str(log), sleep=sleep),
                      encoding="utf-8")  # fmt: skip
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), log


def letters(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        p = folder / f"{n}.docx"
        p.write_bytes(b"PK docx")
        out.append(p)
    return out


def test_one_call_private_profile_and_merge_in_order(tmp_path, monkeypatch):
    soffice, log = fake_soffice(tmp_path)
    monkeypatch.setattr(printing, "find_soffice", lambda: soffice)
    run_dir = tmp_path / "Courriers été" / RUN
    files = letters(run_dir, ["Zèbre SA – Relance 1", "Alpha & Co – Relance 2", "Mi – Relance 1"])
    (run_dir / "Alpha & Co – Relance 2.pdf").write_bytes(b"stale")  # an earlier run's PDF
    result = printing.print_batch(files, run_dir, BATCH)
    args = json.loads(log.read_text(encoding="utf-8"))
    assert [a for a in args if a.endswith(".docx")] == [str(f) for f in files]  # one call
    assert "--headless" in args and args[args.index("--convert-to") + 1] == "pdf"
    assert args[args.index("--outdir") + 1] == str(run_dir)
    profile = next(a for a in args if a.startswith("-env:UserInstallation=file://"))
    assert not Path(profile.split("file://", 1)[1]).exists()  # private profile, removed
    assert result.warnings == ()
    assert result.pdfs == tuple(run_dir / (f.stem + ".pdf") for f in files)
    assert result.batch == run_dir / BATCH
    widths = [float(p.mediabox.width) for p in PdfReader(result.batch).pages]
    assert widths == [300, 301, 302]  # letter order kept


def test_a_letter_that_fails_to_convert_is_named(tmp_path, monkeypatch):
    soffice, _ = fake_soffice(tmp_path)
    monkeypatch.setattr(printing, "find_soffice", lambda: soffice)
    files = letters(tmp_path / "out", ["A – Relance 1", "B casse – Relance 1"])
    result = printing.print_batch(files, tmp_path / "out", BATCH)
    assert result.pdfs[1] is None and result.batch is not None
    assert len(PdfReader(result.batch).pages) == 1
    assert "1 courrier(s) non converti(s) en PDF : « B casse – Relance 1.docx »" in \
        result.warnings[0]  # fmt: skip


def test_a_pdf_cut_short_is_not_printed(tmp_path, monkeypatch, capfd):
    """A full disk leaves LibreOffice's PDF cut short: it broke the whole batch with pypdf's
    English (« Stream has ended unexpectedly »); now that letter is named, the batch holds
    the others, and the cut file is gone."""
    soffice, _ = fake_soffice(tmp_path)
    monkeypatch.setattr(printing, "find_soffice", lambda: soffice)
    files = letters(tmp_path / "out", ["A – Relance 1", "B coupe – Relance 1", "C – Relance 1"])
    result = printing.print_batch(files, tmp_path / "out", BATCH)
    assert result.pdfs[1] is None and result.batch is not None
    assert len(PdfReader(result.batch).pages) == 2
    assert not (tmp_path / "out" / "B coupe – Relance 1.pdf").exists()
    assert "1 courrier(s) non converti(s) en PDF : « B coupe – Relance 1.docx »" in \
        result.warnings[0]  # fmt: skip
    assert "disque plein" not in result.warnings[0]  # this disk has room: no false cause
    assert "EOF" not in capfd.readouterr().err


def test_libreoffice_that_hangs_is_stopped(tmp_path):
    soffice, _ = fake_soffice(tmp_path, sleep=30)
    files = letters(tmp_path / "out", ["A – Relance 1"])
    pdfs, warnings = printing.convert_to_pdf(files, tmp_path / "out", soffice, timeout=1)
    assert pdfs == [None]
    assert "n'a pas fini la conversion en PDF après 1 s" in warnings[0]


def test_long_lists_are_split_for_windows(tmp_path):
    files = [tmp_path / (("x" * 150) + f"{i}.docx") for i in range(400)]
    batches = printing._batches(files)
    assert len(batches) > 1 and [f for b in batches for f in b] == files
    assert all(sum(len(str(f)) + 3 for f in b) <= printing.MAX_COMMAND for b in batches)


def test_merge_replaces_atomically(tmp_path):
    pdfs = []
    for i in range(2):
        w = PdfWriter()
        w.add_blank_page(width=100 + i, height=100)
        p = tmp_path / f"{i}.pdf"
        with open(p, "wb") as fh:
            w.write(fh)
        pdfs.append(p)
    target = tmp_path / BATCH
    target.write_bytes(b"old")
    printing.merge_pdfs(pdfs, target)
    assert len(PdfReader(target).pages) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_without_libreoffice_the_run_goes_on(runner_cwd, monkeypatch):
    from make_sample import build

    monkeypatch.setattr(printing, "find_soffice", lambda: None)
    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    before = digest(export)
    result = run_cli("run", export, "--date", RUN, "--pdf")
    assert result.exit_code == 0, result.output
    assert "LibreOffice est introuvable" in result.output
    assert "https://fr.libreoffice.org/download/" in result.output
    assert "sudo apt install libreoffice-writer" in result.output
    run_dir = runner_cwd / "courriers" / RUN
    assert list(run_dir.glob("*.docx")) and not list(run_dir.glob("*.pdf"))
    assert digest(export) != before  # the status column was written all the same


@pytest.mark.skipif(printing.find_soffice() is None, reason="LibreOffice absent")
def test_real_print_batch_with_libreoffice(runner_cwd):
    """The demo with --pdf --emails: one PDF per letter, the batch in the report's order."""
    from make_sample import build

    export = runner_cwd / "echeancier_clients.xlsx"
    build().save(export)
    result = run_cli("run", export, "--date", RUN, "--pdf", "--emails")
    assert result.exit_code == 0, result.output
    run_dir = runner_cwd / "courriers" / RUN
    letters_docx = sorted(run_dir.glob("*.docx"))
    assert len(list(run_dir.glob("*.pdf"))) == len(letters_docx) + 1
    batch = PdfReader(run_dir / BATCH)
    ws = load_workbook(run_dir / f"rapport – {RUN}.xlsx")["Courriers"]
    header = [c.value for c in ws[1]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=len(letters_docx) + 1)]
    assert len(rows) == len(letters_docx)
    page = 0
    for row in rows:  # each letter starts on its own page, naming its client, report order
        client, file = row[header.index("Client")], row[header.index("Fichier")]
        assert client.split()[0] in batch.pages[page].extract_text(), (client, page)
        page += len(PdfReader(run_dir / Path(file).with_suffix(".pdf").name).pages)
    assert page == len(batch.pages)
    assert f"À imprimer, en une fois : {run_dir / BATCH}" in result.output
    # the e-mail drafts carry the PDF, not the editable letter
    import email
    from email import policy

    draft = email.message_from_bytes(next(run_dir.glob("*.eml")).read_bytes(),
                                     policy=policy.default)  # fmt: skip
    assert sorted(Path(a.get_filename()).suffix for a in draft.iter_attachments()) == [".pdf"]


def _blank_pdf(path: Path, width: float) -> Path:
    w = PdfWriter()
    w.add_blank_page(width=width, height=400)
    with open(path, "wb") as fh:
        w.write(fh)
    return path


def test_cancelled_letter_leaves_the_print_batch_with_its_invoice_copies(runner_cwd,
                                                                        monkeypatch):
    """Seen in a four-Monday trial: after `annuler`, « a_imprimer » still held the cancelled
    letter and its duplicata; printed as the README says, the letter was posted anyway."""
    from conftest import invoice, write_xlsx

    soffice, _ = fake_soffice(runner_cwd)
    monkeypatch.setattr(printing, "find_soffice", lambda: soffice)
    (runner_cwd / "relance.toml").write_text('[factures]\ndossier = "Factures"\n',
                                             encoding="utf-8")  # fmt: skip
    (runner_cwd / "Factures").mkdir()
    _blank_pdf(runner_cwd / "Factures" / "FA-1.pdf", 500)  # Alpha's duplicata
    rows = [invoice("FA1", "2026-09-01", 1000.0, client="Alpha", code="C1"),
            invoice("FA2", "2026-09-01", 400.0, client="Beta", code="C2"),
            invoice("FA3", "2026-09-01", 300.0, client="Gamma", code="C3")]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows)
    assert run_cli("run", export, "--date", RUN, "--pdf").exit_code == 0
    day_dir = runner_cwd / "courriers" / RUN
    widths = [float(p.mediabox.width) for p in PdfReader(day_dir / BATCH).pages]
    assert widths == [300, 500, 301, 302]  # Alpha, its duplicata, Beta, Gamma

    result = run_cli("annuler", RUN, "--client", "Alpha")
    assert result.exit_code == 0, result.output
    assert f"Retiré(s) du PDF à imprimer, avec leurs duplicata : « {BATCH} »" in result.output
    batch = PdfReader(day_dir / BATCH)
    assert [float(p.mediabox.width) for p in batch.pages] == [301, 302]
    assert [o.title for o in batch.outline] == [f"Beta – Relance 1 – {RUN}",
                                                f"Gamma – Relance 1 – {RUN}"]  # fmt: skip

    # the last letters cancelled: the empty batch goes aside with them
    result = run_cli("annuler", RUN)
    assert result.exit_code == 0, result.output
    assert not (day_dir / BATCH).exists() and (day_dir / "annulés" / BATCH).exists()
    assert "ne contenait que des courriers annulés" in result.output


def test_a_same_day_rerun_takes_the_replaced_letters_pdf_draft_and_batch_away(runner_cwd,
                                                                             monkeypatch):
    """Seen in a four-Monday trial: Monday re-run after a client paid (its row at 0), without
    --pdf: its letter was gone, but its PDF, its e-mail draft and « a_imprimer » with its
    letter inside stayed beside the new letters, ready to be printed and sent."""
    from conftest import HEADERS, invoice, write_xlsx

    soffice, _ = fake_soffice(runner_cwd)
    monkeypatch.setattr(printing, "find_soffice", lambda: soffice)
    headers = [*HEADERS, "E-mail"]
    rows = [[*invoice("FA1", "2026-09-01", 1000.0, client="Alpha", code="C1"), "a@alpha.fr"],
            [*invoice("FA2", "2026-09-01", 400.0, client="Beta", code="C2"), "b@beta.fr"]]
    assert run_cli("run", write_xlsx(runner_cwd / "e.xlsx", rows, headers), "--date", RUN,
                   "--pdf", "--emails").exit_code == 0  # fmt: skip
    day_dir = runner_cwd / "courriers" / RUN
    alpha, beta = f"Alpha – Relance 1 – {RUN}", f"Beta – Relance 1 – {RUN}"
    assert {p.name for p in day_dir.iterdir()} >= {
        f"{alpha}.docx", f"{alpha}.pdf", f"{alpha}.eml", f"{beta}.pdf", f"{beta}.eml", BATCH}

    rows[0][6:8] = [1000.0, 0.0]  # Alpha paid: the same Monday run again, no --pdf
    result = run_cli("run", write_xlsx(runner_cwd / "e.xlsx", rows, headers), "--date", RUN)
    assert result.exit_code == 0, result.output
    names = {p.name for p in day_dir.iterdir()}
    assert not {f"{alpha}.docx", f"{alpha}.pdf", f"{alpha}.eml", BATCH} & names
    assert f"{beta}.docx" in names
    assert f"{beta}.pdf" not in names  # of the replaced run: --pdf writes it again
    assert (f"Cette exécution remplace celle du même jour : 1 courrier(s) qu'elle avait "
            f"produit(s) ne sont plus à envoyer et ont été retirés (« {alpha} »)"
            in " ".join(result.output.split()))  # fmt: skip

    result = run_cli("run", write_xlsx(runner_cwd / "e.xlsx", rows, headers), "--date", RUN,
                     "--pdf")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [o.title for o in PdfReader(day_dir / BATCH).outline] == [beta]
