"""What every command shares: the app, its one-line errors, the declared options, consoles.

This is the one place where errors become messages and exit codes (through
``errors.exit_status``). A command takes its options from ``options.OPTIONS`` with
``declared``: the flag, its env var, metavar and help all come from the declaration,
so each option is said once. Heavy modules are imported inside the commands, so
``ae-import --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from ae_import.errors import (
    EXIT_PIPE,
    EXIT_SIGINT,
    EXIT_USAGE,
    Terminated,
    UsageError,
    error_code,
    exit_status,
    raise_on_stop,
)
from ae_import.options import OPTIONS, parse_bool
from ae_import.text import json_text, safe_text
from ae_import.version import version

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "BaseUrlOpt",
    "ConfigOpt",
    "FormatOpt",
    "JsonOpt",
    "LedgerOpt",
    "ManifestArg",
    "SandboxOpt",
    "ShardOpt",
    "app",
    "command_line",
    "complete_statuses",
    "console",
    "declared",
    "guard",
    "json_wanted",
    "ledger_paths",
    "say_encoding",
    "typed_options",
]


def json_wanted(args: list[str]) -> bool:
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
            sys.stdout.write(json_text(error) + "\n")
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
        as_json = json_wanted(words)
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
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish, PowerShell)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def complete_statuses(dismissable: bool) -> Callable[[str], list[tuple[str, str]]]:
    """Return a completer of a comma-separated ``--status`` list (export's, or dismiss's)."""

    def complete(incomplete: str) -> list[tuple[str, str]]:
        from ae_import.ledger import ALL_STATUSES
        from ae_import.operations import DISMISSABLE

        choices: tuple[str, ...] = DISMISSABLE if dismissable else ALL_STATUSES
        done, _, last = incomplete.rpartition(",")
        taken = {word.strip() for word in done.split(",")} if done else set()
        lead = f"{done}," if done else ""
        return [
            (lead + choice, f"rows that are {choice}")
            for choice in choices
            if choice.startswith(last.strip().lower()) and choice not in taken
        ]

    return complete


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ae-import {version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Bulk-import call and meeting recordings into AskElephant (POST /v2/engagements)."""


def _fail(exc: BaseException, as_json: bool = False) -> int:
    """Report ``exc`` through the one table (errors.exit_status); return its exit code."""
    if isinstance(exc, BrokenPipeError):
        _quiet_stdout()
    code, message = exit_status(exc)
    return _report(code, message, error_code(exc), as_json)


def guard(action: Callable[[], int], as_json: bool | Callable[[], bool] = False) -> int:
    """Run ``action``; turn every error into one line (and JSON if asked) and an exit code.

    ``as_json`` may be a callable: ``run`` learns only from the config whether JSON is wanted.
    From here a stop signal raises (start-up ended the process at once), so it is reported.
    """
    raise_on_stop()
    try:
        return action()
    except Exception as exc:
        if os.environ.get("AE_IMPORT_DEBUG") and exit_status(exc)[0] == 70:
            raise
        return _fail(exc, as_json() if callable(as_json) else as_json)
    except (KeyboardInterrupt, Terminated) as exc:
        return _fail(exc, as_json() if callable(as_json) else as_json)


def say_encoding(note: str | None) -> None:
    """Say on stderr which encoding ``encoding: auto`` chose, when it was not plain UTF-8."""
    if note:
        sys.stderr.write(f"ae-import: note: {safe_text(note)}\n")


