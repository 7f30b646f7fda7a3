"""The ``ae-import`` command line: options in, settings built, core called, exit code out.

This is the one place where errors become messages and exit codes. Heavy modules
are imported inside the commands, so ``ae-import --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_SIGINT, EXIT_USAGE, AeImportError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    name="ae-import",
    help="Bulk-import call and meeting recordings into AskElephant (POST /v2/engagements).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML mapping file (columns, defaults, participants)."),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help="csv, tsv or jsonl; default: from the file extension."),
]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"ae-import: error: {message}", err=True)
    raise typer.Exit(code)


def _guard(action: Callable[[], T]) -> T:
    """Run ``action``; turn every error a user can cause into one line and an exit code."""
    try:
        return action()
    except AeImportError as exc:
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_SIGINT)
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{name}{exc.strerror or exc}", EXIT_USAGE)
    except Exception as exc:
        if os.environ.get("AE_IMPORT_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(a bug: please report it; AE_IMPORT_DEBUG=1 shows the traceback)",
            EXIT_INTERNAL,
        )


def _console(stderr: bool = False) -> Console:
    """Return a console for stdout (or stderr): the terminal's width, or wide lines when piped."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    return Console(highlight=False, stderr=stderr, width=None if probe.is_terminal else 160)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ae-import {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Bulk-import call and meeting recordings into AskElephant (POST /v2/engagements)."""


@app.command()
def validate(
    manifest: Annotated[
        str, typer.Argument(metavar="MANIFEST", help="CSV, TSV or JSONL manifest; - for stdin.")
    ],
    config: ConfigOpt = None,
    fmt: FormatOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    show_requests: Annotated[
        int,
        typer.Option(
            "--show-requests",
            min=0,
            metavar="N",
            help="Also print the first N request bodies as they would be sent "
            "(media URL query strings redacted).",
        ),
    ] = 0,
    run_workflows: Annotated[
        bool,
        typer.Option("--run-workflows", help="Default run_workflows to true (rows may override)."),
    ] = False,
) -> None:
    """Check every row locally and send nothing. Exit 0: all valid; 1: some invalid; 2: unusable."""
    from .config import load_config
    from .manifest import open_manifest
    from .mapping import Mapper
    from .pipeline import check_rows
    from .report import ValidateReport

    def work() -> int:
        cfg = load_config(config)
        report = ValidateReport(show_requests=show_requests)
        try:
            with open_manifest(manifest, fmt) as source:
                mapper = Mapper(
                    cfg.mapping,
                    run_workflows=run_workflows,
                    strip_cells=source.format != "jsonl",
                )
                for row in check_rows(source, mapper):
                    report.add(row)
            if as_json:
                report.write_json(sys.stdout)
            else:
                report.write_human(_console())
        finally:
            report.close()
        return 0 if report.invalid == 0 else 1

    raise typer.Exit(_guard(work))


