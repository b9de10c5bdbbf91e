"""How every solver's result prints, renders and serialises (mlsysim.solvers.result.Result).

Each expectation is the exact text a reader sees, written out by hand from the record below;
the record is a tiny Result subclass so that every rule (skip a field that was not solved,
cite a source, list the reasons) is exercised on numbers small enough to check by eye.
"""
from __future__ import annotations

import json

import numpy as np

from mlsysim.solvers.result import Result


class _Spec:
    """Stands in for a catalogue entry: it has a key and a source, so a header names it."""

    def __init__(self, key):
        self.key, self.source = key, "a datasheet"


class _KeyOnly:
    """Has a key but no source: not a catalogue entry, so the header lists it as key=value."""

    key = "k"

    def __str__(self):
        return "key-only"


class _Toy(Result):
    TITLE = "Toy"
    # "skipped" comes first and is never solved: the rows must go on past it, not stop
    FIELDS = {"skipped": ("s", "ms", "Skipped"),
              "latency": ("s", "ms", "Latency"),
              "ratio": ("", "", "Ratio"),
              "label": (None, None, "Label")}


def _toy(reasons=(), feasible=False):
    return _Toy({"latency": 0.25, "ratio": 2.0, "label": "memory"}, feasible=feasible, reasons=reasons,
                inputs={"hardware": _Spec("H100"), "model": _Spec("Llama3_8B"), "batch_size": 4,
                        "other": _KeyOnly(), "nothing": None, "assumptions": {"a": 1}})


def test_repr_lists_every_solved_field_then_feasible_and_the_reasons():
    # 0.25 s shown in ms is 250 ms; the header names the two specs, joined by " on ", then the
    # plain inputs as key=value (None and dicts left out); "Reasons" joins the reasons with "; "
    text = repr(_toy(reasons=("memory: too big", "context: too long")))
    assert text.splitlines() == [
        "Toy: H100 on Llama3_8B (batch_size=4, other=key-only)",
        "  Latency   250 ms",
        "  Ratio     2",
        "  Label     memory",
        "  Feasible  no",
        "  Reasons   memory: too big; context: too long",
    ]


def test_repr_has_no_reasons_row_when_there_are_none():
    assert repr(_toy(feasible=True)).splitlines()[-1] == "  Feasible  yes"


def test_html_without_sources_has_no_source_column_and_escapes_text():
    page = _toy(reasons=("a < b",))._repr_html_()
    assert page.startswith("<table class='mlsysim-result'><caption>Toy: H100 on Llama3_8B "
                           "(batch_size=4, other=key-only)</caption><tr><th style='text-align:left'>Latency</th>")
    assert "source" not in page and "<cite" not in page
    assert "<td style='text-align:right;white-space:nowrap'>a &lt; b</td></tr></table>" in page


class _Sourced(_Toy):
    def _rows(self):
        yield "Peak", "989 TFLOP/s", "nvidia2023h100"
        yield "Derived", "1 s"


def test_html_with_a_source_cites_it_and_leaves_other_rows_blank():
    page = _Sourced({"latency": 1.0}, feasible=True)._repr_html_()
    assert ("<tr><th></th><th style='text-align:right'>value</th><th style='text-align:left'>source</th></tr>"
            in page)
    assert ("<td style='text-align:left'><cite class='citation' data-cites='nvidia2023h100'>"
            "<a href='#ref-nvidia2023h100'>nvidia2023h100</a></cite></td></tr>") in page
    # the row without a source gets an empty cell, not a missing one
    assert "<td style='text-align:right;white-space:nowrap'>1 s</td><td style='text-align:left'></td></tr>" in page


def test_to_dict_gives_values_in_display_units_and_survives_json():
    out = _toy(reasons=("x",)).to_dict()
    # 0.25 s -> 250 ms; a dimensionless quantity has the unit "1"; a field without a unit is
    # returned as it is; the unsolved field is left out and the fields after it are kept
    assert out == {"latency": {"value": 250.0, "unit": "ms"}, "ratio": {"value": 2.0, "unit": "1"},
                   "label": "memory", "feasible": False, "reasons": ["x"]}
    assert json.loads(json.dumps(out)) == out


def test_to_dict_turns_sweeps_into_lists():
    out = _Toy({"latency": np.array([0.001, 0.002])}, feasible=np.array([True, False])).to_dict()
    assert out["latency"] == {"value": [1.0, 2.0], "unit": "ms"}
    assert out["feasible"] == [True, False]
