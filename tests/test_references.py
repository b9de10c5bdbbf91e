"""references.bib holds every source the engine cites: in its data files (source: key), in its
code (Source("key")), and in its docstrings ([@key]); a result table's citation must resolve
to an entry of the page's reference list, so a missing key is a dead end for the reader."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The key a spec loaded from a user's own YAML file carries: a label, not a citation.
NOT_CITATIONS = {"user-defined"}
PATTERNS = [
    re.compile(r"\[@([\w:.-]+?)\]"),                                             # docstrings
    re.compile(r"(?<![\w@/.])@([a-z][\w-]*\d{4}[\w-]*)"),                        # narrative @key
    re.compile(r"""^\s*(?:source|key):\s*["']?([a-z][\w-]*\d{4}[\w-]*)""", re.M),  # YAML data
    re.compile(r"""Source\(\s*["']([^"']+)["']"""),                              # code
    re.compile(r"""\bsource=["']([a-z][\w-]*\d{4}[\w-]*)"""),
]


def cited_by_engine() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "mlsysim").rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix not in (".py", ".yaml", ".yml", ".csv", ".md", ".json"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            for m in pattern.finditer(text):
                found.setdefault(m.group(1), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_key_the_engine_cites_is_in_references_bib():
    keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", (ROOT / "references.bib").read_text(encoding="utf-8")))
    cited = cited_by_engine()
    assert len(cited) > 20, "the scan found almost no citations: is the pattern still right?"
    missing = {k: sorted(v) for k, v in cited.items() if k not in keys and k not in NOT_CITATIONS}
    assert not missing, "cited by the engine but not in references.bib:\n" + \
        "\n".join(f"  {k}: {', '.join(v[:3])}" for k, v in sorted(missing.items()))


def test_economics_table_cites_its_sources():
    from mlsysim import EconomicsModel, Fleet, Hardware, Node
    r = EconomicsModel().solve(Fleet("f", Node("n", Hardware.Cloud.H100), 2), 365)
    page = r._repr_html_()
    assert "[eia2024electricity]" not in page and "electricity_price" not in page
    assert "data-cites='eia2024electricity'" in page and "Electricity price" in page and "USD/kWh" in page
    assert r.sources()["electricity_price"] == "eia2024electricity"
