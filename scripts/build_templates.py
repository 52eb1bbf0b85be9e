"""Build the three default letter templates and VARIABLES.md in ``templates_word/``.

Why a script: the .docx files are generated, never hand-edited, so the wording, the layout
and the tags can be reviewed as code and rebuilt identically (fixed zip dates and document
properties). Run from the repository root:  python scripts/build_templates.py
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relance_xlsx.letters import VARIABLES  # noqa: E402

OUT = ROOT / "templates_word"
FONT = "Arial"  # Windows/Mac; LibreOffice substitutes the metric-compatible Liberation Sans
BODY_PT = 10
PAGE_W, MARGIN_LR, MARGIN_TOP, MARGIN_BOTTOM = 21.0, 2.0, 1.5, 2.0
TEXT_W = PAGE_W - 2 * MARGIN_LR  # 17 cm
ADDRESS_INDENT = 9.0  # recipient block: 11 cm from the page edge (window envelopes)
ADDRESS_TOP = 107  # points from the top margin to the recipient's name: ~5.3 cm from the top
GREY = RGBColor(0x80, 0x80, 0x80)
DARK = RGBColor(0x33, 0x33, 0x33)
HEADER_FILL = "D9E2EC"
BORDER = "8C9AA8"
FIXED_DATE = datetime(2026, 1, 1)

BR = object()  # a line break inside a paragraph


# --- low-level helpers ---------------------------------------------------------------------


def _set(el, tag: str, **attrs: str):  # noqa: ANN001, ANN202 - lxml elements
    """Get or add child ``tag`` of ``el`` and set its w: attributes."""
    child = el.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        el.append(child)
    for k, v in attrs.items():
        child.set(qn(f"w:{k}"), v)
    return child


def _runs(paragraph, parts: Sequence, size: float | None, bold_all: bool = False) -> None:  # noqa: ANN001
    """Add runs: str (control tags ``{% %}`` in small grey), ("b", str) bold, ("i", str) a
    note in smaller dark-grey italics, BR break."""
    for part in parts:
        if part is BR:
            paragraph.add_run().add_break()
            continue
        bold, note = bold_all, False
        if isinstance(part, tuple):
            kind, part = part
            bold, note = kind == "b", kind == "i"
        for piece in re.split(r"({%.*?%})", part):
            if not piece:
                continue
            run = paragraph.add_run(piece)
            if piece.startswith("{%"):
                run.font.color.rgb = GREY
                run.font.size = Pt(7.5)
                continue
            run.bold = bold or None
            if note:
                run.italic = True
                run.font.color.rgb = DARK
            if size:
                run.font.size = Pt(size - 1 if note else size)


def par(container, parts: Sequence = (), *, align: str = "left", indent: float = 0,  # noqa: ANN001
        before: float = 0, after: float = 0, keep: bool = False, size: float | None = None,
        bold: bool = False, style: str | None = None):  # noqa: ANN201
    """One paragraph with its spacing (points) and left indent (cm)."""
    p = container.add_paragraph(style=style)
    fmt = p.paragraph_format
    fmt.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "center": WD_ALIGN_PARAGRAPH.CENTER, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    if indent:
        fmt.left_indent = Cm(indent)
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    if keep:
        fmt.keep_with_next = True
    _runs(p, parts, size, bold)
    return p


def control(container, tag: str) -> None:  # noqa: ANN001
    """A ``{%p … %}`` line: alone on its paragraph, small and grey (removed in the letters)."""
    p = container.add_paragraph()
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.keep_with_next = True
    run = p.add_run(tag)
    run.font.size = Pt(7.5)
    run.font.color.rgb = GREY


def body(container, parts: Sequence, **kw) -> None:  # noqa: ANN001, ANN003
    """A justified paragraph of the letter text."""
    kw.setdefault("after", 6)
    par(container, parts, align="justify", **kw)


def _cell_width(cell, cm: float) -> None:  # noqa: ANN001
    cell.width = Cm(cm)
    _set(cell._tc.get_or_add_tcPr(), "w:tcW", w=str(int(cm * 567)), type="dxa")


def _shade(cell, fill: str) -> None:  # noqa: ANN001
    _set(cell._tc.get_or_add_tcPr(), "w:shd", val="clear", color="auto", fill=fill)


def _valign(cell, value: str = "center") -> None:  # noqa: ANN001
    _set(cell._tc.get_or_add_tcPr(), "w:vAlign", val=value)


def _table_props(table, widths: Sequence[float], borders: bool = True,  # noqa: ANN001
                 margins: int = 70) -> None:
    """Fixed layout, exact column widths, thin grey borders, small cell margins (twips)."""
    tbl = table._tbl
    tblPr = tbl.tblPr
    _set(tblPr, "w:tblW", w=str(int(sum(widths) * 567)), type="dxa")
    _set(tblPr, "w:tblLayout", type="fixed")
    style = tblPr.find(qn("w:tblStyle"))
    if style is not None:
        tblPr.remove(style)
    b = _set(tblPr, "w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if borders:
            _set(b, f"w:{edge}", val="single", sz="4", space="0", color=BORDER)
        else:
            _set(b, f"w:{edge}", val="nil")
    mar = _set(tblPr, "w:tblCellMar")
    for edge, value in (("top", 30 if margins else 0), ("bottom", 30 if margins else 0),
                        ("left", margins), ("right", margins)):
        _set(mar, f"w:{edge}", w=str(value), type="dxa")
    grid = tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width * 567)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=False):
            _cell_width(cell, width)


def _row_props(row, header: bool = False) -> None:  # noqa: ANN001
    trPr = row._tr.get_or_add_trPr()
    _set(trPr, "w:cantSplit")
    if header:
        _set(trPr, "w:tblHeader")


def _cell_text(cell, parts: Sequence, align: str = "left", size: float = 8.5,  # noqa: ANN001
               bold: bool = False) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
    }[align]
    _runs(p, parts, size, bold)


def _merged_control_row(table, tag: str) -> None:  # noqa: ANN001
    """A table row holding only ``{%tr … %}``: one merged cell, small grey text."""
    row = table.add_row()
    merged = row.cells[0].merge(row.cells[-1])
    p = merged.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    run = p.add_run(tag)
    run.font.size = Pt(7.5)
    run.font.color.rgb = GREY


# --- the invoice tables --------------------------------------------------------------------

# The invoice number, then its own history below it ("relancée le 09/11/2026"): nothing
# for a first reminder, so a letter never claims a reminder that was not sent.
NUMBER_CELL = ["{{ f.numero }}{% if f.avoir %} (avoir){% endif %}", "{% if f.historique %}", BR,
               ("i", "{{ f.historique }}"), "{% endif %}"]
# (header, cell content, alignment, width cm) per column
COLUMNS_7 = [
    ("N° facture", NUMBER_CELL, "left", 3.2),
    ("Date", "{{ f.date_facture }}", "center", 2.0),
    ("Échéance", "{{ f.date_echeance }}", "center", 2.0),
    ("Montant TTC", "{{ f.montant_ttc }}", "right", 2.6),
    ("Réglé", "{{ f.montant_regle }}", "right", 2.4),
    ("Reste dû", "{{ f.reste_du }}", "right", 2.6),
    ("Jours de retard", "{{ f.jours_retard }}", "center", 2.2),
]
COLUMNS_9 = [
    ("N° facture", NUMBER_CELL, "left", 2.9),
    ("Date", "{{ f.date_facture }}", "center", 1.7),
    ("Échéance", "{{ f.date_echeance }}", "center", 1.7),
    ("Montant TTC", "{{ f.montant_ttc }}", "right", 2.0),
    ("Réglé", "{{ f.montant_regle }}", "right", 1.85),
    ("Reste dû", "{{ f.reste_du }}", "right", 2.0),
    ("Retard (jours)", "{{ f.jours_retard }}", "center", 1.35),
    ("Intérêts de retard", "{{ f.interets }}", "right", 1.9),
    ("Indemnité", "{{ f.indemnite }}", "right", 1.6),
]


def invoice_table(doc, columns: list, size: float) -> None:  # noqa: ANN001
    """Header row (shaded, repeated on each page), the row loop, the total row."""
    widths = [c[3] for c in columns]
    table = doc.add_table(rows=1, cols=len(columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    _row_props(header, header=True)
    for cell, (title, _content, align, _w) in zip(header.cells, columns, strict=True):
        _cell_text(cell, [title], "left" if align == "left" else "center", size, bold=True)
        _shade(cell, HEADER_FILL)
        _valign(cell, "center")
    _merged_control_row(table, "{%tr for f in factures %}")
    row = table.add_row()
    _row_props(row)
    for cell, (_title, content, align, _w) in zip(row.cells, columns, strict=True):
        _cell_text(cell, content if isinstance(content, list) else [content], align, size)
    _merged_control_row(table, "{%tr endfor %}")
    total = table.add_row()
    _row_props(total)
    cells = total.cells
    label = cells[0].merge(cells[4])
    _cell_text(label, ["Total restant dû"], "right", size, bold=True)
    _cell_text(cells[5], ["{{ total_du }}"], "right", size, bold=True)
    if len(columns) == 9:
        _cell_text(cells[7], ["{{ total_interets }}"], "right", size, bold=True)
        _cell_text(cells[8], ["{{ total_indemnites }}"], "right", size, bold=True)
    for cell in total.cells:
        _shade(cell, "F2F4F7")
    _table_props(table, widths)


def penalties_table(doc) -> None:  # noqa: ANN001
    """The claim broken down: principal, interest (rate and basis), indemnities, total."""
    rows = [
        (["Principal restant dû (avoirs{% if reglements_non_affectes %} et règlements non "
          "affectés{% endif %} déduits)"], "{{ total_du }}", False),
        (["Intérêts de retard, calculés au {{ base_taux }}"], "{{ total_interets }}", False),
        (["Indemnités forfaitaires pour frais de recouvrement{% if indemnite_unitaire %} "
          "({{ indemnite_unitaire }} par facture en retard){% endif %}"],
         "{{ total_indemnites }}", False),
        (["Total réclamé"], "{{ total_reclame }}", True),
    ]
    widths = [TEXT_W - 3.4, 3.4]
    table = doc.add_table(rows=0, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, amount, strong in rows:
        row = table.add_row()
        _row_props(row)
        _cell_text(row.cells[0], label, "left", 9, bold=strong)
        _cell_text(row.cells[1], [amount], "right", 9, bold=strong)
        if strong:
            for cell in row.cells:
                _shade(cell, HEADER_FILL)
    _table_props(table, widths)


def spacer(doc, points: float = 4) -> None:  # noqa: ANN001
    """An empty small paragraph: Word needs one between two tables, and it gives air."""
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.line_spacing = Pt(points)


# --- the common parts of the letters -------------------------------------------------------


def header_table(doc, registered: bool) -> None:  # noqa: ANN001
    """Sender (left) and recipient (right) side by side in a borderless table, so the
    address sits at the same place whatever the sender block's length: 11 cm from the left
    edge and about 5.3 cm from the top, inside the window of a DL envelope."""
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    par(left, [
        ("b", "{{ societe.nom }}"),
        "{% if societe.adresse %}", BR, "{{ societe.adresse }}{% endif %}",
        "{% if societe.code_postal or societe.ville %}", BR,
        "{{ societe.code_postal }} {{ societe.ville }}{% endif %}",
        "{% if societe.telephone or societe.email %}", BR, "{% endif %}",
        "{% if societe.telephone %}Tél. : {{ societe.telephone }}{% endif %}",
        "{% if societe.telephone and societe.email %} – {% endif %}",
        "{% if societe.email %}{{ societe.email }}{% endif %}",
        "{% if societe.siret %}", BR, "SIRET : {{ societe.siret }}{% endif %}",
    ], size=9)
    if registered:
        par(right, [("b", "Lettre recommandée avec accusé de réception")], before=ADDRESS_TOP
            - 22, after=10, size=9)
    par(right, [
        ("b", "{{ client.nom }}"),
        "{% if client.contact %}", BR, "À l'attention de {{ client.contact }}{% endif %}",
        "{% if client.adresse %}", BR, "{{ client.adresse }}{% endif %}",
        "{% if client.code_postal or client.ville %}", BR,
        "{{ client.code_postal }} {{ client.ville }}{% endif %}",
    ], before=0 if registered else ADDRESS_TOP)
    for cell in (left, right):  # python-docx leaves an empty first paragraph in each cell
        first = cell.paragraphs[0]
        if not first.runs:
            first._p.getparent().remove(first._p)
    _table_props(table, [ADDRESS_INDENT, TEXT_W - ADDRESS_INDENT], borders=False, margins=0)
    par(doc, ["{% if lieu %}À {{ lieu }}, le{% else %}Le{% endif %} {{ date_courrier }}"],
        indent=ADDRESS_INDENT, before=20)


def subject_block(doc) -> None:  # noqa: ANN001
    par(doc, [
        ("b", "Objet : "), "{{ objet }}",
        "{% if client.code %}", BR, ("b", "Réf. client : "), "{{ client.code }}{% endif %}",
    ], before=16, after=12)
    par(doc, ["{{ salutation }}"], after=8)


def payment_block(doc) -> None:  # noqa: ANN001
    """The bank details, and the payment QR code beside them when there is one: a
    borderless two-column row that never splits and stays with what follows."""
    control(doc, "{%p if societe.iban %}")
    table = doc.add_table(rows=1, cols=2)
    row = table.rows[0]
    _row_props(row)
    left, right = row.cells
    p = par(left, [
        ("b", "Titulaire : "), "{{ societe.nom }}", BR, ("b", "IBAN : "), "{{ societe.iban }}",
        "{% if societe.bic %}", BR, ("b", "BIC : "), "{{ societe.bic }}{% endif %}",
        "{% if qr_paiement %}", BR, ("i", "Ou scannez le QR code avec l'application de "
                                         "votre banque : montant et références sont remplis."),
        "{% endif %}",
    ], indent=1.0, size=9.5, keep=True)
    p._p.getparent().remove(left.paragraphs[0]._p)
    q = par(right, ["{% if qr_paiement %}{{ qr_paiement }}{% endif %}"], align="right",
            keep=True)
    q._p.getparent().remove(right.paragraphs[0]._p)
    _valign(left, "center")
    _table_props(table, [TEXT_W - 2.8, 2.8], borders=False, margins=0)
    spacer(doc, 4)
    control(doc, "{%p endif %}")


def closing_block(doc) -> None:  # noqa: ANN001
    """The closing formula and the signature, kept on the page of the text before them."""
    for p in reversed(doc.paragraphs):  # the {%p …%} lines are removed from the letters
        if not p.text.startswith("{%p"):
            p.paragraph_format.keep_with_next = True
            break
    body(doc, ["Nous vous prions d'agréer, {{ appel }}, l'expression de nos salutations "
               "distinguées."], before=4, keep=True)
    par(doc, [
        "{% if societe.signataire %}", ("b", "{{ societe.signataire }}"), BR, "{% endif %}",
        "{{ societe.fonction }}",
    ], indent=ADDRESS_INDENT, before=20)


def opening(doc, every: Sequence, some: Sequence, none: Sequence) -> None:  # noqa: ANN001
    """The first paragraph, by what the invoices already had: every one reminded before,
    some of them, or none (then no word of an earlier reminder)."""
    control(doc, "{%p if toutes_relancees %}")
    body(doc, every, keep=True)
    control(doc, "{%p elif deja_relancees %}")
    body(doc, some, keep=True)
    control(doc, "{%p else %}")
    body(doc, none, keep=True)
    control(doc, "{%p endif %}")


def total_line(doc) -> None:  # noqa: ANN001
    body(doc, ["Le montant restant dû s'élève à ", ("b", "{{ total_du }}"), "."], before=8)


def unallocated_block(doc) -> None:  # noqa: ANN001
    """Payments received but not matched to an invoice: thanked for, deducted, asked about."""
    control(doc, "{%p if reglements_non_affectes %}")
    body(doc, ["{{ reglements_non_affectes }}"], before=8)  # apart from the table above
    control(doc, "{%p endif %}")


def tables_with_penalties(doc) -> None:  # noqa: ANN001
    """The 9-column table when amounts are shown, the 7-column one otherwise."""
    control(doc, "{%p if afficher_penalites %}")
    invoice_table(doc, COLUMNS_9, 8)
    control(doc, "{%p else %}")
    invoice_table(doc, COLUMNS_7, 8.5)
    control(doc, "{%p endif %}")


def penalties_block(doc, intro: Sequence) -> None:  # noqa: ANN001
    control(doc, "{%p if afficher_penalites %}")
    body(doc, intro, keep=True)
    penalties_table(doc)
    spacer(doc, 6)
    control(doc, "{%p endif %}")


def consumer_block(doc) -> None:  # noqa: ANN001
    control(doc, "{%p if mention_consommateur %}")
    body(doc, ["{{ mention_consommateur }}"])
    control(doc, "{%p endif %}")


# --- the three letters ---------------------------------------------------------------------


# a client who promised on the phone to pay by a date, and did not: never « ni aucune
# explication », nor « sans doute un simple oubli »
BROKEN_PROMISE = ("Vous nous aviez annoncé votre règlement pour le {{ promesse_non_tenue }} ; "
                  "à ce jour, nous ne l'avons pas reçu{% if reglements_recus %} en totalité"
                  "{% endif %}.")


def relance_1(doc) -> None:  # noqa: ANN001
    header_table(doc, registered=False)
    subject_block(doc)
    body(doc, ["Sauf erreur ou omission de notre part, le règlement des sommes détaillées "
               "ci-dessous, arrivées à échéance, ne nous est pas encore parvenu.{% if "
               "toutes_relancees %} Ces sommes vous ont déjà été rappelées.{% elif "
               "deja_relancees %} Une partie de ces sommes vous a déjà été rappelée (voir la "
               "mention sous le numéro de facture).{% elif promesse_non_tenue %} "
               + BROKEN_PROMISE + "{% else %} Il s'agit sans doute d'un simple "
               "oubli.{% endif %}"], keep=True)
    invoice_table(doc, COLUMNS_7, 8.5)
    total_line(doc)
    unallocated_block(doc)
    penalties_block(doc, [
        "Nous vous rappelons que tout retard de paiement entraîne de plein droit des pénalités "
        "de retard{% if indemnite_unitaire %} et une indemnité forfaitaire pour frais de "
        "recouvrement de {{ indemnite_unitaire }} par facture{% endif %} ({{ reference_legale "
        "}}). Au {{ date_courrier }}, elles s'établissent ainsi :"])
    body(doc, ["Nous vous remercions de bien vouloir procéder à ce règlement dans les meilleurs "
               "délais, en rappelant les numéros des factures concernées{% if societe.iban %}, "
               "de préférence par virement sur le compte suivant :{% else %}.{% endif %}"],
         keep=True)
    payment_block(doc)
    body(doc, ["Si votre règlement a croisé ce courrier, nous vous prions de ne pas tenir "
               "compte de cette relance."])
    body(doc, ["Pour toute question sur ces factures, ou si vous rencontrez une difficulté "
               "passagère, n'hésitez pas à nous contacter : nous pourrons convenir ensemble "
               "d'un échéancier de paiement."])
    closing_block(doc)


def relance_2(doc) -> None:  # noqa: ANN001
    header_table(doc, registered=False)
    subject_block(doc)
    reminded = ("{% if date_courrier_precedent %}Par courrier du {{ date_courrier_precedent }}, "
                "nous{% else %}Nous{% endif %} vous avons rappelé ")
    # a payment received but not allocated is thanked for below: never "no payment" here
    silence = ("{% if reglements_non_affectes %}Les sommes reçues à ce jour (voir ci-dessous) ne "
               "couvrent pas l'ensemble de ces factures.{% elif promesse_non_tenue %}"
               + BROKEN_PROMISE + "{% elif reglements_recus %}Les sommes "
               "reçues à ce jour (colonne « Réglé ») ne couvrent pas l'ensemble de ces factures."
               "{% else %}Sauf erreur de notre part, nous n'avons reçu à ce jour ni votre "
               "règlement, ni aucune explication.{% endif %}")
    opening(doc, [
        reminded + "que les sommes détaillées ci-dessous restaient impayées. " + silence], [
        reminded + "qu'une partie des sommes détaillées ci-dessous restait impayée (voir la "
        "mention sous le numéro de facture). " + silence + " Les autres sommes n'avaient pas "
        "encore fait l'objet d'une relance ; elles sont également échues."], [
        "Sauf erreur ou omission de notre part, le règlement des sommes détaillées ci-dessous, "
        "arrivées à échéance, ne nous est pas encore parvenu."])
    tables_with_penalties(doc)
    unallocated_block(doc)
    spacer(doc, 6)
    penalties_block(doc, [
        "Nous vous rappelons que tout retard de paiement entraîne de plein droit des pénalités "
        "de retard{% if indemnite_unitaire %} ainsi qu'une indemnité forfaitaire pour frais de "
        "recouvrement de {{ indemnite_unitaire }} par facture{% endif %} ({{ reference_legale "
        "}}). Au {{ date_courrier }}, les sommes dues s'établissent ainsi :"])
    body(doc, ["Nous vous demandons de nous régler la somme de ", ("b", "{{ total_reclame }}"),
               " ", ("b", "sans délai"), ", en rappelant les numéros des factures concernées"
               "{% if societe.iban %}, par virement sur le compte suivant :{% else %}.{% endif %}"],
         keep=True)
    payment_block(doc)
    body(doc, ["Si vous rencontrez des difficultés de paiement, contactez-nous rapidement : "
               "nous pourrons examiner ensemble la possibilité d'un échéancier."])
    # a consumer's mention announces the notice itself: the notice is announced once
    body(doc, ["{% if mention_consommateur %}{{ mention_consommateur }}{% else %}À défaut de "
               "règlement ou de réponse de votre part, nous serons contraints de vous adresser "
               "une mise en demeure, préalable à une procédure de recouvrement.{% endif %}"])
    closing_block(doc)


def mise_en_demeure(doc) -> None:  # noqa: ANN001
    header_table(doc, registered=True)
    subject_block(doc)
    since = ("Malgré nos relances{% if date_courrier_precedent %}, dont la dernière en date du "
             "{{ date_courrier_precedent }}{% endif %}, ")
    opening(doc, [
        since + "les sommes détaillées ci-dessous restent impayées à ce jour."], [
        since + "une partie des sommes détaillées ci-dessous reste impayée à ce jour (voir la "
        "mention sous le numéro de facture). Les autres sommes n'avaient pas encore fait "
        "l'objet d'une relance ; elles sont également échues et impayées."], [
        "Sauf erreur de notre part, les sommes détaillées ci-dessous, arrivées à échéance, "
        "restent impayées à ce jour."])
    tables_with_penalties(doc)
    unallocated_block(doc)
    spacer(doc, 6)
    penalties_block(doc, [
        "Ces sommes sont majorées de plein droit des pénalités de retard{% if "
        "indemnite_unitaire %} et de l'indemnité forfaitaire pour frais de recouvrement de "
        "{{ indemnite_unitaire }} par facture{% endif %} ({{ reference_legale }}). Au "
        "{{ date_courrier }}, les sommes dues s'établissent ainsi :"])
    body(doc, ["En conséquence, par la présente lettre, nous vous mettons en demeure de nous "
               "régler la somme de ",
               ("b", "{{ total_reclame }}"), " ({{ total_reclame_lettres }}) dans un délai de "
               "{{ delai_jours }}\u00a0jours à compter de la réception de la présente, soit ",
               ("b", "au plus tard le {{ date_limite }}"), "."])
    consumer_block(doc)
    # how to pay, then what follows a refusal: the closing stays with a paragraph
    body(doc, ["{% if societe.iban %}Le règlement peut être effectué par virement sur le compte "
               "suivant, en rappelant les numéros des factures concernées :{% else %}Merci de "
               "rappeler les numéros des factures concernées avec votre règlement.{% endif %}"],
         keep=True)
    payment_block(doc)
    body(doc, ["À défaut de règlement dans ce délai, nous engagerons sans autre avis une "
               "procédure judiciaire de recouvrement (requête en injonction de payer ou "
               "assignation devant la juridiction compétente). Les intérêts de retard "
               "continueront de courir jusqu'au complet paiement, et les frais de procédure "
               "pourront être mis à votre charge."])
    closing_block(doc)


# --- document setup ------------------------------------------------------------------------


def _styles(doc) -> None:  # noqa: ANN001
    """Arial 10 pt, French language, no spacing by default (each paragraph sets its own)."""
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.font.color.rgb = RGBColor(0x1A, 0x1A, 0x1A)
    rpr = normal.element.get_or_add_rPr()
    _set(rpr, "w:rFonts", ascii=FONT, hAnsi=FONT, cs=FONT, eastAsia=FONT)
    _set(rpr, "w:lang", val="fr-FR", eastAsia="fr-FR", bidi="ar-SA")
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.08
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is not None and rpr_default.find(qn("w:rPr")) is not None:
            _set(rpr_default.find(qn("w:rPr")), "w:lang", val="fr-FR", eastAsia="fr-FR",
                 bidi="ar-SA")


def _page(doc) -> None:  # noqa: ANN001
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(MARGIN_LR)
    section.top_margin, section.bottom_margin = Cm(MARGIN_TOP), Cm(MARGIN_BOTTOM)
    section.header_distance, section.footer_distance = Cm(1.0), Cm(0.9)
    footer = section.footer.paragraphs[0]
    footer.style = doc.styles["Normal"]  # the built-in Footer style has a centre tab stop
    footer.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
    # the mentions the Code de commerce requires (R123-237), then how to reach us
    _runs(footer, ["{{ societe.nom }}{% if mentions_legales %} – {{ mentions_legales }}"
                   "{% endif %}", BR, "{% if societe.telephone %}Tél. {{ societe.telephone }}"
                   "{% endif %}{% if societe.telephone and societe.email %} – {% endif %}"
                   "{{ societe.email }}\t"], 7.5)
    for r in footer.runs:
        r.font.color.rgb = GREY
    _field(footer, "Page ", "PAGE", " / ", "NUMPAGES")


def _field(paragraph, *pieces: str) -> None:  # noqa: ANN001
    """Plain text and Word fields (PAGE, NUMPAGES) alternately, in small grey."""
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            run = paragraph.add_run(piece)
            run.font.size = Pt(7.5)
            run.font.color.rgb = GREY
            continue
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), f" {piece} ")
        r = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        _set(rpr, "w:color", val="808080")
        _set(rpr, "w:sz", val="15")
        r.append(rpr)
        t = OxmlElement("w:t")
        t.text = "1"
        r.append(t)
        fld.append(r)
        paragraph._p.append(fld)


def _strip_package(doc) -> None:  # noqa: ANN001
    """Drop python-docx's leftovers: a blank thumbnail, customXml, stylesWithEffects."""
    package = doc.part.package
    for rels in (package.rels, doc.part.rels):
        for rid, rel in list(rels.items()):
            if rel.reltype.rsplit("/", 1)[-1] in {"thumbnail", "customXml", "stylesWithEffects"}:
                del rels[rid]
                rels._target_parts_by_rId.pop(rid, None)


