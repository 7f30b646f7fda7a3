"""``ae-import export``: ledger rows out, or a manifest to fix (the core: ``operations.export``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    BaseUrlOpt,
    ConfigOpt,
    LedgerOpt,
    SandboxOpt,
    ShardOpt,
    app,
    complete_statuses,
    guard,
    ledger_paths,
)

__all__ = ["export"]


@app.command()
def export(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    statuses: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S1,S2",
            autocompletion=complete_statuses(False),
            help="Only these statuses; default every row but dismissed ones, or "
            "failed,invalid,retryable,pending with --as-manifest.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="csv|jsonl",
            help="Output format; default csv (with --as-manifest: the source manifest's).",
        ),
    ] = None,
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
    use_sandbox: SandboxOpt = None,
    shard: ShardOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Write ledger rows as CSV or JSONL: results, or failed rows as a manifest to fix."""
    from ae_import.operations import export

    def work() -> int:
        target = output if output is not None else sys.stdout
        [path] = ledger_paths(ctx, [ledger] if ledger else [], config)
        count = export(path, statuses, fmt, target, as_manifest, manifest, config)
        if output is not None:
            rows = "row" if count == 1 else "rows"
            typer.echo(f"ae-import: wrote {count:,} {rows} to {output}", err=True)
        return 0

    raise typer.Exit(guard(work))
