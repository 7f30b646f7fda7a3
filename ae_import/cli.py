"""The ``ae-import`` command line: options in, settings built, core called, exit code out.

This is the one place where errors become messages and exit codes. Heavy modules
are imported inside the commands, so ``ae-import --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import EXIT_SIGINT, EXIT_USAGE, Terminated, error_code, exit_status
from .options import OPTIONS, Option
from .redact import json_line, safe_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["app", "main"]

T = TypeVar("T")


def _json_wanted(args: list[str]) -> bool:
    """Tell whether the command line asks for JSON output (so errors come as JSON too)."""
    words = args[: args.index("--")] if "--" in args else args
    return "--json" in words or os.environ.get("AE_IMPORT_JSON", "").lower() in ("1", "true")


def _report(code: int, message: str, kind: str, as_json: bool) -> int:
    """Tell the user why the command ends: one line on stderr, and one JSON object if asked."""
    if as_json:
        error = {"error": {"code": kind, "message": message}, "exit_code": code}
        sys.stdout.write(json_line(error) + "\n")
    if kind != "broken_pipe":
        sys.stderr.write(f"ae-import: error: {message}\n")
    return code


def _usage_message(exc: typer.TyperException) -> str:
    """Return a usage error (Typer's vendored Click) as one line that says what to do."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "ae-import"
    possibilities = getattr(exc, "possibilities", None)
    if type(exc).__name__ == "NoSuchOption":
        hint = f" (did you mean {' or '.join(sorted(possibilities))}?)" if possibilities else ""
        return f"no such option {getattr(exc, 'option_name', '')}{hint}; see {command} --help"
    text = " ".join(safe_text(exc.format_message()).split())
    return f"{text[:1].lower()}{text[1:]}; see {command} --help"


class _Group(TyperGroup):
    """The command group: every usage error is one line, exit 2, never Click's block."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; turn whatever ends it into an exit code."""
        words = list(sys.argv[1:] if args is None else args)
        as_json = _json_wanted(words)
        try:
            code = super().main(
                words, prog_name or "ae-import", complete_var, standalone_mode=False, **extra
            )
        except typer.TyperException as exc:  # Typer's Click: usage and parameter errors
            code = _report(EXIT_USAGE, _usage_message(exc), "usage", as_json)
        except typer.Abort:
            code = _report(EXIT_SIGINT, "interrupted", "interrupted", as_json)
        except (BrokenPipeError, Terminated) as exc:
            code = _fail(exc, as_json)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="ae-import",
    cls=_Group,
    help="Bulk-import call and meeting recordings into AskElephant (POST /v2/engagements).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ManifestArg = Annotated[
    str, typer.Argument(metavar="MANIFEST", help="CSV, TSV or JSONL manifest; - for stdin.")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML mapping file (columns, defaults, participants)."),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help="csv, tsv or jsonl; default: from the file extension."),
]


def _fail(exc: BaseException, as_json: bool = False) -> int:
    """Report ``exc`` through the one table (errors.exit_status); return its exit code."""
    if isinstance(exc, BrokenPipeError):
        # stdout is gone: point it at /dev/null so the interpreter's final flush is quiet
        with contextlib.suppress(OSError, ValueError):  # not a real file (CliRunner)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code, message = exit_status(exc)
    return _report(code, message, error_code(exc), as_json)


def _guard(action: Callable[[], int], as_json: bool = False) -> int:
    """Run ``action``; turn every error into one line (and JSON if asked) and an exit code."""
    try:
        return action()
    except Exception as exc:
        if os.environ.get("AE_IMPORT_DEBUG") and exit_status(exc)[0] == 70:
            raise
        return _fail(exc, as_json)
    except (KeyboardInterrupt, Terminated) as exc:
        return _fail(exc, as_json)