def _remove_first_empty_paragraph(doc) -> None:  # noqa: ANN001
    first = doc.paragraphs[0]
    if not first.text and not first.runs:
        first._p.getparent().remove(first._p)


def build(name: str, title: str, fill) -> bytes:  # noqa: ANN001
    """One template as reproducible .docx bytes."""
    doc = Document()
    _strip_package(doc)
    _styles(doc)
    _page(doc)
    fill(doc)
    _remove_first_empty_paragraph(doc)
    props = doc.core_properties
    props.title = title
    props.author = "relance-xlsx"
    props.last_modified_by = "relance-xlsx"
    props.language = "fr-FR"
    props.comments = "Modèle de courrier : voir VARIABLES.md pour les balises."
    props.created = props.modified = FIXED_DATE
    props.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    return _reproducible(raw.getvalue())


def _reproducible(data: bytes) -> bytes:
    """Same zip entries with a fixed date, so a rebuild gives identical bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, zin.read(info.filename), compresslevel=9)
    return out.getvalue()


TEMPLATES = {
    "relance_1.docx": ("Relance 1 – modèle", relance_1),
    "relance_2.docx": ("Relance 2 – modèle", relance_2),
    "mise_en_demeure.docx": ("Mise en demeure – modèle", mise_en_demeure),
}


# --- VARIABLES.md --------------------------------------------------------------------------

GUIDE = """\
# Modèles de courriers : mode d'emploi et variables

