"""Static typing checks: mypy --strict sees through the ledger's error-translating wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

# Heavy: runs mypy over the ledger calls.
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

SNIPPET = """\
from pathlib import Path

from ae_import.ledger import Ledger

ledger = Ledger(Path("l.sqlite"), "t")
ledger.finish("a", "created", attempts=1)
ledger.finish("a", "created", attemptz=1)
"""


def test_mypy_checks_every_ledger_call(tmp_path: Path) -> None:
    """A misspelt keyword to a wrapped ledger method is a mypy error; a right call is not."""
    snippet = tmp_path / "calls.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out, err, status = api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    errors = [line for line in out.splitlines() if ": error: " in line]
    assert status == 1, err
    assert len(errors) == 1, out
    assert ':7: error: Unexpected keyword argument "attemptz"' in errors[0]  # line 6 is right
