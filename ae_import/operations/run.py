"""The core of ``ae-import run``: lock, manifest, ledger, client and engine, wired together.

``cli.py`` builds the settings and calls ``run_import``; this module takes the run
lock, opens what the run needs, records the run in the ledger's runs table, sets
the time budget, installs the signal handlers, runs the engine on an event loop,
closes everything, and says what the exit code is.

The client gets a ``cloud.Signer`` (from the config's ``cloud:`` section and the
environment; it loads nothing until a row holds a reference), and with
``--check-media`` the engine gets a ``mediacheck.MediaGate`` whose check caches in
the ledger and signs references with the same signer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ae_import.config import Config
from ae_import.errors import (
    EXIT_INVALID,
    EXIT_OK,
    AeImportError,
    AuthError,
    CloudError,
    RunStopped,
    Terminated,
    UsageError,
    exit_status,
)
from ae_import.ledger import Ledger, RunLock
from ae_import.mapping import Mapper, RowSource
from ae_import.media import MediaCheck, Signer
from ae_import.net import network_for
from ae_import.options import RunSettings
from ae_import.reading import NESTED_FORMATS, Manifest, open_manifest
from ae_import.records import Row
from ae_import.redact import redact_url
from ae_import.sending import (
    Client,
    Clock,
    EngagementClient,
    Engine,
    MediaGate,
    Progress,
    RunLog,
    RunMeter,
    Sleep,
    StageGate,
    Summary,
    no_events,
)
from ae_import.settings import SANDBOX_TARGET, read_token
from ae_import.version import version

from .signals import catch_stop_signals
from .staging import media_sources, open_stager

__all__ = ["RunResult", "format_duration", "run_import", "sandbox_state_path", "seconds_until"]


@dataclass(frozen=True)
class RunResult:
    """How a run ended: its summary, its exit code, and a line for stderr if any."""

    summary: Summary
    error: BaseException | None = None  # what stopped the run early, if anything
    fail_on: str = "any"  # --fail-on: which rows make the exit code 1
    ledger: Path | None = None  # the ledger the run wrote (None: a dry run without one)

    @property
    def exit_code(self) -> int:
        """Return the exit code: the table's for an error, else 0 or 1 by the summary."""
        if self.error is not None:
            return exit_status(self.error)[0]
        return EXIT_OK if self.summary.passes(self.fail_on) else EXIT_INVALID

    @property
    def message(self) -> str | None:
        """Return the line that says why the run stopped early, if it did."""
        return None if self.error is None else exit_status(self.error)[1]


def sandbox_state_path(ledger: Path) -> Path:
    """Return where ``--sandbox`` keeps the emulated server's state, beside the ledger."""
    if ledger.stem.endswith("-ledger"):
        return ledger.with_name(ledger.stem.removesuffix("-ledger") + "-state.sqlite")
    return ledger.with_name(ledger.stem + "-sandbox-state.sqlite")


