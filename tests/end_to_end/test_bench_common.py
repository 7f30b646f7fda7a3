"""The bench's child-process measure: each figure is the child's own."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def _bench_python(script: str) -> list[str]:
    """Run ``script`` with bench/ importable; return the words it printed."""
    return subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "bench")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()


# The parent holds 300 MB, then measures two children with bench/common.py's run_child.
_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from common import run_child
ballast = b"x" * (300 * 1024 * 1024)
small = run_child([sys.executable, "-c", "pass"])
big = run_child([sys.executable, "-c", "data = b'y' * (200 * 1024 * 1024)"])
cpu = run_child([sys.executable, "-c", "sum(range(3_000_000))"])
print(small.rss_mb, big.rss_mb, cpu.cpu_s, small.code, len(ballast))
"""


def test_run_child_reports_the_childs_own_memory_not_the_parents() -> None:
    """A 300 MB parent measures a bare child small, and a 200 MB child at 200 MB or more."""
    out = _bench_python(_SCRIPT)
    small, big, cpu, code = float(out[0]), float(out[1]), float(out[2]), int(out[3])
    assert small < 100  # subprocess's vfork would count the parent's 300 MB
    assert big >= 200
    assert cpu > 0
    assert code == 0


def test_run_child_passes_on_the_exit_code_and_the_output() -> None:
    """A child's exit code and stdout come back as it gave them."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from common import run_child; "
        "run = run_child([sys.executable, '-c', 'print(42); raise SystemExit(3)'], capture=True); "
        "print(run.code, run.out.strip())"
    )
    assert _bench_python(script) == ["3", "42"]
