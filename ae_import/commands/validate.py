"""``ae-import validate``: every row checked locally, nothing sent (core: ``operations``)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .common import (
    ConfigOpt,
    FormatOpt,
    JsonOpt,
    ManifestArg,
    app,
    console,
    declared,
    guard,
    say_encoding,
    typed_options,
)

__all__ = ["validate"]


@app.command()
def validate(
    ctx: typer.Context,
    manifest: ManifestArg,
    config: ConfigOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
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
    check_media: Annotated[
        bool | None,
        declared(
            "check_media",
            "Also check each valid row's media as run --check-media does (this asks the "
            "media's hosts, never the API; results are cached in the ledger run would use).",
        ),
    ] = None,
    rate: Annotated[
        str | None,
        declared(
            "rate",
            "With --check-media: the rate run will send at (5/s, 300/m, 5000/12h), to tell "
            "which presigned URLs expire before their row's turn.",
        ),
    ] = None,
    media_concurrency: Annotated[str | None, declared("media_concurrency")] = None,
    media_timeout: Annotated[str | None, declared("media_timeout")] = None,
    media_allow_private: Annotated[bool | None, declared("media_allow_private")] = None,
    files_root: Annotated[str | None, declared("files_root")] = None,
    proxy: Annotated[str | None, declared("proxy")] = None,
    no_proxy: Annotated[bool | None, declared("no_proxy")] = None,
    ca_bundle: Annotated[str | None, declared("ca_bundle")] = None,
    system_certs: Annotated[bool | None, declared("system_certs")] = None,
    stage_to: Annotated[str | None, declared("stage_to")] = None,
    stage_all: Annotated[bool | None, declared("stage_all")] = None,
) -> None:
    """Check every row locally and send nothing. Exit 0: all valid; 1: some invalid; 2: unusable.

    With --check-media, also each row's media (exit 1 when some fails).
    """
    from ae_import.config import load_config
    from ae_import.operations import VALIDATE_OPTIONS, ValidationReport, validate_manifest
    from ae_import.settings import ledger_settings

    from .output import write_validation

    flags = typed_options(ctx)

    def work() -> int:
        cfg = load_config(config)
        settings = ledger_settings(flags, os.environ, cfg, *VALIDATE_OPTIONS)
        report = ValidationReport(show_requests=show_requests)
        try:
            note = validate_manifest(
                manifest, fmt, cfg, report.add, run_workflows=run_workflows, settings=settings
            )
            say_encoding(note)
            if as_json:
                report.write_json(sys.stdout)
            else:
                write_validation(report, console())
        finally:
            report.close()
        return 0 if report.invalid == 0 else 1

    raise typer.Exit(guard(work, as_json))
