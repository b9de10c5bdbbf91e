"""The README's first engine example runs and prints what the README says it prints."""
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_first_example_prints_readable_quantities():
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## The engine.*?```python\n(.*?)```", text, re.S).group(1)
    promised = re.search(r"^# (TTFT .*)$", code, re.M).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().splitlines()[0] == promised
