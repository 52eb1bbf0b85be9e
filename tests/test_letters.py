"""Letters: default templates render, Word-edited templates work, broken ones are explained."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import docx
import pytest

from conftest import all_text, priced
from relance_xlsx import letters as L
from relance_xlsx.config import Settings, Societe
from relance_xlsx.errors import TemplateError
from relance_xlsx.model import LetterLine, PlannedLetter

NBSP = "\u00a0"
SETTINGS = Settings(societe=L.SAMPLE_SOCIETE)




def letter(tier: int = 1, **changes) -> PlannedLetter:  # noqa: ANN003
    return dataclasses.replace(L.sample_letter(tier), **changes)


def render(letters: list[PlannedLetter], settings: Settings, out: Path) -> L.RenderResult:
    """Price the letters (stage 5), then render them."""
    return L.render_letters(priced(letters, settings), settings, out)


def user_settings(folder: Path, **societe) -> Settings:  # noqa: ANN003
    return Settings(societe=dataclasses.replace(L.SAMPLE_SOCIETE, **societe),
                    modeles_dossier=folder)


def write_template(folder: Path, name: str, paragraphs: list, table_rows: list | None = None,
                   ) -> Path:
    """A small template made like Word makes them: each paragraph is a list of runs,
    a run being text or ("b", text) for bold. ``table_rows``: rows of cell texts."""
    folder.mkdir(parents=True, exist_ok=True)
    document = docx.Document()
    for runs in paragraphs:
        p = document.add_paragraph()
        for run in runs:
            if isinstance(run, tuple):
                p.add_run(run[1]).bold = True
            else:
                p.add_run(run)
    if table_rows:
        table = document.add_table(rows=0, cols=len(table_rows[0]))
        for cells in table_rows:
            row = table.add_row()
            for cell, text in zip(row.cells, cells, strict=True):
                cell.paragraphs[0].add_run(text)
    path = folder / name
    document.save(str(path))
    return path


INVOICE_ROWS = [
    ["N°", "Reste dû"],
    ["{%tr for f in factures %}", ""],
    ["{{ f.numero }}", "{{ f.reste_du }}"],
    ["{%tr endfor %}", ""],
]


# --- default templates ---------------------------------------------------------------------


def test_default_templates_are_clean() -> None:
    assert L.check_templates(None) == []


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_each_default_template_renders(tmp_path: Path, tier: int) -> None:
    result = render([letter(tier)], SETTINGS, tmp_path)
    (path,) = result.files
    assert path.parent == tmp_path and path.suffix == ".docx"
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    text = all_text(path)
    assert "Dupont & Fils <SAS>" in text  # autoescape: printed as is
    for number in ("F2026-001", "F2026-014", "AV2026-003"):
        assert number in text
    assert f"3{NBSP}450,00{NBSP}€" in text
    assert f"1{NBSP}000,00{NBSP}€" in text  # the partly paid invoice
    assert "{{" not in text and "{%" not in text and "}}" not in text
    assert "23 novembre 2026" in text
    assert "FR76 3000 6000 0112 3456 7890 189" in text
    assert "Claire Martin" in text
    assert "\nMonsieur Dupont,\n" in text and "Madame, Monsieur" not in text  # the contact's
    assert "À l'attention de M. Jean Dupont" in text
    assert "Nous vous prions d'agréer, Monsieur, l'expression" in text
    assert "Bâtiment B" in text  # second line of the address kept
    if tier == 1:
        assert "croisé ce courrier" in text and "échéancier" in text
    if tier == 2:
        assert "L441-10" in text and f"40,00{NBSP}€" in text and "échéancier" in text
        assert "Total réclamé" in text
    if tier == 3:
        assert "Lettre recommandée avec accusé de réception" in text
        assert "4 décembre 2026" in text  # received Thu 26/11, + 8 days
        assert "à compter de la réception de la présente" in text
        assert "trois mille cinq cent soixante-cinq euros" in text  # total in words
        assert "injonction de payer" in text


def test_rendered_letters_carry_what_they_were_given(tmp_path: Path) -> None:
    given = priced([letter(3), letter(1, client="Martin")], SETTINGS)
    result = L.render_letters(given, SETTINGS, tmp_path)
    assert [x.priced for x in result.letters] == given  # same records, same order
    assert result.files == tuple(x.docx for x in result.letters)
    assert all(x.docx.is_file() and x.pdf is None and x.email is None for x in result.letters)


def test_consumer_letters_have_no_indemnity(tmp_path: Path) -> None:
    letters = [letter(2, particulier=True), letter(3, particulier=True, client="Mme Durand")]
    r2, r3 = render(letters, SETTINGS, tmp_path).files
    text2, text3 = all_text(r2), all_text(r3)
    for text in (text2, text3):
        assert "D441-5" not in text and "indemnité forfaitaire" not in text.lower()
        assert "1231-6 du Code civil" in text
    assert "à compter de la présente mise en demeure" in text3


def test_empty_settings_hide_lines(tmp_path: Path) -> None:
    settings = Settings(societe=Societe(nom="Société X"))
    (path,) = render([letter(1, contact="", code_client="")], settings, tmp_path).files
    text = all_text(path)
    for absent in ("IBAN", "BIC", "Tél.", "SIRET", "Réf. client", "À l'attention", "À ,"):
        assert absent not in text
    assert "Le 23 novembre 2026" in text


def test_strange_characters_in_data(tmp_path: Path) -> None:
    odd = letter(1, client="Bad\x0bName \"Quoted\" & <Co>", adresse="Line 1\r\nLine 2\tend")
    (path,) = render([odd], SETTINGS, tmp_path).files
    text = all_text(path)
    assert 'BadName "Quoted" & <Co>' in text
    assert "Line 2 end" in text


def test_many_invoices_and_parallel_rendering(tmp_path: Path) -> None:
    lines = tuple(
        LetterLine(f"FA-{i:04d}", date(2026, 6, 1), date(2026, 7, 1), Decimal("100.00"),
                   Decimal("0"), Decimal("100.00"), 145, False, i)
        for i in range(30)
    )
    letters = [letter(2, lignes=lines, client=f"Client {i}", code_client=f"C{i}")
               for i in range(45)]
    result = L.render_letters(priced(letters, SETTINGS), SETTINGS, tmp_path, jobs=2)
    assert [p.name for p in result.files] == L.letter_filenames(letters)
    text = all_text(result.files[7])
    assert "Client 7" in text and "FA-0000" in text and "FA-0029" in text
    assert f"3{NBSP}000,00{NBSP}€" in text
    assert len(list(tmp_path.iterdir())) == 45  # no temporary file left


# --- each invoice tells its own history ------------------------------------------------------

# what a letter may only say of invoices that were reminded before
CLAIMS = ("Malgré", "Par courrier du", "rappelé", "relancée", "nos relances", "notre relance")


def with_history(base: PlannedLetter, reminded: dict[str, date]) -> PlannedLetter:
    """``base`` where only the invoices in ``reminded`` had a reminder, on that date."""
    lines = tuple(
        dataclasses.replace(x, niveau_avant=1 if x.numero in reminded else 0,
                            relancee_le=reminded.get(x.numero))
        for x in base.lignes
    )
    return dataclasses.replace(base, lignes=lines, date_precedent=max(reminded.values(),
                                                                      default=None))


def invoice_rows(path: Path) -> dict[str, str]:
    """The text of each row of the invoice table, by its first cell's first line."""
    rows = {}
    for table in docx.Document(str(path)).tables:
        for row in table.rows:
            first = row.cells[0].text.split("\n")[0].split(" ")[0]
            rows.setdefault(first, " | ".join(c.text for c in row.cells))
    return rows


