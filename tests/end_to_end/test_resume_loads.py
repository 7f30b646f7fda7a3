"""A resumed run that finds every row done never loads the HTTP stack (httpx, aiohttp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, SANDBOX_TOKEN, Writer
from tests.helpers.cli import HEADER, line

pytestmark = pytest.mark.slow  # three processes, 2 s each on 2 cores

# Runs the command as `python -m ae_import` does, then says which HTTP modules were loaded.
PROBE = """
import runpy, sys
try:
    runpy.run_module("ae_import", run_name="__main__")
except SystemExit:
    pass
sys.stderr.write("LOADED " + " ".join(m for m in ("httpx", "aiohttp") if m in sys.modules))
"""


def run_probed(manifest: Path, ledger: Path, base_url: str) -> tuple[dict[str, Any], str]:
    """Run `ae-import run` in a new process; return its report and the HTTP modules it loaded."""
    argv = ["run", str(manifest), "--base-url", base_url, "--ledger", str(ledger), "--json"]
    env = {**os.environ, "AE_API_TOKEN": SANDBOX_TOKEN, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    loaded = done.stderr.rpartition("LOADED")[2].split()
    return json.loads(done.stdout), " ".join(loaded)


def test_a_resume_with_nothing_to_send_never_loads_httpx_or_aiohttp(
    sandbox: Any, tmp_path: Path, write: Writer
) -> None:
    """The first run loads the HTTP stack and sends; the re-run skips every row without it."""
    manifest = write("m.csv", HEADER + line("a") + line("b"))
    ledger = tmp_path / "l.sqlite"
    first, loaded = run_probed(manifest, ledger, sandbox.base_url)
    assert (first["created"], loaded) == (2, "httpx aiohttp")
    again, loaded = run_probed(manifest, ledger, sandbox.base_url)
    assert (again["skipped"], again["created"], loaded) == (2, 0, "")
    with manifest.open("a") as more:
        more.write(line("c"))
    third, loaded = run_probed(manifest, ledger, sandbox.base_url)
    assert (third["skipped"], third["created"], loaded) == (2, 1, "httpx aiohttp")
