"""Hypothesis strategies of request bodies: arbitrary JSON, and valid entries mutated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
VALID_ENTRY: dict[str, Any] = json.loads((REPO / "demo" / "payload.json").read_text())[0]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@st.composite
def mutated_entries(draw: st.DrawFn) -> dict[str, Any]:
    """A valid entry with some fields dropped, retyped or given odd values."""
    entry = json.loads(json.dumps(VALID_ENTRY))
    for field in draw(st.lists(st.sampled_from([*sorted(entry), "cds_seq_regions", "variants", "extra"]), max_size=4)):
        action = draw(st.sampled_from(["drop", "json", "text", "region"]))
        if action == "drop":
            entry.pop(field, None)
        elif action == "json":
            entry[field] = draw(json_values)
        elif action == "text":
            entry[field] = draw(st.text(max_size=40))
        else:
            entry[field] = draw(
                st.lists(
                    st.one_of(
                        st.text(max_size=12),
                        st.fixed_dictionaries(
                            {"start": st.integers(-5, 10**9), "end": st.integers(-5, 10**9)},
                            optional={"frame": st.integers(-1, 3)},
                        ),
                    ),
                    max_size=3,
                )
            )
    return entry