def test_second_reminder_names_only_the_reminder_sent(tmp_path: Path) -> None:
    mixed = with_history(letter(2), {"F2026-001": date(2026, 10, 15)})
    context = L.letter_context(mixed, SETTINGS, priced(mixed, SETTINGS).amounts)
    assert context["deja_relancees"] and not context["toutes_relancees"]
    first, second, credit = context["factures"]
    assert first["relancee_le"] == "15 octobre 2026"
    assert first["historique"] == "relancée le 15/10/2026"
    assert second["relancee_le"] == second["historique"] == credit["historique"] == ""

    (path,) = render([mixed], SETTINGS, tmp_path).files
    text = all_text(path)
    assert text.count("relancée le 15/10/2026") == 1
    rows = invoice_rows(path)
    assert "relancée le 15/10/2026" in rows["F2026-001"]
    assert "relancée" not in rows["F2026-014"] and "relancée" not in rows["AV2026-003"]
    assert ("Par courrier du 15 octobre 2026, nous vous avons rappelé qu'une partie des sommes "
            "détaillées ci-dessous restait impayée") in text
    assert "Les autres sommes n'avaient pas encore fait l'objet d'une relance" in text
    assert "les sommes détaillées ci-dessous restaient impayées" not in text


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_no_word_of_reminders_when_none_was_sent(tmp_path: Path, tier: int) -> None:
    fresh = with_history(letter(tier), {})
    context = L.letter_context(fresh, SETTINGS, priced(fresh, SETTINGS).amounts)
    assert not context["deja_relancees"] and not context["toutes_relancees"]
    (path,) = render([fresh], SETTINGS, tmp_path).files
    text = all_text(path)
    for claim in CLAIMS:
        assert claim not in text, claim
    assert "Sauf erreur" in text and "F2026-014" in text