Ce dossier contient les trois modèles Word utilisés pour écrire les courriers :

| Fichier | Courrier | Ton |
|---|---|---|
| `relance_1.docx` | Relance 1 | courtois : suppose un simple oubli |
| `relance_2.docx` | Relance 2 | plus ferme : pénalités de retard, indemnité de 40 € |
| `mise_en_demeure.docx` | Mise en demeure | formel : recommandé, délai de 8 jours, suites |

Ils se modifient dans Word, comme n'importe quel document. Les mots entre accolades
(`{{ client.nom }}`, `{% if … %}`) sont des **balises** : le programme les remplace par les
informations de chaque client. Le reste du texte, la mise en page, les polices, le logo sont
à vous. Dans les modèles fournis, les balises de contrôle (`{% … %}`) sont écrites en petit et
en gris : elles disparaissent des courriers. Le bloc du destinataire est placé pour une
enveloppe à fenêtre (à 11 cm du bord gauche de la page).

## Utiliser vos propres modèles

1. Créez un dossier, par exemple `Modèles courriers`, à côté de votre fichier `relance.toml`.
2. Copiez-y les modèles que vous voulez changer (gardez exactement les mêmes noms de fichier).
3. Dans `relance.toml`, section `[modeles]`, écrivez : `dossier = "Modèles courriers"`.
4. Modifiez les modèles dans Word et enregistrez-les au format **Document Word (*.docx)**.
5. Vérifiez-les : `relance-xlsx modeles` (la commande signale chaque balise à corriger).