@app.command()
def run(
    manifest: Annotated[
        str, typer.Argument(metavar="MANIFEST", help="CSV, TSV or JSONL manifest; - for stdin.")
    ],
    config: ConfigOpt = None,
    fmt: FormatOpt = None,
    ledger: Annotated[
        Path | None,
        typer.Option(help="SQLite ledger; default ae-import-ledger.sqlite here."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="API base URL; default https://app.askelephant.ai/api.")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="File holding the API token (mode 600); else AE_API_TOKEN is read."),
    ] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="CA certificates to trust (corporate proxies).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Requests in flight; default 8.")
    ] = None,
    rate: Annotated[
        str | None, typer.Option(metavar="R", help="At most R requests: 5/s, 300/m, 5000/12h.")
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option(min=1, help="Attempts per row; default 5.")
    ] = None,
    retry_budget: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many failed attempts in a row; default 50."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(min=1, metavar="SECONDS", help="Per attempt; default 600 (media download)."),
    ] = None,
    run_workflows: Annotated[
        bool | None,
        typer.Option("--run-workflows/--no-run-workflows", help="Fire workflows and recap emails."),
    ] = None,
    dry_run: Annotated[
        bool | None,
        typer.Option(
            "--dry-run/--no-dry-run", help="Validate and consult the ledger; send nothing."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most N rows.")] = None,
    retry_failed: Annotated[
        bool | None,
        typer.Option("--retry-failed/--no-retry-failed", help="Send failed rows again."),
    ] = None,
    use_sandbox: Annotated[
        bool | None,
        typer.Option("--sandbox/--no-sandbox", help="Import into an in-process local sandbox."),
    ] = None,
    as_json: Annotated[
        bool | None, typer.Option("--json/--no-json", help="Print the summary as JSON.")
    ] = None,
    quiet: Annotated[
        bool | None, typer.Option("--quiet/--no-quiet", "-q", help="No progress, no summary.")
    ] = None,
) -> None:
    """Import a manifest: safe to re-run, resumes. Exit 0 clean, 1 rows left, 2 usage, 3 auth."""
    import os

    from .config import load_config
    from .report import RunReporter, write_run_json, write_run_summary
    from .runner import run_import
    from .settings import resolve

    flags = {
        "ledger": ledger,
        "base_url": base_url,
        "token_file": token_file,
        "ca_bundle": ca_bundle,
        "concurrency": concurrency,
        "rate": rate,
        "max_attempts": max_attempts,
        "retry_budget": retry_budget,
        "timeout": timeout,
        "run_workflows": run_workflows,
        "dry_run": dry_run,
        "limit": limit,
        "retry_failed": retry_failed,
        "sandbox": use_sandbox,
        "json": as_json,
        "quiet": quiet,
    }

    def work() -> int:
        cfg = load_config(config)
        settings = resolve(flags, os.environ, cfg)
        out = _console()
        err = _console(stderr=True)
        mode = "quiet" if settings.quiet else ("tty" if err.is_terminal else "plain")
        if settings.json and mode != "quiet" and not err.is_terminal:
            mode = "quiet"
        reporter = RunReporter(mode, err, out, dry_run=settings.dry_run and not settings.json)
        try:
            result = run_import(
                manifest,
                fmt,
                cfg,
                settings,
                os.environ,
                reporter,
                on_open=lambda m: reporter.attach(m.position),
            )
        finally:
            reporter.close()
        if settings.json:
            write_run_json(result.summary, sys.stdout, dry_run=settings.dry_run)
        elif not settings.quiet:
            write_run_summary(result.summary, out, dry_run=settings.dry_run)
        if result.error:
            typer.echo(f"ae-import: {result.error}", err=True)
        return result.exit_code

    raise typer.Exit(_guard(work))


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8765,
    token: Annotated[
        str | None, typer.Option(help="The token clients must send; default: a random one.")
    ] = None,
    readonly_token: Annotated[
        str | None, typer.Option(help="A token without the engagements:write scope (gets 403).")
    ] = None,
    latency: Annotated[
        float, typer.Option(min=0, metavar="MS", help="Answer after MS ms (the media download).")
    ] = 0.0,
    jitter: Annotated[float, typer.Option(min=0, metavar="MS", help="Vary latency by +-MS.")] = 0.0,
    rate: Annotated[
        str | None, typer.Option(metavar="R", help="Answer 429 past R requests (5/s, 300/m).")
    ] = None,
    burst: Annotated[
        float | None, typer.Option(min=1, help="Token bucket size; default one second of R.")
    ] = None,
    fail_rate: Annotated[
        float, typer.Option(min=0, max=1, metavar="P", help="Answer 500/503 with probability P.")
    ] = 0.0,
    retry_after: Annotated[
        str, typer.Option(metavar="seconds|date", help="Form of Retry-After on 429.")
    ] = "seconds",
    reject_media: Annotated[
        str | None,
        typer.Option(metavar="REGEX", help="Media URL paths answered 422 'not audio/video'."),
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="SQLite file: idempotency survives a restart.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for faults and jitter.")] = None,
) -> None:
    """Serve a local emulator of Create engagement at http://HOST:PORT/api. Ctrl-C stops it."""
    import os
    import re
    import signal

    from .errors import UsageError
    from .ratelimit import parse_rate
    from .sandbox import DEFAULT_REJECT_MEDIA, SandboxServer, SandboxSettings

    def work() -> int:
        if retry_after not in ("seconds", "date"):
            raise UsageError("--retry-after takes 'seconds' or 'date'")
        pattern = DEFAULT_REJECT_MEDIA if reject_media is None else reject_media
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--reject-media: not a regular expression: {exc}") from None
        try:
            per_second = parse_rate(rate) if rate is not None else None
        except ValueError as exc:
            raise UsageError(f"--rate: {exc}") from None
        settings = SandboxSettings(
            token=token or "sk-sandbox-" + os.urandom(12).hex(),
            readonly_token=readonly_token,
            latency_ms=latency,
            jitter_ms=jitter,
            rate=per_second,
            burst=burst,
            fail_rate=fail_rate,
            reject_media=pattern,
            retry_after=retry_after,
            seed=seed,
        )
        server = SandboxServer(
            settings,
            host=host,
            port=port,
            state=state,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        try:
            url = server.start()
        except OSError as exc:
            server.store.close()
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port"
            ) from None
        typer.echo(f"sandbox listening on {url}")
        typer.echo(f"token: {settings.token}")
        typer.echo(f"POST {url}/v2/engagements; Ctrl-C stops", err=True)

        def terminate(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, terminate)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        typer.echo("sandbox stopped", err=True)
        return 0

    raise typer.Exit(_guard(work))


def main() -> None:
    """Entry point of the ``ae-import`` console script."""
    app()