def test_every_invoice_reminded_and_a_level_without_its_date(tmp_path: Path) -> None:
    both = with_history(letter(3), {"F2026-001": date(2026, 10, 15),
                                    "F2026-014": date(2026, 11, 9)})
    (path,) = render([both], SETTINGS, tmp_path).files
    text = all_text(path)
    assert ("Malgré nos relances, dont la dernière en date du 9 novembre 2026, les sommes "
            "détaillées ci-dessous restent impayées à ce jour.") in text
    rows = invoice_rows(path)
    assert "relancée le 15/10/2026" in rows["F2026-001"]
    assert "relancée le 09/11/2026" in rows["F2026-014"]
    # the export gave the level, not its date: reminded all the same, no date invented
    lines = (dataclasses.replace(both.lignes[0], relancee_le=None), *both.lignes[1:])
    undated = dataclasses.replace(both, lignes=lines)
    row = L.letter_context(undated, SETTINGS, priced(undated, SETTINGS).amounts)["factures"][0]
    assert row["historique"] == "déjà relancée" and row["relancee_le"] == ""


# --- templates edited in Word --------------------------------------------------------------


def test_word_split_runs_curly_quotes_and_nbsp(tmp_path: Path) -> None:
    folder = tmp_path / "modeles"
    write_template(folder, "relance_1.docx", [
        ["Client : {{ cli", ("b", "ent.nom }}"), " fin"],
        ["Salut : {{ \u201cMadame\u201d if particulier else client.nom }}"],
        ["Code : {{\u00a0client.code\u00a0}} – {{ \u2018x\u2019 if particulier else 'ok' }}"],
        ["Guillemets : {{ \u00ab\u00a0y\u00a0\u00bb if particulier "
         "else \u00ab\u00a0non\u00a0\u00bb }}"],
        ["{", "{ client.ville }", "}"],
        ["{%p if afficher_penalites %}"],
        ["Pénalités : {{ total_interets }}"],
        ["{%p endif %}"],
    ], INVOICE_ROWS)
    settings = user_settings(folder)
    assert L.check_templates(folder, (1,)) == []
    (path,) = render([letter(1)], settings, tmp_path / "out").files
    text = all_text(path)
    assert "Client : Dupont & Fils <SAS> fin" in text
    assert "Salut : Dupont & Fils <SAS>" in text
    assert "Code : C0042 – ok" in text
    assert "Guillemets : non" in text
    assert "Lyon" in text
    assert "Pénalités" not in text  # relance 1 shows no amounts by default
    assert "F2026-014" in text
    assert "{" not in text and "}" not in text


