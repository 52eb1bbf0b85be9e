"""Write the demo export ``sample_workbooks/echeancier_clients.xlsx``.

A realistic "échéancier clients" as an accounting package exports it: two title rows above
the header, 15 clients, about 60 invoices, text and real dates mixed, amounts as numbers
and as text "1 234,56 €", a few paid, two credit notes, one disputed, one partly paid,
history columns kept by the software, and a total row at the bottom.

Run: ``python scripts/make_sample.py`` (deterministic: the same file every time).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

OUT = Path(__file__).resolve().parent.parent / "sample_workbooks" / "echeancier_clients.xlsx"

CLIENTS = [
    ("C0001", "Boulangerie Martin SARL", "Mme Sophie Martin", "12 rue des Lilas", "69003", "Lyon"),
    ("C0002", "Dupont & Fils <SAS>", "M. Jean Dupont", "4 avenue Foch", "75016", "Paris"),
    ("C0003", "Garage du Centre", "M. Karim Benali", "88 route de Vienne", "38200", "Vienne"),
    ("C0004", "Cabinet Lefèvre Architectes", "Mme Claire Lefèvre", "3 place Bellecour",
     "69002", "Lyon"),
    ("C0005", "Transports Rousseau", "M. Paul Rousseau", "ZI des Platières", "08000",
     "Charleville-Mézières"),
    ("C0006", "Hôtel Le Beau Rivage", "Mme Anne Girard", "1 quai du Rhône", "13200", "Arles"),
    ("C0007", "SCI Les Tilleuls", "M. Henri Blanc", "27 allée des Tilleuls", "33000",
     "Bordeaux"),
    ("C0008", "Pharmacie de la Gare", "Mme Julie Moreau", "2 rue de la Gare", "67000",
     "Strasbourg"),
    ("C0009", "Menuiserie Perrin", "M. Luc Perrin", "Lieu-dit Les Granges", "71100",
     "Chalon-sur-Saône"),
    ("C0010", "Restaurant L'Étoile", "M. Marc Petit", "9 rue Mercière", "69002", "Lyon"),
    ("C0011", "Agence Com&Co", "Mme Léa Fontaine", "45 boulevard Haussmann", "75009", "Paris"),
    ("C0012", "M. Thomas Richard", "", "6 impasse des Roses", "44000", "Nantes"),
    ("C0013", "Laboratoire Biotech Alpes", "Dr. Nadia Haddad", "Parc technologique",
     "38330", "Montbonnot"),
    ("C0014", "Électricité Générale Faure", "M. Yves Faure", "17 rue Jean Jaurès", "42000",
     "Saint-Étienne"),
    ("C0015", "Crèche Les Petits Loups", "Mme Emma Chevalier", "5 rue des Écoles", "31000",
     "Toulouse"),
]

HEADERS = [
    "Code client", "Raison sociale", "N° pièce", "Date pièce", "Date d'éch.", "Montant TTC",
    "Réglé", "Reste à payer", "Litige", "Niveau relance", "Dernière relance", "Contact",
    "Téléphone", "E-mail", "Adresse", "CP", "Ville", "Type client",
]  # fmt: skip


def slug(name: str) -> str:
    """"Boulangerie Martin SARL" -> "boulangerie-martin" for a plausible e-mail domain."""
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [w for w in "".join(c if c.isalnum() else " " for c in ascii_name).lower().split()
             if w not in ("sarl", "sas", "sa", "m", "mme", "dr", "l", "le", "la", "les", "du")]
    return "-".join(words[:2]) or "client"


def euros_text(x: float) -> str:
    whole, cents = f"{abs(x):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if x < 0 else "") + "\u00a0".join(groups) + "," + cents + "\u00a0€"


def build() -> Workbook:
    rng = random.Random(20261123)
    wb = Workbook()
    ws = wb.active
    ws.title = "Échéancier"
    ws["A1"] = "Échéancier clients – Balance âgée détaillée"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:H1")
    ws["A2"] = "Société Exemple SARL – export du 20/11/2026 – factures non soldées"
    ws["A2"].font = Font(italic=True, color="555555")
    ws.append(HEADERS)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.border = Border(bottom=thin)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    rows = []
    number = 2026_0400
    for code, name, contact, street, cp, city in CLIENTS:
        for _ in range(rng.randint(3, 5)):
            number += rng.randint(1, 9)
            issued = date(2026, 7, 1) + timedelta(days=rng.randint(0, 130))
            due = issued + timedelta(days=rng.choice([30, 30, 45, 60]))
            amount = round(rng.uniform(180, 9800), 2)
            rows.append({
                "code": code, "name": name, "contact": contact, "street": street, "cp": cp,
                "city": city, "num": f"FA{number}", "issued": issued, "due": due,
                "ttc": amount, "paid": 0.0, "litige": "", "level": None, "last": None,
                "type": "Particulier" if code == "C0012" else "Professionnel",
            })  # fmt: skip
    # paid invoices still listed by the export (settled since the last lettering)
    for i in (3, 14, 27, 38):
        rows[i]["paid"] = rows[i]["ttc"]
    # one partly paid invoice
    rows[5]["paid"] = round(rows[5]["ttc"] * 0.4, 2)
    # one disputed invoice
    rows[12]["litige"] = "oui"
    # two credit notes
    for r in (rows[20], rows[33]):
        r["num"] = r["num"].replace("FA", "AV")
        r["ttc"] = -round(abs(r["ttc"]) * 0.25, 2)
        r["due"] = r["issued"]
    # history kept by the accounting software: the oldest invoices were already reminded
    oldest = sorted(
        (i for i, r in enumerate(rows) if r["paid"] == 0 and r["ttc"] > 0 and not r["litige"]),
        key=lambda i: rows[i]["due"],
    )
    history = [(3, "16/10/2026"), (2, "20/10/2026"), (2, "02/11/2026"), (1, "06/11/2026"),
               (1, "13/11/2026"), (1, "30/10/2026")]  # fmt: skip
    for i, (level, last) in zip(oldest, history, strict=False):
        rows[i]["level"], rows[i]["last"] = level, last

    for i, r in enumerate(rows):
        rest = round(r["ttc"] - r["paid"], 2)
        text_dates = i % 3 == 0  # mix real dates and text dates as exports do
        text_amounts = i % 4 == 1
        ws.append([
            r["code"], r["name"], r["num"],
            r["issued"].strftime("%d/%m/%Y") if text_dates else r["issued"],
            r["due"].strftime("%d/%m/%Y") if text_dates else r["due"],
            euros_text(r["ttc"]) if text_amounts else r["ttc"],
            r["paid"] if r["paid"] else None,
            euros_text(rest) if text_amounts else rest,
            r["litige"], r["level"], r["last"], r["contact"],
            f"04 7{i % 10} {10 + i:02d} {20 + i % 70:02d} {30 + i % 60:02d}",
            f"compta@{slug(r['name'])}.fr" if i % 5 else "",
            r["street"], r["cp"], r["city"], r["type"],
        ])  # fmt: skip
    last = ws.max_row
    ws.append(["", "Total général", "", "", "", f"=SUM(F4:F{last})", f"=SUM(G4:G{last})",
               f"=SUM(H4:H{last})"])  # fmt: skip
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=4, max_row=ws.max_row):
        for cell in row:
            if cell.column in (4, 5, 11) and not isinstance(cell.value, str):
                cell.number_format = "DD/MM/YYYY"
            if cell.column in (6, 7, 8):
                cell.number_format = '#,##0.00 "€"'
    widths = [11, 30, 12, 12, 12, 14, 12, 14, 8, 10, 13, 20, 17, 26, 26, 8, 22, 14]
    for idx, w in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=3, column=idx).column_letter].width = w
    ws.freeze_panes = "C4"
    ws.auto_filter.ref = f"A3:R{last}"
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Export réalisé depuis le logiciel comptable. Ne pas modifier les colonnes A à R."
    return wb


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    build().save(OUT)
    print(f"Écrit : {OUT}")
