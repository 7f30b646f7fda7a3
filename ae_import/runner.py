"""The core of ``ae-import run``: manifest, ledger, client and engine, wired together.

``cli.py`` builds the settings and calls ``run_import``; this module opens what the
run needs, installs the signal handlers, runs the engine on an event loop, closes
everything, and says what the exit code is.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .client import Client, LazyClient
from .config import Config
from .engine import Engine, EngineSettings, Progress, Summary
from .errors import EXIT_AUTH, EXIT_INVALID, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM
from .ledger import Ledger
from .manifest import Manifest, open_manifest
from .mapping import Mapper
from .pipeline import RowSource
from .settings import RunSettings, read_token

__all__ = ["RunResult", "run_import", "sandbox_state_path"]

SANDBOX_TARGET = "sandbox"


@dataclass(frozen=True)
class RunResult:
    """How a run ended: its summary, its exit code, and a line for stderr if any."""

    summary: Summary
    exit_code: int
    error: str | None = None


def sandbox_state_path(ledger: Path) -> Path:
    """Return where ``--sandbox`` keeps the emulated server's state, beside the ledger."""
    if ledger.stem.endswith("-ledger"):
        return ledger.with_name(ledger.stem.removesuffix("-ledger") + "-state.sqlite")
    return ledger.with_name(ledger.stem + "-sandbox-state.sqlite")


def _exit_code(summary: Summary, signals: list[str]) -> tuple[int, str | None]:
    if signals:
        return (EXIT_SIGTERM if signals[0] == "SIGTERM" else EXIT_SIGINT), summary.message
    if summary.stopped == "auth":
        return EXIT_AUTH, summary.message
    if summary.stopped == "retry_budget":
        return EXIT_INVALID, f"stopped: {summary.message}"
    return (EXIT_OK if summary.clean else EXIT_INVALID), None


async def _drive(engine: Engine, manifest: Manifest, mapper: Mapper, signals: list[str]) -> Summary:
    loop = asyncio.get_running_loop()

    def on_signal(name: str) -> None:
        signals.append(name)
        engine.interrupt(name)

    for number, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        loop.add_signal_handler(number, on_signal, name)
    try:
        return await engine.run(RowSource(manifest, mapper))
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        if engine.client is not None:
            await engine.client.aclose()


def run_import(
    manifest_name: str,
    fmt: str | None,
    config: Config,
    settings: RunSettings,
    env: Mapping[str, str],
    progress: Progress,
    on_open: Callable[[Manifest], None] | None = None,
) -> RunResult:
    """Import one manifest as ``settings`` say; return the summary and the exit code."""
    ledger_path = settings.ledger_path
    server: Any = None
    ledger: Ledger | None = None
    with open_manifest(manifest_name, fmt) as manifest:
        if on_open is not None:
            on_open(manifest)
        mapper = Mapper(
            config.mapping,
            run_workflows=settings.run_workflows,
            strip_cells=manifest.format != "jsonl",
        )
        try:
            if settings.sandbox:
                from .sandbox import SandboxServer, SandboxSettings

                target = SANDBOX_TARGET
                token = "sk-sandbox-" + os.urandom(12).hex()
                if not settings.dry_run:
                    server = SandboxServer(
                        SandboxSettings(token=token), state=sandbox_state_path(ledger_path)
                    )
                    base_url = server.start()
            else:
                target = base_url = settings.base_url.rstrip("/")
                token = "" if settings.dry_run else read_token(settings, env)
            if settings.dry_run:
                ledger = Ledger(ledger_path, target, create=False) if ledger_path.exists() else None
            else:
                ledger = Ledger(ledger_path, target)
            client: Client | None = None
            if not settings.dry_run:
                client = LazyClient(
                    base_url,
                    token,
                    auth_scheme=settings.auth_scheme,
                    timeout=settings.timeout,
                    concurrency=settings.concurrency,
                    ca_bundle=settings.ca_bundle,
                    user_agent=f"ae-import/{__version__}",
                )
            engine = Engine(
                client,
                ledger,
                EngineSettings(
                    manifest=manifest.name,
                    concurrency=settings.concurrency,
                    max_attempts=settings.max_attempts,
                    rate=settings.rate,
                    retry_budget=settings.retry_budget,
                    limit=settings.limit,
                    retry_failed=settings.retry_failed,
                    dry_run=settings.dry_run,
                ),
                progress=progress,
            )
            signals: list[str] = []
            summary = asyncio.run(_drive(engine, manifest, mapper, signals))
        finally:
            if ledger is not None:
                ledger.close()
            if server is not None:
                server.stop()
    code, error = _exit_code(summary, signals)
    return RunResult(summary, code, error)
