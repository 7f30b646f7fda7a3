"""``ae-import status``: what ledgers hold (the core: ``operations.status``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    BaseUrlOpt,
    ConfigOpt,
    SandboxOpt,
    ShardOpt,
    app,
    console,
    guard,
    ledger_paths,
)

__all__ = ["status"]


@app.command()
def status(
    ctx: typer.Context,
    ledgers: Annotated[
        list[Path] | None,
        typer.Option(
            "--ledger",
            envvar="AE_IMPORT_LEDGER",
            show_envvar=True,
            help="Ledger to read; repeat to merge several (shards). Default: the one run "
            "would use with the same --config, --sandbox and --shard.",
        ),
    ] = None,
    config: ConfigOpt = None,
    use_sandbox: SandboxOpt = None,
    shard: ShardOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="PATH",
            help="Also write the morning report: one HTML file that opens offline (charts "
            "of the last runs, the last run minute by minute, problems by code, backlog).",
        ),
    ] = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Show what ledgers hold: counts, rows to send, first and last errors, last 10 runs."""
    from ae_import.operations import gather_status, write_report
    from ae_import.text import json_text

    from .output import write_status

    def work() -> int:
        paths = ledger_paths(ctx, ledgers or [], config)
        if html is not None:
            write_report(paths, html)
            typer.echo(f"ae-import: wrote the report to {html}", err=True)
        report = gather_status(paths)
        if as_json:
            sys.stdout.write(json_text(report.as_json()) + "\n")
        else:
            write_status(report, console())
        return 0

    raise typer.Exit(guard(work, as_json))