Un modèle absent de votre dossier est remplacé par celui fourni (un avertissement le signale).
Tant qu'un modèle contient une erreur, aucun courrier n'est écrit : le message dit quel
modèle, quelle balise et quoi corriger.

## Les balises, en cinq règles

**1. Afficher une information** : deux accolades de chaque côté, le nom exact de la variable
(liste plus bas), avec un point entre l'objet et le champ.

    Madame, Monsieur, nous restons dans l'attente de votre règlement de {{ total_du }}.

La valeur prend la mise en forme de la balise : mettez toute la balise en gras pour avoir le
montant en gras. Les montants arrivent déjà écrits « 1 234,56 € » et les dates
« 23 novembre 2026 ».

**2. Une phrase ou un morceau de phrase sous condition** : `{% if … %}` et `{% endif %}`
dans le **même paragraphe**.

    Nous vous remercions de votre règlement{% if societe.iban %} par virement{% endif %}.

Possible aussi avec `{% else %}` :
`{% if client.contact %}À l'attention de {{ client.contact }}{% else %}Comptabilité{% endif %}`.
Une condition est vraie quand la variable est remplie (ou vraie pour `particulier`,
`afficher_penalites`, `deja_relancees`, `toutes_relancees`, `f.avoir`).

**3. Des paragraphes entiers sous condition** : `{%p if … %}` **seul sur sa ligne**, les
paragraphes, puis `{%p endif %}` seul sur sa ligne. Ces deux lignes disparaissent du courrier.

    {%p if afficher_penalites %}
    Nous vous rappelons que tout retard de paiement entraîne…
    (un tableau peut aussi se trouver ici)
    {%p endif %}

