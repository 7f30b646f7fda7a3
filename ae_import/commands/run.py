"""``ae-import run``: import a manifest, safe to re-run (the core: ``operations.run``)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ae_import.errors import error_code
from ae_import.options import parse_bool

from .common import (
    ConfigOpt,
    FormatOpt,
    ManifestArg,
    app,
    command_line,
    console,
    declared,
    guard,
    json_wanted,
    say_encoding,
    typed_options,
)

if TYPE_CHECKING:
    from ae_import.reading import Manifest

__all__ = ["run"]


@app.command()
def run(
    ctx: typer.Context,
    manifest: ManifestArg,
    config: ConfigOpt = None,
    fmt: FormatOpt = None,
    # Every option declared in options.py, in its order (a test keeps the two in step).
    base_url: Annotated[str | None, declared("base_url")] = None,
    token_file: Annotated[str | None, declared("token_file")] = None,
    auth_scheme: Annotated[str | None, declared("auth_scheme")] = None,
    ca_bundle: Annotated[str | None, declared("ca_bundle")] = None,
    system_certs: Annotated[bool | None, declared("system_certs")] = None,
    timeout: Annotated[str | None, declared("timeout")] = None,
    proxy: Annotated[str | None, declared("proxy")] = None,
    no_proxy: Annotated[bool | None, declared("no_proxy")] = None,
    ledger: Annotated[str | None, declared("ledger")] = None,
    concurrency: Annotated[str | None, declared("concurrency")] = None,
    rate: Annotated[str | None, declared("rate")] = None,
    max_attempts: Annotated[str | None, declared("max_attempts")] = None,
    retry_budget: Annotated[str | None, declared("retry_budget")] = None,
    run_workflows: Annotated[bool | None, declared("run_workflows")] = None,
    dry_run: Annotated[bool | None, declared("dry_run")] = None,
    limit: Annotated[str | None, declared("limit")] = None,
    max_rows: Annotated[str | None, declared("max_rows")] = None,
    max_duration: Annotated[str | None, declared("max_duration")] = None,
    until: Annotated[str | None, declared("until")] = None,
    shard: Annotated[str | None, declared("shard")] = None,
    log_file: Annotated[str | None, declared("log_file")] = None,
    log_format: Annotated[str | None, declared("log_format")] = None,
    retry_failed: Annotated[bool | None, declared("retry_failed")] = None,
    files_root: Annotated[str | None, declared("files_root")] = None,
    check_media: Annotated[bool | None, declared("check_media")] = None,
    media_concurrency: Annotated[str | None, declared("media_concurrency")] = None,
    media_timeout: Annotated[str | None, declared("media_timeout")] = None,
    media_allow_private: Annotated[bool | None, declared("media_allow_private")] = None,
    stage_to: Annotated[str | None, declared("stage_to")] = None,
    stage_all: Annotated[bool | None, declared("stage_all")] = None,
    stage_concurrency: Annotated[str | None, declared("stage_concurrency")] = None,
    stage_bps: Annotated[str | None, declared("stage_bps")] = None,
    stage_cleanup: Annotated[bool | None, declared("stage_cleanup")] = None,
    sandbox: Annotated[bool | None, declared("sandbox")] = None,
    json: Annotated[bool | None, declared("json")] = None,
    quiet: Annotated[bool | None, declared("quiet")] = None,
) -> None:
    """Import a manifest: safe to re-run, resumes.

    Exit 0: every row done (or a budget reached with nothing failed); 1: rows failed,
    invalid or retryable; 2: usage; 3: auth; 4: the ledger is held by another run;
    130/143: interrupted; 141: stdout closed.
    """
    from ae_import.config import load_config
    from ae_import.operations import run_import
    from ae_import.settings import resolve

    from .output import RunReporter, write_run_json, write_run_summary

    flags = typed_options(ctx)
    wants_json = [flags["json"] if "json" in flags else json_wanted([])]

    def work() -> int:
        cfg = load_config(config)
        if "json" not in flags and not wants_json[0] and "json" in cfg.run:
            with contextlib.suppress(ValueError):  # resolve() reports a bad value
                wants_json[0] = parse_bool(cfg.run["json"])
        settings = resolve(flags, os.environ, cfg)
        out = console()
        err = console(stderr=True)
        mode = "quiet" if settings.quiet else ("tty" if err.is_terminal else "plain")
        if settings.json and mode != "quiet" and not err.is_terminal:
            mode = "quiet"
        reporter = RunReporter(mode, err, out, dry_run=settings.dry_run and not settings.json)
        opened: list[Manifest] = []

        def on_open(source: Manifest) -> None:
            opened.append(source)
            reporter.attach(source.position)

        try:
            result = run_import(
                manifest,
                fmt,
                cfg,
                settings,
                os.environ,
                reporter,
                on_open=on_open,
                argv=command_line("run", manifest, {"config": config, "format": fmt, **flags}),
            )
        finally:
            reporter.close()
        code, message = result.exit_code, result.message
        if opened and not settings.quiet:
            say_encoding(opened[0].encoding_note)
        if settings.json:
            extra: dict[str, Any] = {"exit_code": code}
            if result.error is not None:
                extra["error"] = {"code": error_code(result.error), "message": message}
            write_run_json(result.summary, sys.stdout, dry_run=settings.dry_run, extra=extra)
        elif not settings.quiet:
            write_run_summary(result.summary, out, dry_run=settings.dry_run)
        if message:
            typer.echo(f"ae-import: {message}", err=True)
        return code

    raise typer.Exit(guard(work, lambda: wants_json[0]))
