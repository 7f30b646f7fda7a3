"""The ``ae-import`` command line: options in, settings built, core called, exit code out.

This is the one place where errors become messages and exit codes. Heavy modules
are imported inside the commands, so ``ae-import --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from . import __version__
from .errors import EXIT_SIGINT, EXIT_USAGE, AeImportError

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


def _console() -> Console:
    """Return a console for stdout: the terminal's width, or wide lines when piped."""
    from rich.console import Console

    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 160)


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


def main() -> None:
    """Entry point of the ``ae-import`` console script."""
    app()
