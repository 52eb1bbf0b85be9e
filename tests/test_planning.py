"""planning.client_details: each client's first non-empty contact value, field by field."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from relance_xlsx.planning import CONTACT_FIELDS, client_details

VALUES = st.sampled_from(["", "a", "b", " x", None, float("nan")])


def _reference(rows: list[dict[str, object]], keys: set[str]) -> dict[str, dict[str, object]]:
    """The rule, one row at a time."""
    out: dict[str, dict[str, object]] = {}
    for row in rows:
        key = row["cle_client"]
        if key not in keys:
            continue
        d = out.setdefault(key, {**dict.fromkeys(CONTACT_FIELDS, ""), "particulier": False})
        for name in CONTACT_FIELDS:
            value = row[name]
            blank = value is None or value != value or value == ""
            if d[name] == "" and not blank:
                d[name] = value
        d["particulier"] = d["particulier"] or bool(row["particulier"])
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "cle_client": st.sampled_from(["k1", "k2", "k3", "k4"]), "particulier": st.booleans(),
    **{name: VALUES for name in CONTACT_FIELDS}}), min_size=1, max_size=30),
    st.sets(st.sampled_from(["k1", "k2", "k3", "k5"]), min_size=1))  # fmt: skip
def test_first_non_empty_value_per_client_and_field(rows, keys):
    table = pd.DataFrame(rows).astype({name: object for name in CONTACT_FIELDS})
    got = client_details(table, keys)
    want = _reference(rows, keys)
    assert list(got) == list(want)  # clients in order of first appearance
    assert got == want


MONEY = st.sampled_from([0.0, -0.0, float("nan"), 1200.5, 1200.505, -300.0, 0.1 + 0.2, 99.99])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(MONEY, MONEY, MONEY, st.booleans()), min_size=1, max_size=12))
def test_letter_line_amounts_as_each_value_alone(amounts):
    """The shared Decimals (ttc for the rest when equal, ZERO for nothing paid) are the
    amounts each value gives on its own: a -0.0 or NaN paid, a rest other than the total,
    credit notes; always to the cent."""
    from datetime import date

    from relance_xlsx.formatting import to_decimal
    from relance_xlsx.planning import _letter_lines

    n = len(amounts)
    listed = pd.DataFrame({
        "cle_client": ["k1"] * n, "numero_facture": [f"F{i}" for i in range(n)],
        "date_facture": [pd.Timestamp(2026, 1, 1)] * n,
        "date_echeance": [pd.Timestamp(2026, 2, 1)] * n,
        "montant_ttc": [a[0] for a in amounts], "montant_regle": [a[1] for a in amounts],
        "reste_du": [a[2] for a in amounts], "jours_retard": [10] * n,
        "est_avoir": [a[3] for a in amounts], "ligne": list(range(2, n + 2)), "niveau": [0] * n,
        "non_affecte": [False] * n})  # fmt: skip
    level_dates = pd.Series([pd.NaT] * n, index=listed.index)
    lines = _letter_lines(listed, level_dates)["k1"]
    for line, (ttc, paid, rest, credit) in zip(lines, amounts, strict=True):
        assert line.avoir is credit and line.date_echeance == date(2026, 2, 1)
        if rest == ttc:  # one object, not two (a million-row run's letters)
            assert line.reste_du is line.montant_ttc
        for got, value, blank in ((line.montant_ttc, ttc, None),
                                  (line.montant_regle, paid, None),
                                  (line.reste_du, rest, to_decimal(0))):  # fmt: skip
            if value != value:
                assert got == blank and (got is None or got.as_tuple().exponent == -2)
            else:
                assert got == to_decimal(value) and got.as_tuple().exponent == -2