def test_word_xml_with_proofing_marks_and_bookmarks(tmp_path: Path) -> None:
    """Word's own XML: a tag cut by spell-check marks, a bookmark and a bold run."""
    folder = tmp_path / "modeles"
    folder.mkdir()
    source = L.default_templates_dir() / "relance_1.docx"
    target = folder / "relance_1.docx"
    word_like = (
        '<w:r><w:rPr/><w:t>{</w:t></w:r><w:proofErr w:type="spellStart"/>'
        '<w:r w:rsidR="00A1"><w:rPr/><w:t>{ ob</w:t></w:r><w:bookmarkStart w:id="0" '
        'w:name="_GoBack"/><w:bookmarkEnd w:id="0"/><w:r><w:rPr><w:b/></w:rPr>'
        '<w:t>jet</w:t></w:r><w:proofErr w:type="spellEnd"/><w:r><w:rPr/>'
        '<w:t xml:space="preserve"> }</w:t></w:r><w:r><w:rPr/><w:t>}</w:t></w:r>'
        '<w:r><w:rPr/><w:t xml:space="preserve"> {{ \u201c(particulier)\u201d if particulier '
        'else \u2018(pro)\u2019 }}</w:t></w:r>'
    )
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode()
                assert xml.count("<w:r><w:rPr/><w:t>{{ objet }}</w:t></w:r>") == 1
                xml = xml.replace("<w:r><w:rPr/><w:t>{{ objet }}</w:t></w:r>", word_like)
                data = xml.encode()
            zout.writestr(item, data)
    assert L.check_templates(folder, (1,)) == []
    (path,) = render([letter(1)], user_settings(folder), tmp_path / "out").files
    text = all_text(path)
    assert f"Objet : Rappel de paiement – factures n°{NBSP}F2026-001 et F2026-014 (pro)" in text


def test_missing_user_template_falls_back_with_warning(tmp_path: Path) -> None:
    folder = tmp_path / "modeles"
    write_template(folder, "relance_1.docx", [["Bonjour {{ client.nom }}"]])
    (folder / "relance_2.doc").write_bytes(b"old word file")
    result = render([letter(1), letter(2)], user_settings(folder), tmp_path / "out")
    assert result.templates[1] == folder / "relance_1.docx"
    assert result.templates[2] == L.default_templates_dir() / "relance_2.docx"
    assert len(result.warnings) >= 1
    warning = next(w for w in result.warnings if "relance_2.docx" in w)
    assert "modèle fourni" in warning and "relance_2.doc" in warning
    assert "Bonjour Dupont & Fils <SAS>" in all_text(result.files[0])


def test_missing_template_folder_is_a_problem(tmp_path: Path) -> None:
    problems = L.check_templates(tmp_path / "nope")
    assert len(problems) == 1 and "introuvable" in str(problems[0])


# --- broken templates ----------------------------------------------------------------------


def problems_for(tmp_path: Path, paragraphs: list, rows: list | None = None) -> list[str]:
    folder = tmp_path / "modeles"
    write_template(folder, "relance_1.docx", paragraphs, rows)
    L.templates._CACHE.clear()
    return [str(p) for p in L.check_templates(folder, (1,))]


def test_unclosed_tag(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, [["Madame {{ client.nom, bonjour"]])
    assert problem.startswith("Modèle relance_1.docx")
    assert "non fermée" in problem and "Madame {{ client.nom, bonjour" in problem


def test_unknown_variable_suggests_closest(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, [["Cher {{ client_nom }},"]])
    assert "{{ client_nom }} n'existe pas ; vouliez-vous dire {{ client.nom }} ?" in problem
    assert "relance_1.docx" in problem and "Cher {{ client_nom }}" in problem


def test_unknown_field_and_capital_letter(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [["{{ client.nmo }} et {{ Societe.nom }}"]])
    joined = "\n".join(problems)
    assert "{{ client.nmo }} n'existe pas ; vouliez-vous dire {{ client.nom }} ?" in joined
    assert "vouliez-vous dire {{ societe.nom }}" in joined and "majuscules" in joined


def test_invoice_field_outside_the_loop(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, [["Facture {{ f.numero }}"]])
    assert "{%tr for f in factures %}" in problem


def test_unknown_field_of_the_loop_variable(tmp_path: Path) -> None:
    rows = [INVOICE_ROWS[0], INVOICE_ROWS[1], ["{{ f.numro }}", "{{ f.reste_du }}"],
            INVOICE_ROWS[3]]
    (problem,) = problems_for(tmp_path, [["Bonjour"]], rows)
    assert "vouliez-vous dire {{ f.numero }}" in problem


