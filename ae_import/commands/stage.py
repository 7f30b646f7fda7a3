"""``ae-import stage``: put a manifest's media in the bucket, send nothing (core: operations)."""

from __future__ import annotations

import json as jsonlib
import os
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from .common import (
    ConfigOpt,
    FormatOpt,
    ManifestArg,
    app,
    console,
    declared,
    guard,
    json_wanted,
    typed_options,
)

if TYPE_CHECKING:
    from ae_import.operations import StageReport

__all__ = ["stage"]

_LISTED = 20  # problems shown in the table; --json lists more


def _size(count: int) -> str:
    """Write a byte count as people read it: 12.3 MB."""
    amount = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{count} B"  # pragma: no cover


def _line(report: StageReport) -> str:
    counts = report.counts
    return (
        f"staged {report.staged} files: {counts.files} uploaded ({_size(counts.bytes)}), "
        f"{counts.found} already staged; {report.invalid} not stageable, "
        f"{report.retryable} to retry"
    )


@app.command()
def stage(
    ctx: typer.Context,
    manifest: ManifestArg,
    config: ConfigOpt = None,
    fmt: FormatOpt = None,
    stage_to: Annotated[str | None, declared("stage_to")] = None,
    stage_all: Annotated[bool | None, declared("stage_all")] = None,
    stage_concurrency: Annotated[str | None, declared("stage_concurrency")] = None,
    stage_bps: Annotated[str | None, declared("stage_bps")] = None,
    files_root: Annotated[str | None, declared("files_root")] = None,
    ledger: Annotated[str | None, declared("ledger")] = None,
    media_allow_private: Annotated[bool | None, declared("media_allow_private")] = None,
    media_timeout: Annotated[str | None, declared("media_timeout")] = None,
    proxy: Annotated[str | None, declared("proxy")] = None,
    no_proxy: Annotated[bool | None, declared("no_proxy")] = None,
    ca_bundle: Annotated[str | None, declared("ca_bundle")] = None,
    system_certs: Annotated[bool | None, declared("system_certs")] = None,
    json: Annotated[bool | None, declared("json")] = None,
    quiet: Annotated[bool | None, declared("quiet")] = None,
) -> None:
    """Stage a manifest's media in your bucket (--stage-to) and send nothing; run finds it there.

    Exit 0: every staged row's media is in the bucket; 1: some rows could not be staged
    or are to retry; 2: usage, or the store refused.
    """
    from ae_import.config import load_config
    from ae_import.operations import STAGE_OPTIONS, stage_manifest
    from ae_import.settings import ledger_settings
    from ae_import.text import safe_text

    flags = typed_options(ctx)
    wants_json = [flags["json"] if "json" in flags else json_wanted([])]

    def work() -> int:
        cfg = load_config(config)
        settings = ledger_settings(flags, os.environ, cfg, *STAGE_OPTIONS)
        wants_json[0] = settings.json
        err = console(stderr=True)
        shown = [0.0]

        def progress(report: StageReport) -> None:
            now = time.monotonic()
            if settings.quiet or settings.json or now - shown[0] < 1.0:
                return
            shown[0] = now
            sent = _size(report.counts.sent_bytes)
            err.print(f"{_line(report)}; {sent} sent so far", highlight=False)

        report = stage_manifest(manifest, fmt, cfg, settings, os.environ, progress)
        if settings.json:
            sys.stdout.write(jsonlib.dumps(report.as_json(), ensure_ascii=False) + "\n")
        elif not settings.quiet:
            out = console()
            for problem in report.problems[:_LISTED]:
                where = f"line {problem.line} {safe_text(problem.external_id or '')}".rstrip()
                out.print(f"{where}: {problem.code}: {safe_text(problem.message)}", markup=False)
            if len(report.problems) > _LISTED:
                out.print(f"... and {len(report.problems) - _LISTED} more (--json lists them)")
            out.print(_line(report), highlight=False)
        if report.error is not None:
            typer.echo(f"ae-import: {safe_text(report.error)}", err=True)
        return report.exit_code

    raise typer.Exit(guard(work, lambda: wants_json[0]))
