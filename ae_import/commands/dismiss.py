"""``ae-import dismiss``: retire ledger rows fixed elsewhere (the core: ``operations.dismiss``)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

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

__all__ = ["dismiss"]


@app.command()
def dismiss(
    ctx: typer.Context,
    external_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EXTERNAL_ID", help="Rows to dismiss, by external_id.", show_default=False
        ),
    ] = None,
    statuses: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S1,S2",
            autocompletion=complete_statuses(True),
            help="Only rows with these statuses (failed, invalid, retryable, pending); "
            "default any of them.",
        ),
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            metavar="AGE",
            help="Only rows whose last result is older than AGE: 90m, 12h, 7d, 2w.",
        ),
    ] = None,
    ledger: LedgerOpt = None,
    config: ConfigOpt = None,
    use_sandbox: SandboxOpt = None,
    shard: ShardOpt = None,
    base_url: BaseUrlOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the rows it would dismiss; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Retire rows fixed elsewhere: they leave status and export, and stay unsent until changed."""
    from ae_import.operations import dismiss as dismiss_rows
    from ae_import.text import json_text, safe_text

    def work() -> int:
        [path] = ledger_paths(ctx, [ledger] if ledger else [], config)
        listed: list[dict[str, Any]] = []

        def show(row: tuple[Any, ...]) -> None:
            external_id, status, updated_at, error_code = row
            if as_json:
                listed.append(
                    {"external_id": external_id, "status": status, "updated_at": updated_at}
                )
                return
            code = f" ({error_code})" if error_code else ""
            text = f"would dismiss {external_id}: {status} since {updated_at}{code}"
            sys.stdout.write(safe_text(text) + "\n")

        count = dismiss_rows(
            path, external_ids or [], statuses, older_than, dry_run=dry_run, show=show
        )
        if as_json:
            report: dict[str, Any] = {"ledger": str(path), "dismissed": count, "dry_run": dry_run}
            if dry_run:
                report["rows"] = listed
            sys.stdout.write(json_text({**report, "exit_code": 0}) + "\n")
            return 0
        rows = f"{count:,} row{'' if count == 1 else 's'} in {path}"
        if dry_run:
            sys.stdout.write(safe_text(f"would dismiss {rows} (dry run: nothing changed)") + "\n")
        else:
            line = f"dismissed {rows}; export --status dismissed lists them"
            sys.stdout.write(safe_text(line) + "\n")
        return 0

    raise typer.Exit(guard(work, as_json))