def test_tr_tag_outside_a_table(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [["{%tr for f in factures %}"], ["{{ f.numero }}"],
                                       ["{%tr endfor %}"]])
    assert any("n'est pas dans un tableau" in p for p in problems)
    assert all(p.startswith("Modèle relance_1.docx") for p in problems)


def test_unclosed_block_and_text_beside_p_tag(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [["{%p if particulier %} Madame"], ["Texte"],
                                       ["{% if societe.iban %}IBAN"]])
    joined = "\n".join(problems)
    assert "serait supprimé" in joined
    assert "n'est jamais fermé" in joined and "{% endif %}" in joined


def test_block_across_paragraphs_and_single_brace(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [["{% if particulier %}Madame"], ["Texte{% endif %}"],
                                       ["Bonjour {client.nom}"]])
    joined = "\n".join(problems)
    assert "{%p if … %}" in joined
    assert "une seule accolade" in joined and "{{ client.nom }}" in joined


def test_wrong_closer_unknown_keyword_and_spaced_prefix(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, [["Bonjour {{ client.nom %}"],
                                       ["{% iff particulier %}x{% endif %}"]], [
        ["{% tr for f in factures %}", ""], ["{{ f.numero }}", ""], ["{%tr endfor %}", ""]])
    joined = "\n".join(problems)
    assert "fermée par « %} » : fermez-la par « }} »" in joined
    assert "mot-clé inconnu « iff »" in joined and "vouliez-vous dire « if »" in joined
    assert "écrivez « {%tr for f in factures %} »" in joined
    assert "n'a pas de" not in joined  # no cascade after a recognised mistake


def test_jinja_syntax_error_is_in_french(tmp_path: Path) -> None:
    (problem,) = problems_for(tmp_path, [["Bonjour {{ client nom }}"]])
    assert "expression incorrecte" in problem and "Bonjour {{ client nom }}" in problem


def test_not_a_docx(tmp_path: Path) -> None:
    folder = tmp_path / "modeles"
    folder.mkdir()
    (folder / "relance_1.docx").write_text("pas un document")
    (problem,) = [str(p) for p in L.check_templates(folder, (1,))]
    assert "Document Word (*.docx)" in problem


def test_broken_template_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "modeles"
    write_template(folder, "relance_2.docx", [["{{ client_nom }}"]])
    out = tmp_path / "out"
    with pytest.raises(TemplateError) as info:
        render([letter(1), letter(2)], user_settings(folder), out)
    message = info.value.message
    assert "relance_2.docx" in message and "aucun courrier n'a été écrit" in message
    assert "vouliez-vous dire {{ client.nom }}" in message
    assert not out.exists() or not any(out.iterdir())


# --- file names ----------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["CON", "con", "Nul.txt", "COM1", "lpt9 ", "AUX."])
def test_reserved_windows_names(client: str) -> None:
    name = L.letter_filename(client, 1, date(2026, 11, 23))
    assert name.startswith("_")
    assert name.endswith(" – Relance 1 – 2026-11-23.docx")


def test_forbidden_characters_and_trailing_dots() -> None:
    name = L.letter_filename('A/B\\C:D*E?F"G<H>I|J\x01K. . ', 3, date(2026, 11, 23))
    assert not any(c in name for c in '/\\:*?"<>|\x01')
    assert name == "A-B-C-D-EF'G(H)I-JK – Mise en demeure – 2026-11-23.docx"
    assert L.letter_filename("  ...  ", 2, date(2026, 1, 2)).startswith("Client – Relance 2")


def test_long_names_are_bounded() -> None:
    name = L.letter_filename("Société " * 40, 3, date(2026, 11, 23))
    assert len(name) <= L.MAX_FILENAME
    assert name.endswith(" – Mise en demeure – 2026-11-23.docx")
    assert not name.split(" – ")[0].endswith((" ", "."))


