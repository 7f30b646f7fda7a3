"""Crash safety: `ae-import run` killed at random moments, resumed, and nothing lost or doubled.

A sandbox with 100 ms latency runs in this process, so it outlives every kill, and the
import outlasts the ten kills whatever the machine's speed; each run is a real child
process. After the loop one last run finishes the job, then: ``PRAGMA integrity_check``
is ok, every row is created or existing, the server holds exactly the manifest's
engagements, each created once, and the ledger agrees with it.

The normal suite kills 10 times over 1,000 rows; ``pytest -m slow`` runs the long
loops (50 kills over 5,000 rows, through a proxy that also resets connections).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ae_import.sandbox.faults import FaultPlan, FaultProxy
from tests.helpers import Sandboxes, posix_only
from tests.helpers.kills import finish_and_check, kill_loop, write_manifest

pytestmark = posix_only("the loops send SIGKILL and SIGTERM to a child run")
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # collected on Windows too


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """Ten SIGKILLs at random moments over 1,000 rows: every row created exactly once."""
    server = sandboxes.start(latency_ms=100)
    manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
    names = write_manifest(manifest, 1000)
    codes = kill_loop(manifest, ledger, server.base_url, signal.SIGKILL, 10, seed=1)
    assert codes.count(-signal.SIGKILL) == 10
    finish_and_check(manifest, ledger, server.base_url, server, names)


@pytest.mark.slow
def test_sigterm_at_random_moments_leaves_nothing_pending(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    """Ten SIGTERMs over 1,000 rows: each run exits 143 with no row pending; nothing lost."""
    server = sandboxes.start(latency_ms=100)
    manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
    names = write_manifest(manifest, 1000)
    codes = kill_loop(manifest, ledger, server.base_url, signal.SIGTERM, 10, seed=2)
    assert set(codes) <= {143, 0}
    assert codes.count(143) == 10
    finish_and_check(manifest, ledger, server.base_url, server, names)


@pytest.mark.slow
@pytest.mark.parametrize("how", [SIGKILL, signal.SIGTERM])
def test_long_kill_loop_through_network_faults(
    sandboxes: Sandboxes, tmp_path: Path, how: signal.Signals
) -> None:
    """Fifty signals over 5,000 rows, through resets and create-then-500: still exactly once."""
    server = sandboxes.start(latency_ms=30)
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    plan = FaultPlan(rates={"reset-after": 0.02, "create-500": 0.02, "reset-before": 0.02}, seed=9)
    with FaultProxy(("127.0.0.1", port), plan) as proxy:
        manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
        names = write_manifest(manifest, 5000)
        kill_loop(manifest, ledger, proxy.base_url, how, 50, seed=3)
        finish_and_check(manifest, ledger, proxy.base_url, server, names)