**4. Le tableau des factures** : une ligne de tableau qui ne contient que
`{%tr for f in factures %}`, puis **la** ligne avec les balises `{{ f.numero }}`,
`{{ f.reste_du }}`…, répétée pour chaque facture, puis une ligne qui ne contient que
`{%tr endfor %}`. Les lignes d'en-tête (avant) et de total (après) restent telles quelles.

    | N° facture                 | Échéance             | Reste dû          |
    | {%tr for f in factures %}                                             |
    | {{ f.numero }}             | {{ f.date_echeance }} | {{ f.reste_du }} |
    | {%tr endfor %}                                                        |
    | Total restant dû                                  | {{ total_du }}    |

Vous pouvez ajouter, supprimer ou élargir des colonnes : chaque colonne de la ligne répétée
contient la balise de son choix (`f.` + un champ de la liste « Chaque ligne du tableau »).

**5. Ne parler que des relances envoyées** : un courrier peut lister des factures déjà
relancées et d'autres qui ne l'ont jamais été. Dans le tableau, `{{ f.historique }}` affiche
« relancée le 09/11/2026 » sous le numéro d'une facture déjà relancée, et rien pour une
première relance (`{{ f.relancee_le }}` donne la même date en toutes lettres). Dans le
texte, une phrase comme « Malgré nos relances… » ou « Par courrier du … » se place sous
condition : `toutes_relancees` (toutes les factures ont déjà été relancées),
`deja_relancees` (au moins une), sinon aucune.

    {%p if toutes_relancees %}
    Par courrier du {{ date_courrier_precedent }}, nous vous avons rappelé que…
    {%p elif deja_relancees %}
    Par courrier du {{ date_courrier_precedent }}, nous vous avons rappelé qu'une partie des
    sommes ci-dessous…
    {%p else %}
    Sauf erreur de notre part, le règlement des sommes ci-dessous…
    {%p endif %}

