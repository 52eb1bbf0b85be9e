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
