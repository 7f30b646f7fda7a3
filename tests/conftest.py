"""Shared fixtures: paths, file writers, and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"
SPEC_DIR = ROOT.parent / "shared" / "spec"

Writer = Callable[[str, str | bytes], Path]


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


SANDBOX_TOKEN = "test-token-5f1e9c"


class Sandboxes:
    """Starts sandboxes in threads on ephemeral ports and stops them all at the end."""

    def __init__(self) -> None:
        """Start with none running."""
        from ae_import.sandbox import SandboxServer

        self.running: list[SandboxServer] = []

    def start(self, state: Path | None = None, **settings: Any) -> Any:
        """Start a sandbox with these settings; return the running SandboxServer."""
        from ae_import.sandbox import SandboxServer, SandboxSettings

        settings.setdefault("token", SANDBOX_TOKEN)
        server = SandboxServer(SandboxSettings(**settings), state=state)
        server.start()
        self.running.append(server)
        return server

    def stop_all(self) -> None:
        """Stop every sandbox started here."""
        for server in self.running:
            server.stop()
        self.running.clear()


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
