"""Test helpers shared by every test package: paths, the sandbox token, and sandboxes in threads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
SAMPLES = ROOT / "samples"
DATA = TESTS / "data"

SPEC_DIR = ROOT.parent / "shared" / "spec"


Writer = Callable[[str, str | bytes], Path]


SANDBOX_TOKEN = "test-token-5f1e9c"


class Sandboxes:
    """Starts sandboxes in threads on ephemeral ports and stops them all at the end.

    Stopping a uvicorn server takes 0.1 to 0.3 s of its own timers (a tick, a grace
    sleep), about a sixth of the suite's time with a sandbox per test; so a test's
    sandboxes stop in the background while the next test runs, and ``wait_stopped``
    (at the end of the session) waits for them all.
    """

    stopping: list[threading.Thread] = []  # noqa: RUF012 (shared by every starter, on purpose)

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
        """Stop every sandbox started here, in the background (see ``wait_stopped``)."""
        for server in self.running:
            stopper = threading.Thread(target=server.stop, name="sandbox-stop", daemon=True)
            stopper.start()
            Sandboxes.stopping.append(stopper)
        self.running.clear()

    @classmethod
    def wait_stopped(cls) -> None:
        """Wait until every sandbox stopped in the background has stopped."""
        while cls.stopping:
            cls.stopping.pop().join(timeout=30)


def posix_only(why: str) -> pytest.MarkDecorator:
    """Return a mark that skips a test on Windows, saying which POSIX behaviour it needs."""
    return pytest.mark.skipif(sys.platform == "win32", reason=f"POSIX only: {why}")
