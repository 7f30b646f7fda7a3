"""The ``init`` command: a commented mapping file from a manifest (the core is ``init.py``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import FormatOpt, app, guard

__all__ = ["init"]


@app.command()
def init(
    manifest: Annotated[
        str,
        typer.Argument(
            metavar="MANIFEST", help="The export to map: CSV, TSV, JSONL, JSON, Excel or Parquet."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the mapping to FILE (refused if it exists, unless --force); "
            "default: print it to stdout, and the check to stderr.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            metavar="TZ",
            help="IANA zone of timestamps written without an offset (America/New_York).",
        ),
    ] = None,
    source_system: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="source_system of every row, and the external_id prefix NAME: ; "
            "default: the recognised export's.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Write a commented mapping file guessed from MANIFEST, then validate its first 1,000 rows.

    Exit 0: those rows are all valid with it; 1: some are not, or a TODO stops the check
    (the file is written, each guess and TODO explained in it); 2: usage (FILE exists,
    unreadable manifest).
    """
    from ae_import.init import run_init

    def work() -> int:
        return run_init(
            manifest,
            output=output,
            timezone=timezone,
            source_system=source_system,
            force=force,
            fmt=fmt,
            out=sys.stdout,
            err=sys.stderr,
        )

    raise typer.Exit(guard(work))
