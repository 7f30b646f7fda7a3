"""Shared fixtures: paths, file writers, and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from ae_import.net import CA_VARIABLES, PROXY_VARIABLES
from tests.helpers import Sandboxes, Writer

# Tests are never timed: a loaded CI machine must not fail a property test by its clock.
settings.register_profile("ae-import", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ae-import")


@pytest.fixture(autouse=True)
def _no_proxy_or_ca_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the machine's proxy and CA variables (a TLS-inspecting CI box sets them)."""
    for name in list(os.environ):
        if name.lower() in PROXY_VARIABLES or name in CA_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Return a helper that writes text or bytes to a file in tmp_path and returns its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(content)
        return path

    return _write


@pytest.fixture
def runner() -> CliRunner:
    """Return a Typer CLI runner."""
    return CliRunner()


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    """Yield a starter of sandboxes on 127.0.0.1; all are stopped afterwards."""
    starter = Sandboxes()
    try:
        yield starter
    finally:
        starter.stop_all()


@pytest.fixture
def sandbox(sandboxes: Sandboxes) -> Any:
    """Yield a default sandbox (token SANDBOX_TOKEN, no latency); use .base_url and .store."""
    return sandboxes.start()


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary working directory (the default ledger lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