def _console(stderr: bool = False) -> Console:
    """Return a console for stdout (or stderr): the terminal's width, or wide lines when piped."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # rich would exit 1; errors.py says what a closed pipe is

    probe = Console(stderr=stderr)
    return _Console(highlight=False, stderr=stderr, width=None if probe.is_terminal else 160)


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
    manifest: ManifestArg,
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

    raise typer.Exit(_guard(work, as_json))


def _option_parameter(option: Option) -> inspect.Parameter:
    """Return the Typer parameter of one declared option (see options.py)."""
    names = [f"{option.flag}/--no-{option.flag[2:]}"] if option.switch else [option.flag]
    names += [f"-{option.short}"] if option.short else []
    default = "" if option.switch or option.default is None else f" Default: {option.default}."
    info = typer.Option(
        *names,
        envvar=option.env,
        show_envvar=True,
        metavar=option.metavar or None,
        help=f"{option.help}{default} Config: {option.section}.{option.name}.",
        hidden=option.hidden,
        show_default=False,
    )
    kind = bool | None if option.switch else str | None
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, info], default=None
    )


def _given_on_command_line(ctx: typer.Context, options: dict[str, Any]) -> dict[str, Any]:
    """Keep the options typed on the command line (env and config are read by resolve)."""
    return {
        name: value
        for name, value in options.items()
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    }


def run(
    ctx: typer.Context, manifest: str, config: Path | None, fmt: str | None, **options: Any
) -> None:
    """Import a manifest: safe to re-run, resumes.

    Exit 0: every row done (or a budget reached with nothing failed); 1: rows failed,
    invalid or retryable; 2: usage; 3: auth; 4: the ledger is held by another run;
    130/143: interrupted; 141: stdout closed.
    """
    from .config import load_config
    from .report import RunReporter, write_run_json, write_run_summary
    from .runner import run_import
    from .settings import resolve

    flags = _given_on_command_line(ctx, options)
    as_json = bool(flags.get("json")) or _json_wanted([])

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
        code, message = result.exit_code, result.message
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

    raise typer.Exit(_guard(work, as_json))


# Typer reads the parameters from the signature: the declared options are added to it.
_POSITIONAL, _KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", _POSITIONAL, annotation=typer.Context),
        inspect.Parameter("manifest", _POSITIONAL, annotation=ManifestArg),
        inspect.Parameter("config", _KEYWORD, annotation=ConfigOpt, default=None),
        inspect.Parameter("fmt", _KEYWORD, annotation=FormatOpt, default=None),
        *(_option_parameter(option) for option in OPTIONS),
    ]
)
app.command()(run)


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
    fetch_media: Annotated[
        bool,
        typer.Option(
            "--fetch-media",
            help="Fetch each new media URL as the server does (HEAD, then a ranged GET); "
            "answer 422 when it is unreachable, not audio/video, private or too slow.",
        ),
    ] = False,
    media_allow_private: Annotated[
        bool,
        typer.Option(
            "--media-allow-private",
            help="With --fetch-media: also fetch from private and loopback addresses, over "
            "http too (a local store such as moto or MinIO).",
        ),
    ] = False,
    media_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, metavar="SECONDS", help="With --fetch-media: the download's time limit."
        ),
    ] = 30.0,
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
        if media_allow_private and not fetch_media:
            raise UsageError("--media-allow-private works with --fetch-media; add it")
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
            fetch_media=fetch_media,
            media_allow_private=media_allow_private,
            media_timeout_s=media_timeout,
        )

        def announce(url: str) -> None:
            typer.echo(f"sandbox listening on {url}")
            typer.echo(f"token: {settings.token}")
            if chosen:
                shown = ", ".join(f"{name}={p:g}" for name, p in chosen.items())
                typer.echo(f"injecting faults: {shown}", err=True)
            if fetch_media:
                where = "any address" if media_allow_private else "public addresses only"
                typer.echo(f"fetching media before answering ({where})", err=True)
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


from . import cli_doctor, cli_init, cli_ledger  # noqa: E402, F401 - register doctor, init, status, export


def main() -> None:
    """Run the command line (``__main__.main`` installs the SIGTERM handler first)."""
    app()
