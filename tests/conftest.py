from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def pytest_collection_modifyitems(config, items):
    """Engine tests turn numpy's RuntimeWarnings (division by zero, invalid values) into errors: the
    engine states where it divides by zero on purpose (``np.errstate``), so any other one is a bug."""
    book = ROOT / "tests" / "book"
    for item in items:
        if book not in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("error::RuntimeWarning"))
