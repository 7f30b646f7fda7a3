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
from .errors import EXIT_PIPE, EXIT_SIGINT, EXIT_USAGE, Terminated, error_code, exit_status
from .options import OPTIONS, Option, parse_bool
from .redact import json_line, safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from .manifest import Manifest

__all__ = ["app", "main"]

T = TypeVar("T")


def _json_wanted(args: list[str]) -> bool:
    """Tell whether the command line (the last of --json/--no-json), else the env, asks for JSON."""
    words = args[: args.index("--")] if "--" in args else args
    for word in reversed(words):
        if word in ("--json", "--no-json"):
            return word == "--json"
    try:
        return parse_bool(os.environ.get("AE_IMPORT_JSON", ""))
    except ValueError:
        return False


def _report(code: int, message: str, kind: str, as_json: bool) -> int:
    """Tell the user why the command ends: one line on stderr, and one JSON object if asked."""
    if kind != "broken_pipe":
        sys.stderr.write(f"ae-import: error: {message}\n")
    if as_json:
        error = {"error": {"code": kind, "message": message}, "exit_code": code}
        try:
            sys.stdout.write(json_line(error) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()  # the reader left; the line on stderr said it all
    return code


def _quiet_stdout() -> None:
    """Point a closed stdout at /dev/null, so the interpreter's last flush is quiet."""
    with contextlib.suppress(OSError, ValueError):  # not a real file (CliRunner)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _usage_message(exc: typer.TyperException) -> str:
    """Return a usage error (Typer's vendored Click) as one line that says what to do."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "ae-import"
    possibilities = getattr(exc, "possibilities", None)
    if type(exc).__name__ == "NoSuchOption":
        hint = f" (did you mean {' or '.join(sorted(possibilities))}?)" if possibilities else ""
        return f"no such option {getattr(exc, 'option_name', '')}{hint}; see {command} --help"
    text = " ".join(safe_text(exc.format_message()).split()).rstrip(".")
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
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `ae-import`: the help, as is
                sys.stderr.write(exc.format_message() + "\n")
                code = EXIT_USAGE
            else:
                code = _report(EXIT_USAGE, _usage_message(exc), "usage", as_json)
        except SystemExit as exc:
            # Typer ends --help and --version on a closed stdout with exit 1 (it swaps
            # stdout for Click's PacifyFlushWrapper first): a closed pipe is 141 here.
            closed = type(sys.stdout).__name__ == "PacifyFlushWrapper"
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            code = EXIT_PIPE if closed and code == 1 else code
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
        _quiet_stdout()
    code, message = exit_status(exc)
    return _report(code, message, error_code(exc), as_json)


def _guard(action: Callable[[], int], as_json: bool | Callable[[], bool] = False) -> int:
    """Run ``action``; turn every error into one line (and JSON if asked) and an exit code.

    ``as_json`` may be a callable: ``run`` learns only from the config whether JSON is wanted.
    """
    try:
        return action()
    except Exception as exc:
        if os.environ.get("AE_IMPORT_DEBUG") and exit_status(exc)[0] == 70:
            raise
        return _fail(exc, as_json() if callable(as_json) else as_json)
    except (KeyboardInterrupt, Terminated) as exc:
        return _fail(exc, as_json() if callable(as_json) else as_json)


def _say_encoding(note: str | None) -> None:
    """Say on stderr which encoding ``encoding: auto`` chose, when it was not plain UTF-8."""
    if note:
        sys.stderr.write(f"ae-import: note: {safe_text(note)}\n")


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


def _option_parameter(option: Option, help: str | None = None) -> inspect.Parameter:
    """Return the Typer parameter of one declared option (see options.py), ``help`` if given."""
    names = [f"{option.flag}/--no-{option.flag[2:]}"] if option.switch else [option.flag]
    names += [f"-{option.short}"] if option.short else []
    default = "" if option.switch or option.default is None else f" Default: {option.default}."
    info = typer.Option(
        *names,
        envvar=option.env,
        show_envvar=True,
        metavar=option.metavar or None,
        help=f"{help or option.help}{default} Config: {option.section}.{option.name}.",
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


# The options of run that validate takes too, with validate's own help where it differs.
VALIDATE_OPTIONS = {
    "check_media": "Also check each valid row's media as run --check-media does (this asks "
    "the media's hosts, never the API; results are cached in the ledger run would use).",
    "rate": "With --check-media: the rate run will send at (5/s, 300/m, 5000/12h), to tell "
    "which presigned URLs expire before their row's turn.",
    "media_concurrency": None,
    "media_timeout": None,
    "media_allow_private": None,
}
ShowRequestsOpt = Annotated[
    int,
    typer.Option(
        "--show-requests",
        min=0,
        metavar="N",
        help="Also print the first N request bodies as they would be sent "
        "(media URL query strings redacted).",
    ),
]
RunWorkflowsOpt = Annotated[
    bool,
    typer.Option("--run-workflows", help="Default run_workflows to true (rows may override)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def validate(
    ctx: typer.Context,
    manifest: str,
    config: Path | None,
    fmt: str | None,
    as_json: bool,
    show_requests: int,
    run_workflows: bool,
    **options: Any,
) -> None:
    """Check every row locally and send nothing. Exit 0: all valid; 1: some invalid; 2: unusable.

    With --check-media, also each row's media (exit 1 when some fails).
    """
    from .config import load_config
    from .manifest import open_manifest
    from .mapping import Mapper
    from .pipeline import check_rows
    from .report import ValidateReport
    from .settings import ledger_settings

    flags = _given_on_command_line(ctx, options)

    def work() -> int:
        cfg = load_config(config)
        media = ("max_rows", "limit", "max_duration", *VALIDATE_OPTIONS)
        settings = ledger_settings(flags, os.environ, cfg, *media)
        report = ValidateReport(show_requests=show_requests)
        try:
            with open_manifest(manifest, fmt) as source:
                mapper = Mapper(
                    cfg.mapping,
                    run_workflows=run_workflows,
                    strip_cells=source.format != "jsonl",
                )
                rows = check_rows(source, mapper)
                if settings.check_media:
                    from .mediacheck import check_manifest

                    column = mapper.column_of("media_url")
                    check_manifest(rows, report.add, settings, cfg.cloud, os.environ, column)
                else:
                    for row in rows:
                        report.add(row)
            _say_encoding(source.encoding_note)
            if as_json:
                report.write_json(sys.stdout)
            else:
                report.write_human(_console())
        finally:
            report.close()
        return 0 if report.invalid == 0 else 1

    raise typer.Exit(_guard(work, as_json))


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
    wants_json = [flags["json"] if "json" in flags else _json_wanted([])]

    def work() -> int:
        cfg = load_config(config)
        if "json" not in flags and not wants_json[0] and "json" in cfg.run:
            with contextlib.suppress(ValueError):  # resolve() reports a bad value
                wants_json[0] = parse_bool(cfg.run["json"])
        settings = resolve(flags, os.environ, cfg)
        out = _console()
        err = _console(stderr=True)
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
                argv=_command_line("run", manifest, {"config": config, "format": fmt, **flags}),
            )
        finally:
            reporter.close()
        code, message = result.exit_code, result.message
        if opened and not settings.quiet:
            _say_encoding(opened[0].encoding_note)
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

    raise typer.Exit(_guard(work, lambda: wants_json[0]))


# Typer reads the parameters from the signature: the declared options are added to it.
_POSITIONAL, _KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
validate.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", _POSITIONAL, annotation=typer.Context),
        inspect.Parameter("manifest", _POSITIONAL, annotation=ManifestArg),
        inspect.Parameter("config", _KEYWORD, annotation=ConfigOpt, default=None),
        inspect.Parameter("fmt", _KEYWORD, annotation=FormatOpt, default=None),
        inspect.Parameter("as_json", _KEYWORD, annotation=JsonOpt, default=False),
        inspect.Parameter("show_requests", _KEYWORD, annotation=ShowRequestsOpt, default=0),
        inspect.Parameter("run_workflows", _KEYWORD, annotation=RunWorkflowsOpt, default=False),
        *(
            _option_parameter(option, VALIDATE_OPTIONS[option.name])
            for option in OPTIONS
            if option.name in VALIDATE_OPTIONS
        ),
    ]
)
app.command()(validate)
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


from . import cli_doctor, cli_init, cli_ledger, cli_sandbox  # noqa: E402, F401 - more commands


def main() -> None:
    """Run the command line (``__main__.main`` installs the SIGTERM handler first)."""
    app()
