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
from .errors import EXIT_INTERNAL, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, AeImportError, Terminated

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
    except Terminated:
        _fail("terminated by SIGTERM", EXIT_SIGTERM)
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


def _command_line(command: str, manifest: str, options: dict[str, object]) -> list[str]:
    """Rebuild the command line from the options given (for the ledger's runs table)."""
    words = [command, manifest]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{flag[2:]}")
        elif value is not None:
            words += [flag, str(value)]
    return words


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
    max_rows: Annotated[
        int | None, typer.Option(min=1, help="Budget: send at most N rows, then stop (exit 0).")
    ] = None,
    max_duration: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Budget: stop dispatching after 45m, 6h, 1h30m."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="HH:MM", help="Budget: stop dispatching at local time.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Same as --max-rows.", hidden=True)
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(metavar="K/N", help="Only rows whose external_id hashes to shard K of N."),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option(help="Append a line per row outcome and retry (logrotate-safe)."),
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(metavar="text|json", help="Format of --log-file; default text.")
    ] = None,
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
    """Import a manifest: safe to re-run, resumes.

    Exit 0: every row done (or a budget reached with nothing failed); 1: rows failed,
    invalid or retryable; 2: usage; 3: auth; 4: the ledger is held by another run;
    130/143: interrupted.
    """
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
        "max_rows": max_rows,
        "max_duration": max_duration,
        "until": until,
        "shard": shard,
        "log_file": log_file,
        "log_format": log_format,
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
                argv=_command_line("run", manifest, {"config": config, "format": fmt, **flags}),
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


LedgerOpt = Annotated[
    Path | None,
    typer.Option(help="SQLite ledger; default ae-import-ledger.sqlite here."),
]


@app.command()
def status(
    ledgers: Annotated[
        list[Path] | None,
        typer.Option("--ledger", help="Ledger to read; repeat to merge several (shards)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what ledgers hold: counts, rows to send, first and last errors, last 10 runs."""
    import json

    from .report import write_status
    from .settings import DEFAULT_LEDGER
    from .status import gather_status

    def work() -> int:
        report = gather_status(ledgers or [DEFAULT_LEDGER])
        if as_json:
            sys.stdout.write(json.dumps(report.as_json()) + "\n")
        else:
            write_status(report, _console())
        return 0

    raise typer.Exit(_guard(work))


@app.command()
def export(
    ledger: LedgerOpt = None,
    statuses: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S1,S2",
            help="Only these statuses; default every row, or failed,invalid,retryable,pending "
            "with --as-manifest.",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="csv|jsonl", help="Output format.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    as_manifest: Annotated[
        bool,
        typer.Option(
            "--as-manifest",
            help="Write the original manifest rows plus an ae_import_error column, to fix "
            "and feed back to run.",
        ),
    ] = False,
    manifest: Annotated[
        Path | None,
        typer.Option(help="With --as-manifest: read this manifest, not the one the run recorded."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write ledger rows as CSV or JSONL: results, or failed rows as a manifest to fix."""
    from .export import export
    from .settings import DEFAULT_LEDGER

    def work() -> int:
        target = output if output is not None else sys.stdout
        count = export(
            ledger or DEFAULT_LEDGER, statuses, fmt, target, as_manifest, manifest, config
        )
        if output is not None:
            typer.echo(f"ae-import: wrote {count:,} rows to {output}", err=True)
        return 0

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
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=P",
            help="Inject a network fault with probability P (repeat): 500, 503, 429, 429-date, "
            "reset-before, reset-after, slow, non-json, truncated, create-500.",
        ),
    ] = None,
) -> None:
    """Serve a local emulator of Create engagement at http://HOST:PORT/api. Ctrl-C stops it."""
    import os
    import re

    from .errors import UsageError
    from .ratelimit import parse_rate
    from .sandbox import DEFAULT_REJECT_MEDIA, SandboxSettings
    from .sandbox.faults import parse_fault
    from .sandbox.server import serve

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
        chosen: dict[str, float] = {}
        for text in fault or []:
            try:
                name, probability = parse_fault(text)
            except ValueError as exc:
                raise UsageError(f"--fault: {exc}") from None
            chosen[name] = probability
        if sum(chosen.values()) > 1:
            raise UsageError("--fault: the probabilities add up to more than 1")
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

        def announce(url: str) -> None:
            typer.echo(f"sandbox listening on {url}")
            typer.echo(f"token: {settings.token}")
            if chosen:
                shown = ", ".join(f"{name}={p:g}" for name, p in chosen.items())
                typer.echo(f"injecting faults: {shown}", err=True)
            typer.echo(f"POST {url}/v2/engagements; Ctrl-C stops", err=True)

        serve(
            settings,
            host=host,
            port=port,
            state=state,
            faults=chosen,
            log=lambda line: print(line, file=sys.stderr, flush=True),
            announce=announce,
        )
        typer.echo("sandbox stopped", err=True)
        return 0

    raise typer.Exit(_guard(work))


def main() -> None:
    """Run the command line (``__main__.main`` installs the SIGTERM handler first)."""
    try:
        app()
    except Terminated:
        typer.echo("ae-import: error: terminated by SIGTERM", err=True)
        raise SystemExit(EXIT_SIGTERM) from None
