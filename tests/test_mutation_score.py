"""The rules scripts/mutation_score.py uses to set mutants aside: each must say yes only when no
caller could tell the mutant from the original."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "mutation_score.py"
_spec = importlib.util.spec_from_file_location("mutation_score", _PATH)
score = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score)


def test_an_upper_cased_precision_keyword_or_default_is_equivalent():
    assert score.is_precision_case('def solve(m, h, batch_size=1, precision="fp16"):',
                                   'def solve(m, h, batch_size=1, precision="FP16"):')
    assert score.is_precision_case('def kv(model, precision: str = "fp8"):', 'def kv(model, precision: str = "FP8"):')


def test_other_changes_to_a_precision_are_not():
    # a different name, a changed number on the same line, a precision that is not a keyword
    assert not score.is_precision_case('f(precision="fp16")', 'f(precision="XXfp16XX")')
    assert not score.is_precision_case('f(batch_size=1, precision="fp16")', 'f(batch_size=2, precision="FP16")')
    assert not score.is_precision_case('if p == "fp16":', 'if p == "FP16":')


def test_message_wording_is_a_changed_string_in_a_message_but_not_the_parameter_named():
    assert score.is_message_wording('raise InputError("pue", "a number >= 1", pue)',
                                    'raise InputError("pue", "XXa number >= 1XX", pue)')
    # the parameter an error names is what a caller checks: not wording
    assert not score.is_message_wording('raise InputError("pue", "a number >= 1", pue)',
                                        'raise InputError("PUE", "a number >= 1", pue)')
    # a string that is not in a message (a dictionary key) is not wording
    assert not score.is_message_wording('values["policy"] = p', 'values["POLICY"] = p')


def test_equivalents_file_entries_carry_their_reason(tmp_path):
    path = tmp_path / "eq.txt"
    path.write_text("# header, then a blank line\n\n# why: the two are equal\n"
                    "pkg.mod.x_f :: return a  if a > b else b\n\n# another reason\npkg.mod.x_g :: return 1\n")
    assert score.load_equivalent(path) == {("pkg.mod.x_f", "return a if a > b else b"): "why: the two are equal",
                                           ("pkg.mod.x_g", "return 1"): "another reason"}