## À ne pas faire

- Une seule accolade (`{client.nom}`) ou un espace entre elles (`{ {client.nom} }`) : la
  balise serait imprimée telle quelle.
- Couper une balise sur deux lignes, ou la commencer dans un paragraphe et la finir dans un
  autre.
- Écrire du texte sur la même ligne qu'un `{%p … %}` ou dans la ligne d'un `{%tr … %}` : il
  serait supprimé avec elle.
- Placer `{%tr … %}` hors d'un tableau (utilisez alors `{%p … %}`).
- Oublier la fermeture : chaque `{% if %}` a son `{% endif %}`, chaque `{%p if %}` son
  `{%p endif %}`, chaque `{%tr for %}` son `{%tr endfor %}`.
- Inventer un nom : `{{ client_nom }}` ou `{{ Client.Nom }}` n'existent pas, c'est
  `{{ client.nom }}` (le message d'erreur propose le nom le plus proche).
- Enregistrer au format `.doc`, `.odt` ou `.pdf` : seul `.docx` est lu.

Ce que Word fait tout seul ne gêne pas : guillemets typographiques (“ ” « ») et espaces
insécables dans une balise, balise mise en gras ou colorée en partie, correcteur
orthographique qui souligne les balises.

## Les variables
"""


def variables_markdown() -> str:
    """VARIABLES.md: the guide, then every variable of ``letters.VARIABLES`` by group."""
    out = [GUIDE]
    group = None
    for v in VARIABLES:
        if v.group != group:
            group = v.group
            out += ["", f"### {group}", "", "| Variable | Contenu | Exemple |", "|---|---|---|"]
        example = v.example.replace("|", "\\|")
        out.append(f"| `{{{{ {v.name} }}}}` | {v.description} | {example} |")
    out += [
        "",
        "Les variables « vrai / faux » (`particulier`, `afficher_penalites`, `deja_relancees`, "
        "`toutes_relancees`, `f.avoir`, `f.non_affecte`) s'utilisent dans une condition : "
        "`{% if particulier %}…{% endif %}`.",
        "",
        "Cette liste s'affiche aussi avec la commande `relance-xlsx modeles --variables`. "
        "Ce fichier est produit par `scripts/build_templates.py` à partir de "
        "`relance_xlsx/letters/variables.py` (VARIABLES) : modifiez-les là.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for filename, (title, fill) in TEMPLATES.items():
        (OUT / filename).write_bytes(build(filename, title, fill))
        print(f"écrit : {OUT / filename}")
    (OUT / "VARIABLES.md").write_text(variables_markdown(), encoding="utf-8")
    print(f"écrit : {OUT / 'VARIABLES.md'}")
    init = OUT / "__init__.py"
    if not init.exists():
        init.write_text("", encoding="utf-8")


if __name__ == "__main__":
    main()