def console(stderr: bool = False) -> Console:
    """Return a console for stdout (or stderr): the terminal's width, or wide lines when piped."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # rich would exit 1; errors.py says what a closed pipe is

    probe = Console(stderr=stderr)
    return _Console(highlight=False, stderr=stderr, width=None if probe.is_terminal else 160)


def command_line(command: str, manifest: str, options: Mapping[str, object]) -> list[str]:
    """Rebuild the command line from the options given (for the ledger's runs table)."""
    words = [command, manifest]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{flag[2:]}")
        elif value is not None:
            words += [flag, str(value)]
    return words


_DECLARED = {option.name: option for option in OPTIONS}


def declared(name: str, help: str | None = None) -> Any:
    """Return the Typer option of the option ``name`` declared in ``options.py``.

    The flag (``--max-rows``, or ``--x/--no-x`` for a switch), the ``AE_IMPORT_*`` env
    var, the metavar and the help come from the declaration; ``help`` replaces its text
    where a command uses the option its own way. The value arrives as typed (text, or a
    switch's bool) and is parsed by ``settings.resolve``, like env and config values.
    """
    option = _DECLARED[name]
    negative = option.switch and option.negatable
    names = [f"{option.flag}/--no-{option.flag[2:]}"] if negative else [option.flag]
    names += [f"-{option.short}"] if option.short else []
    default = "" if option.switch or option.default is None else f" Default: {option.default}."
    words = option.metavar.split("|") if "|" in option.metavar else []

    def complete(incomplete: str) -> list[str]:
        return [word for word in words if word.startswith(incomplete)]

    return typer.Option(
        *names,
        autocompletion=complete if words else None,
        envvar=option.env,
        show_envvar=True,
        metavar=option.metavar or None,
        help=f"{help or option.help}{default} Config: {option.section}.{option.name}.",
        hidden=option.hidden,
        show_default=False,
    )


def typed_options(ctx: typer.Context, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Return the declared options typed on the command line (env and config: ``resolve``).

    ``names`` limits them to those options (all declared ones by default).
    """
    wanted = _DECLARED if names is None else names
    return {
        name: value
        for name, value in ctx.params.items()
        if name in wanted and getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    }


ManifestArg = Annotated[
    str,
    typer.Argument(
        metavar="MANIFEST",
        help="CSV, TSV, JSONL, JSON, Excel or Parquet manifest (.gz, .zip); - for stdin.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML mapping file (columns, defaults, participants)."),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="csv, tsv, jsonl, json, excel or parquet; default: from the file extension.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
LedgerOpt = Annotated[
    Path | None,
    typer.Option(
        envvar="AE_IMPORT_LEDGER",
        show_envvar=True,
        help="The ledger. Default: the one run would use with the same --config, --sandbox "
        "and --shard.",
    ),
]
SandboxOpt = Annotated[
    bool | None,
    typer.Option(
        "--sandbox/--no-sandbox",
        envvar="AE_IMPORT_SANDBOX",
        show_envvar=True,
        help="Read the ledger that run --sandbox writes. Config: run.sandbox.",
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        metavar="K/N",
        envvar="AE_IMPORT_SHARD",
        show_envvar=True,
        help="Read the ledger of shard K of N. Config: run.shard.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        show_envvar=True,
        envvar="AE_IMPORT_BASE_URL",
        help="The base URL the run used: its ledger must belong to it, as run checks. "
        "Config: api.base_url.",
    ),
]


_LEDGER_PARAMS = (("sandbox", "use_sandbox"), ("shard", "shard"), ("base_url", "base_url"))


def ledger_paths(ctx: typer.Context, given: list[Path], config: Path | None) -> list[Path]:
    """Return the ledgers to read: those given, else the one run would use with these settings.

    The command's ``use_sandbox`` and ``shard`` parameters, when typed, choose it as
    ``run --sandbox --shard K/N`` would.
    """
    from ae_import.config import load_config
    from ae_import.ledger import reading, real_ledger
    from ae_import.settings import find_ledger

    typed = {
        name: ctx.params[param]
        for name, param in _LEDGER_PARAMS
        if param in ctx.params
        and getattr(ctx.get_parameter_source(param), "name", None) == "COMMANDLINE"
    }
    found = find_ledger(typed, os.environ, load_config(config))
    paths = given or [found.path]
    for path in paths:
        real_ledger(path)  # a dangling link, a directory or a device is refused in one line
    missing = [path for path in paths if not path.exists()]
    if missing:
        looked = ", ".join(str(path) for path in missing)
        raise UsageError(
            f"no such ledger: looked at {looked}; pass --ledger PATH, or the --config, "
            "--sandbox and --shard that the run used"
        )
    if found.target is not None:
        for path in paths:
            with reading(path) as ledger:
                ledger.check_target(found.target)
    return paths
