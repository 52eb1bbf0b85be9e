"""Rows that read but look wrong are warned about; the summary says which column fed what."""

from __future__ import annotations

from datetime import date

from conftest import invoice, run_cli, write_xlsx

RUN = "2026-11-23"


def test_suspicious_rows_are_warned_and_columns_listed(runner_cwd):
    rows = [
        invoice("F1", date(2026, 9, 1), issued=date(2026, 10, 1)),  # due before issued
        invoice("F2", date(2026, 9, 1), 1000.0, paid=1500.0, rest=0.0),  # paid above amount
        invoice("F3", date(2031, 1, 1)),  # due in more than two years
        invoice("F4", date(2026, 9, 1)),
    ]
    export = write_xlsx(runner_cwd / "e.xlsx", rows)
    result = run_cli("run", export, "--date", RUN, "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Échéance antérieure à la date de facture : ligne 4 (F1)" in out
    assert "Montant réglé supérieur au montant de la facture : ligne 5 (F2)" in out
    assert "Échéance à plus de deux ans : ligne 6 (F3)" in out
    assert "F4)" not in out.split("Avertissements")[-1]
    assert "Colonnes lues :" in out
    assert "Date d'échéance : « Échéance » (colonne E)" in out
    assert "Numéro de facture : « N° facture » (colonne C)" in out
