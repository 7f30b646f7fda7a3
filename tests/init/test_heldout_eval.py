"""A guard on init's quality: bench/init_eval.py's score on the held-out sets must not fall.

The sets are never tuned on (docs/init.md says how each was written and when it was run);
these tests only keep a change from making init worse on them unnoticed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def _eval_module() -> ModuleType:
    """Load bench/init_eval.py (bench is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("init_eval", BENCH / "init_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("folder", "floor"), [("heldout", 0.95), ("heldout-c", 0.9)])
def test_init_then_validate_gets_the_fields_right_on_held_out_exports(
    folder: str, floor: float
) -> None:
    """With the zone the user knows, init+validate get at least the measured share right."""
    module = _eval_module()
    expected = json.loads((BENCH / "init_eval" / folder / "expected.json").read_text("utf-8"))
    right = total = 0
    for name, truth in expected.items():
        score = module.evaluate(BENCH / "init_eval" / folder / name, truth, truth["timezone"])
        assert not score["error"], (name, score["error"])
        right += score["right"]
        total += score["total"]
    assert right / total >= floor
