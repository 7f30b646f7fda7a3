"""``ae-import doctor``: will tonight's run work? (the checks: ``operations.doctor``)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ae_import.text import json_text

from .common import ConfigOpt, FormatOpt, JsonOpt, app, console, declared, guard, typed_options

__all__ = ["doctor"]


@app.command()
def doctor(
    ctx: typer.Context,
    config: ConfigOpt = None,
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            "-m",
            metavar="MANIFEST",
            help="Also read this manifest's first 1,000 rows and check the cloud "
            "credentials and one object for each s3://, gs://, az:// scheme in it.",
        ),
    ] = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    base_url: Annotated[str | None, declared("base_url")] = None,
    token_file: Annotated[str | None, declared("token_file")] = None,
    auth_scheme: Annotated[str | None, declared("auth_scheme")] = None,
    ca_bundle: Annotated[str | None, declared("ca_bundle")] = None,
    system_certs: Annotated[bool | None, declared("system_certs")] = None,
    timeout: Annotated[str | None, declared("timeout")] = None,
    proxy: Annotated[str | None, declared("proxy")] = None,
    no_proxy: Annotated[bool | None, declared("no_proxy")] = None,
    ledger: Annotated[str | None, declared("ledger")] = None,
) -> None:
    """Check that a run would work: config, token, base URL, DNS, TLS, route, clock, cloud, ledger.

    Sends one POST of {} (refused by the server: nothing is created). Exit 0: every
    check passed; 1: some failed (each says its fix); 2: usage.
    """
    from ae_import.operations import run_checks

    from .output import write_checks

    flags = typed_options(ctx)

    def work() -> int:
        rows = run_checks(config, flags, os.environ, manifest=manifest, fmt=fmt)
        failed = sum(row.status == "fail" for row in rows)
        code = 1 if failed else 0
        if as_json:
            checks = [row.as_dict() for row in rows]
            out = {"ok": not failed, "checks": checks, "exit_code": code}
            sys.stdout.write(json_text(out) + "\n")
            return code
        write_checks(rows, console())
        return code

    raise typer.Exit(guard(work, as_json))
