"""A smoke-size run of bench/stage_stores.py, so that the staging memory figures cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.azurite import azurite_missing

# Starts emulators and uploads files in child processes: run by scripts/check.py.
pytestmark = pytest.mark.slow


def test_stage_stores_bench_runs_at_smoke_size(tmp_path: Path) -> None:
    """The bench uploads a small file to each emulator, ours and the defaults, a row each."""
    pytest.importorskip("gcp_storage_emulator")
    az_mb = "0" if azurite_missing() else "9"
    out = tmp_path / "stage.md"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stage_stores.py"), "--gs-mb", "9",
         "--az-mb", az_mb, "--out", str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    text = out.read_text(encoding="utf-8")
    assert "| gs://, our store (8 MiB chunks) | 9 MiB |" in text
    assert "| gs://, google-cloud-storage defaults | 9 MiB |" in text
    if az_mb != "0":
        assert "| az://, our store (8 MiB blocks, 4 threads) | 9 MiB |" in text
