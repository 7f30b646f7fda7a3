"""The Python API: ``validate`` and ``run`` for orchestrators (Airflow, Dagster, Prefect).

The commands' cores (``operations.validate_manifest``, ``operations.run_import``) with
Python arguments instead of a command line: the same settings (every option of
``ae-import run``, by its name: ``concurrency=16``, ``proxy="http://proxy:3128"``), resolved
as the command line resolves them (argument, then ``AE_IMPORT_*``, then the config's
``api:``/``run:``, then the default), the same ledger, lock and exit rules. Nothing is
printed; ``typer`` and ``rich`` are never imported.

Errors are the typed ones of ``ae_import.errors``, never ``SystemExit``: ``UsageError``
(bad settings, manifest or config), ``AuthError`` (the token was refused),
``LedgerBusyError`` (another run holds the ledger), ``RunStopped`` (the retry budget,
TLS, a proxy), ``CloudError``, ``Terminated`` and ``KeyboardInterrupt`` (a stop signal
while the run was in the main thread). Rows that fail or are invalid are no error: they
are counted in the ``Summary`` (``summary.clean`` is False), as ``run`` exits 1.

``run_async`` and ``validate_async`` run the same in a worker thread, for an event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ae_import.config import Config, load_config
from ae_import.errors import UsageError
from ae_import.operations import (
    VALIDATE_OPTIONS,
    ValidationReport,
    run_import,
    validate_manifest,
)
from ae_import.options import OPTIONS
from ae_import.records import Row
from ae_import.sending import Summary
from ae_import.settings import ledger_settings, resolve

__all__ = [
    "RunProgress",
    "Summary",
    "ValidationReport",
    "run",
    "run_async",
    "validate",
    "validate_async",
]

ConfigArg = str | os.PathLike[str] | Config | None
_NAMES = frozenset(option.name for option in OPTIONS)
# What validate takes of run's settings (the media check's, and where its cache is).


@dataclass(frozen=True)
class RunProgress:
    """One step of a run: a row sent, retried, finished, or decided without sending.

    ``event`` is ``sent``, ``retry``, ``row`` (the row is final) or ``decision`` (not sent:
    skipped, changed, failed before); ``summary`` holds the counts so far (read it, do not
    keep it); ``note`` says more (the decision, the retry's reason).
    """

    event: str
    summary: Summary
    external_id: str | None
    note: str


def _config(config: ConfigArg) -> Config:
    """Return the config: one given, one read from a path, or the defaults."""
    if isinstance(config, Config):
        return config
    return load_config(Path(config) if config is not None else None)


def _flags(settings: Mapping[str, Any], allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Check the keyword settings' names; None values are left out (as an absent flag)."""
    names = _NAMES if allowed is None else allowed
    unknown = sorted(set(settings) - names)
    if unknown:
        raise UsageError(
            f"unknown setting {', '.join(unknown)}; settings are the options of ae-import run "
            f"by name: {', '.join(sorted(names))}"
        )
    return {name: value for name, value in settings.items() if value is not None}


def validate(
    manifest: str | os.PathLike[str],
    *,
    config: ConfigArg = None,
    format: str | None = None,
    run_workflows: bool = False,
    on_row: Callable[[Row], None] | None = None,
    env: Mapping[str, str] | None = None,
    **settings: Any,
) -> ValidationReport:
    """Check every row of ``manifest`` locally (and its media with ``check_media=True``).

    Return the report: ``rows``, ``valid``, ``invalid``, ``problem_count``, and every
    problem from ``report.problems()``. ``on_row`` sees each checked row as it comes.
    Nothing is sent to the API.
    """
    env = os.environ if env is None else env
    cfg = _config(config)
    resolved = ledger_settings(
        _flags(settings, frozenset(VALIDATE_OPTIONS)), env, cfg, *VALIDATE_OPTIONS
    )
    report = ValidationReport()

    def add(row: Row) -> None:
        report.add(row)
        if on_row is not None:
            on_row(row)

    validate_manifest(
        os.fspath(manifest),
        format,
        cfg,
        add,
        run_workflows=run_workflows,
        settings=resolved,
        env=env,
    )
    return report


def run(
    manifest: str | os.PathLike[str],
    *,
    config: ConfigArg = None,
    format: str | None = None,
    progress: Callable[[RunProgress], None] | None = None,
    env: Mapping[str, str] | None = None,
    **settings: Any,
) -> Summary:
    """Import ``manifest`` as ``ae-import run`` does; return the summary of its rows.

    ``settings`` are run's options by name (``base_url``, ``token_file``, ``ledger``,
    ``concurrency``, ``sandbox``...); the token comes from ``token_file`` or ``AE_API_TOKEN``
    in ``env``. Raises the typed errors of ``ae_import.errors`` when the run cannot
    start or stops early; returns when it ran its course (check ``summary.clean``).
    """
    env = os.environ if env is None else env
    cfg = _config(config)
    resolved = resolve(_flags(settings), env, cfg)

    def step(event: str, summary: Summary, row: Row | None, note: str) -> None:
        if progress is not None:
            progress(RunProgress(event, summary, row.external_id if row else None, note))

    result = run_import(os.fspath(manifest), format, cfg, resolved, env, step)
    if result.error is not None:
        raise result.error
    return result.summary


async def validate_async(manifest: str | os.PathLike[str], **arguments: Any) -> ValidationReport:
    """Run ``validate`` in a worker thread, for code inside an event loop."""
    return await asyncio.to_thread(validate, manifest, **arguments)


async def run_async(manifest: str | os.PathLike[str], **arguments: Any) -> Summary:
    """Run ``run`` in a worker thread, for code inside an event loop.

    ``progress`` is called from that thread; hand it to the loop with
    ``loop.call_soon_threadsafe`` if it touches loop objects.
    """
    return await asyncio.to_thread(run, manifest, **arguments)
