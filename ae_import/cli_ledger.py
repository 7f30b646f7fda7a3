"""The ``status``, ``export`` and ``dismiss`` commands: ledgers found as ``run`` finds them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli import ConfigOpt, _console, _given_on_command_line, _guard, app
from .lock import real_ledger

__all__ = ["dismiss", "export", "status"]

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


def _ledger_paths(
    ctx: typer.Context, given: list[Path], config: Path | None, **flags: Any
) -> list[Path]:
    """Return the ledgers to read: those given, else the one run would use with these settings."""
    from .config import load_config
    from .errors import UsageError
    from .settings import ledger_settings

    if given:
        paths = given
    else:
        typed = _given_on_command_line(
            ctx, {"use_sandbox": flags["sandbox"], "shard": flags["shard"]}
        )
        chosen = {"sandbox": typed.get("use_sandbox"), "shard": typed.get("shard")}
        paths = [ledger_settings(chosen, os.environ, load_config(config)).ledger_path]
    for path in paths:
        real_ledger(path)  # a dangling link, a directory or a device is refused in one line
    missing = [path for path in paths if not path.exists()]
    if missing:
        looked = ", ".join(str(path) for path in missing)
        raise UsageError(
            f"no such ledger: looked at {looked}; pass --ledger PATH, or the --config, "
            "--sandbox and --shard that the run used"
        )
    return paths


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
) -> None:
    """Show what ledgers hold: counts, rows to send, first and last errors, last 10 runs."""
    from .redact import json_line
    from .report import write_status
    from .status import gather_status

    def work() -> int:
        paths = _ledger_paths(ctx, ledgers or [], config, sandbox=use_sandbox, shard=shard)
        report = gather_status(paths)
        if as_json:
            sys.stdout.write(json_line(report.as_json()) + "\n")
        else:
            write_status(report, _console())
        return 0

    raise typer.Exit(_guard(work, as_json))


@app.command()
def export(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    statuses: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S1,S2",
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
) -> None:
    """Write ledger rows as CSV or JSONL: results, or failed rows as a manifest to fix."""
    from .export import export

    def work() -> int:
        target = output if output is not None else sys.stdout
        [path] = _ledger_paths(
            ctx, [ledger] if ledger else [], config, sandbox=use_sandbox, shard=shard
        )
        count = export(path, statuses, fmt, target, as_manifest, manifest, config)
        if output is not None:
            typer.echo(f"ae-import: wrote {count:,} rows to {output}", err=True)
        return 0

    raise typer.Exit(_guard(work))


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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the rows it would dismiss; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Retire rows fixed elsewhere: they leave status and export, and stay unsent until changed."""
    from .dismiss import dismiss as dismiss_rows
    from .redact import json_line, safe_text

    def work() -> int:
        [path] = _ledger_paths(
            ctx, [ledger] if ledger else [], config, sandbox=use_sandbox, shard=shard
        )
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
            sys.stdout.write(json_line({**report, "exit_code": 0}) + "\n")
            return 0
        rows = f"{count:,} row{'' if count == 1 else 's'} in {path}"
        if dry_run:
            sys.stdout.write(safe_text(f"would dismiss {rows} (dry run: nothing changed)") + "\n")
        else:
            line = f"dismissed {rows}; export --status dismissed lists them"
            sys.stdout.write(safe_text(line) + "\n")
        return 0

    raise typer.Exit(_guard(work, as_json))