def format_duration(seconds: float) -> str:
    """Write seconds as 6h, 1h30m, 90s."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


def seconds_until(hour: int, minute: int, now: float) -> float:
    """Return the seconds from epoch time ``now`` to the next local HH:MM (DST-aware)."""
    today = datetime.fromtimestamp(now).replace(hour=hour, minute=minute, second=0, microsecond=0)
    for day in (today, today + timedelta(days=1)):
        target = time.mktime(day.timetuple())
        if target > now:
            return target - now
    return 86400.0  # pragma: no cover - mktime is never two days off


def _deadline(settings: RunSettings, wall: float) -> tuple[float | None, str]:
    """Return the seconds the run may dispatch for, and the option that set that."""
    found: list[tuple[float, str]] = []
    if settings.max_duration is not None:
        found.append(
            (settings.max_duration, f"--max-duration {format_duration(settings.max_duration)}")
        )
    if settings.until is not None:
        hour, minute = settings.until
        found.append((seconds_until(hour, minute, wall), f"--until {hour:02d}:{minute:02d}"))
    if not found:
        return None, ""
    seconds, option = min(found)
    return seconds, f"{option} reached"


def _arguments(argv: Sequence[str]) -> list[str]:
    """Return the command line as it may be stored: URLs without query or user-info.

    A proxy may be given without a scheme (``user:pass@host:3128``): its user-info goes too.
    """
    words: list[str] = []
    for arg in argv:
        if words and words[-1] == "--proxy" and "://" not in arg:
            words.append(redact_url("http://" + arg).removeprefix("http://"))
        else:
            words.append(redact_url(arg) if "://" in arg else arg)
    return words


def _ending(summary: Summary, signals: list[str]) -> BaseException | None:
    """Return the exception that says why the run stopped early (exit codes: errors.py)."""
    if signals:
        return (Terminated if signals[0] == "SIGTERM" else KeyboardInterrupt)(summary.message)
    if summary.stopped == "auth":
        return AuthError(summary.message or "the server refused the token")
    if summary.stopped == "wrong_url":
        return UsageError(summary.message or "check --base-url")
    if summary.stopped == "cloud":
        return CloudError(summary.message or "a media reference cannot be signed")
    if summary.stopped in ("retry_budget", "tls", "local"):
        return RunStopped(f"stopped: {summary.message}")
    return None


async def _drive(
    engine: Engine,
    source: RowSource,
    signals: list[str],
    media: MediaGate | None,
    stage: StageGate | None = None,
) -> Summary:
    def on_signal(name: str) -> None:
        signals.append(name)
        engine.interrupt(name)

    restore = catch_stop_signals(asyncio.get_running_loop(), on_signal)
    try:
        return await engine.run(source, source.check)
    finally:
        restore()
        if engine.client is not None:
            await engine.client.aclose()
        if media is not None:
            await media.aclose()
        if stage is not None:
            await stage.aclose()


@dataclass(frozen=True)
class _Target:
    """Where rows go: the base URL and token, and the name the ledger is bound to."""

    name: str
    base_url: str
    token: str


@contextlib.contextmanager
def _target(settings: RunSettings, env: Mapping[str, str], ledger_path: Path) -> Iterator[_Target]:
    """Yield the target; for --sandbox, serve one in-process for the length of the run."""
    if not settings.sandbox:
        token = "" if settings.dry_run else read_token(settings, env)
        base_url = settings.base_url.rstrip("/")
        yield _Target(base_url, base_url, token)
        return
    from ae_import.sandbox import SandboxServer, SandboxSettings

    token = "sk-sandbox-" + os.urandom(12).hex()
    if settings.dry_run:
        yield _Target(SANDBOX_TARGET, "", token)
        return
    server = SandboxServer(SandboxSettings(token=token), state=sandbox_state_path(ledger_path))
    base_url = server.start()
    try:
        yield _Target(SANDBOX_TARGET, base_url, token)
    finally:
        server.stop()


def run_import(
    manifest_name: str,
    fmt: str | None,
    config: Config,
    settings: RunSettings,
    env: Mapping[str, str],
    progress: Progress,
    on_open: Callable[[Manifest], None] | None = None,
    argv: Sequence[str] = (),
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> RunResult:
    """Import one manifest as ``settings`` say; return the summary and the exit code.

    ``clock`` and ``sleep`` pace the run (``--rate``, backoff, budgets); tests pass a
    virtual clock.
    """
    ledger_path = settings.ledger_path
    # A bad proxy or CA bundle stops the run here, before the lock; a dry run sends nothing.
    network = None if settings.dry_run else network_for(settings, env)
    with contextlib.ExitStack() as stack:
        if not settings.dry_run:
            stack.enter_context(RunLock(ledger_path))
        log = None
        if settings.log_file is not None and not settings.dry_run:
            log = RunLog(settings.log_file, settings.log_format)
            stack.callback(log.close)
        manifest = stack.enter_context(open_manifest(manifest_name, fmt))
        if on_open is not None:
            on_open(manifest)
        mapper = Mapper(
            config.mapping,
            run_workflows=settings.run_workflows,
            strip_cells=manifest.format not in NESTED_FORMATS,
            files_root=settings.files_root,
        )
        shard = (settings.shard.index, settings.shard.count) if settings.shard else None
        sources = media_sources(config, settings, env)
        source = RowSource(manifest, mapper, shard=shard, media_rule=sources.claim)
        target = stack.enter_context(_target(settings, env, ledger_path))
        shard_name = str(settings.shard) if settings.shard else None
        ledger: Ledger | None = None
        if not settings.dry_run:
            ledger = Ledger(ledger_path, target.name, shard=shard_name)
        elif ledger_path.exists():
            ledger = Ledger(ledger_path, target.name, create=False, shard=shard_name)
        if ledger is not None:
            stack.callback(ledger.close)
        client: Client | None = None
        signer = Signer(config.cloud, env, network=network)
        media: MediaGate | None = None
        stage: StageGate | None = None
        if not settings.dry_run:
            stager = open_stager(sources, config, settings, env, network, ledger)
            if stager is not None:
                stage = StageGate(
                    stager, mapper.base, mapper.roots, ledger=ledger, cleanup=settings.stage_cleanup
                )
            if settings.check_media:
                check = MediaCheck(
                    concurrency=settings.media_concurrency,
                    timeout_s=settings.media_timeout,
                    allow_private=settings.media_allow_private,
                    ledger=ledger,
                    signer=signer,
                    network=network,
                )
                media = MediaGate(check)
            client = EngagementClient(
                target.base_url,
                target.token,
                auth_scheme=settings.auth_scheme,
                timeout=settings.timeout,
                concurrency=settings.concurrency,
                network=network,
                user_agent=f"ae-import/{version()}",
                signer=signer,
            )
            if ledger is not None and ledger.is_empty():
                # A first import sends: its client is ready before the run's clock starts,
                # as the rate it reports is the server's, not our start-up's. A resume
                # (most rows done) opens it at the first row it sends, if any.
                client.open()
        seconds, reason = _deadline(settings, time.time())
        listeners: list[Progress] = [progress]

        def tee(event: str, summary: Summary, row: Row | None, note: str) -> None:
            for listen in listeners:
                listen(event, summary, row, note)

        engine = Engine(
            client,
            ledger,
            settings,
            manifest=manifest.name,
            deadline=None if seconds is None else clock() + seconds,
            deadline_reason=reason,
            progress=tee,
            events=log.row if log is not None else no_events,
            on_cut=log.cut if log is not None else None,
            clock=clock,
            sleep=sleep,
            media=media,
            stage=stage,
        )
        run_id = None
        if ledger is not None and not settings.dry_run:
            run_id = ledger.start_run(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "version": version(),
                    "manifest": manifest.name,
                    "manifest_path": None
                    if manifest_name == "-"
                    else str(Path(manifest_name).resolve()),
                    "config_path": str(config.path.resolve()) if config.path else None,
                    "arguments": _arguments(argv),
                }
            )
        if log is not None:
            log.write(
                "run_start",
                {
                    "manifest": manifest.name,
                    "ledger": str(ledger_path),
                    "shard": shard_name,
                    "version": version(),
                },
            )
        meter = None
        if ledger is not None and run_id is not None:
            meter = RunMeter(ledger, run_id, pace=lambda: engine.pace, clock=clock)
            listeners.append(meter)
        signals: list[str] = []
        try:
            try:
                summary = asyncio.run(_drive(engine, source, signals, media, stage))
            finally:
                if meter is not None:
                    with contextlib.suppress(AeImportError):
                        meter.close()
        except BaseException as exc:
            code = exit_status(exc)[0]
            if ledger is not None and run_id is not None:
                with contextlib.suppress(AeImportError):
                    ledger.end_run(run_id, engine.summary.as_json(), code, "error")
            if log is not None:
                log.write(
                    "run_end",
                    {
                        "exit_code": code,
                        "error": str(exc) if isinstance(exc, AeImportError) else type(exc).__name__,
                    },
                )
            raise
        summary.other_shards = source.other_shards
        result = RunResult(
            summary,
            _ending(summary, signals),
            settings.fail_on,
            None if ledger is None else ledger_path,
        )
        code = result.exit_code
        if ledger is not None and run_id is not None:
            ledger.end_run(run_id, summary.as_json(), code, summary.stopped)
        if log is not None:
            log.write(
                "run_end", {"exit_code": code, **summary.as_json(), "message": summary.message}
            )
    return result