def test_duplicate_names_are_made_unique() -> None:
    day = date(2026, 11, 23)
    letters = [
        letter(1, client="Martin", code_client="C1", date=day),
        letter(1, client="MARTIN", code_client="C2", date=day),
        letter(1, client="Dupont", code_client="", date=day),
        letter(1, client="Dupont", code_client="", date=day),
        letter(2, client="Dupont", code_client="", date=day),
    ]
    names = L.letter_filenames(letters)
    assert names[0] == "Martin (C1) – Relance 1 – 2026-11-23.docx"
    assert names[1] == "MARTIN (C2) – Relance 1 – 2026-11-23.docx"
    assert names[2] == "Dupont – Relance 1 – 2026-11-23.docx"
    assert names[3] == "Dupont (2) – Relance 1 – 2026-11-23.docx"
    assert names[4] == "Dupont – Relance 2 – 2026-11-23.docx"
    assert len({n.casefold() for n in names}) == len(names)


# --- documentation -------------------------------------------------------------------------


def test_variables_are_documented_once() -> None:
    table = L.variables_table()
    guide = (L.default_templates_dir() / "VARIABLES.md").read_text(encoding="utf-8")
    context = L.sample_contexts(3)[0]
    for v in L.VARIABLES:
        assert f"{{{{ {v.name} }}}}" in table
        assert f"`{{{{ {v.name} }}}}`" in guide, "VARIABLES.md: rebuild with build_templates.py"
        head, _, field = v.name.partition(".")
        if head == "f":
            assert field in context["factures"][0]
        elif field:
            assert field in context[head]
        else:
            assert head in context
    assert "{%tr for f in factures %}" in guide and "{%p if" in guide


# --- PDF (LibreOffice) ---------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice absent")
def test_letters_convert_to_pdf(tmp_path: Path) -> None:
    files = render([letter(1), letter(2), letter(3)], SETTINGS, tmp_path).files
    pdf_dir = tmp_path / "pdf"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
         "--convert-to", "pdf", "--outdir", str(pdf_dir), *map(str, files)],
        check=True, capture_output=True, timeout=180,
    )
    pdfs = sorted(pdf_dir.glob("*.pdf"))
    assert len(pdfs) == 3 and all(p.stat().st_size > 5000 for p in pdfs)
    if shutil.which("pdftotext"):
        for pdf in pdfs:
            text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                  text=True, check=True).stdout
            assert "Dupont & Fils <SAS>" in text and "F2026-014" in text
            assert "{{" not in text


@pytest.mark.parametrize("tag", ["{{ 'a' * 3000000000 }}", "{{ 7 ** 999999999 }}",
                                 "{{ client.nom * 200000 }}"])  # fmt: skip
def test_a_tag_that_would_build_a_huge_value_is_refused_in_french(tmp_path, tag):
    """Gigabytes of text or an endless power: refused at once, naming the template."""
    import time

    folder = tmp_path / "modeles"
    write_template(folder, "relance_1.docx", [["Bonjour " + tag]])
    start = time.monotonic()
    problems = L.check_templates(folder, (1,))
    assert time.monotonic() - start < 10
    assert len(problems) == 1
    text = str(problems[0])
    assert "relance_1.docx" in text and ("trop long" in text or "trop grand" in text), text


def test_a_big_process_spawns_its_workers_and_they_write_the_same_letters(tmp_path: Path) -> None:
    from relance_xlsx.letters import rendering

    assert rendering.start_method("fork", rendering.FORK_UP_TO_MB + 1) == "spawn"
    assert rendering.start_method("fork", rendering.FORK_UP_TO_MB - 1) == "fork"
    assert rendering.start_method("fork", None) == "fork"
    assert rendering.start_method("spawn", 10.0) == "spawn"
    letters = [letter(1, client=f"Client {i}", code_client=f"C{i}") for i in range(3)]
    given = priced(letters, SETTINGS)
    serial = L.render_letters(given, SETTINGS, tmp_path / "serial")
    paths, _ = L.require_templates(SETTINGS.modeles_dossier, [1])
    names = L.letter_filenames(letters)
    items = [(i, p, names[i]) for i, p in enumerate(given)]
    stamp = rendering.dos_stamp(datetime.combine(letters[0].date, datetime.min.time()))
    (tmp_path / "spawned").mkdir()
    written = rendering._render_parallel(items, SETTINGS, paths, tmp_path / "spawned", stamp,
                                         1, "spawn")  # one worker: its start-up is the cost
    assert sorted(Path(f).name for _, f in written) == sorted(names)
    for path in serial.files:
        assert (tmp_path / "spawned" / path.name).read_bytes() == path.read_bytes()
