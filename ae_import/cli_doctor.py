"""The ``doctor`` command: will tonight's run work? (the checks live in ``doctor.py``)."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli import (
    _KEYWORD,
    _POSITIONAL,
    ConfigOpt,
    FormatOpt,
    _console,
    _given_on_command_line,
    _guard,
    _option_parameter,
    app,
)
from .options import OPTIONS
from .redact import json_line

__all__ = ["doctor"]

_DOCTOR_OPTIONS = ("base_url", "token_file", "auth_scheme", "ca_bundle", "timeout", "ledger")


def doctor(
    ctx: typer.Context,
    config: Path | None,
    manifest: str | None,
    fmt: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Check that a run would work: config, token, base URL, DNS, TLS, route, clock, cloud, ledger.

    Sends one POST of {} (refused by the server: nothing is created). Exit 0: every
    check passed; 1: some failed (each says its fix); 2: usage.
    """
    from .doctor import checks_table, run_checks

    flags = _given_on_command_line(ctx, options)

    def work() -> int:
        rows = run_checks(config, flags, os.environ, manifest=manifest, fmt=fmt)
        failed = sum(row.status == "fail" for row in rows)
        code = 1 if failed else 0
        if as_json:
            checks = [row.as_dict() for row in rows]
            out = {"ok": not failed, "checks": checks, "exit_code": code}
            sys.stdout.write(json_line(out) + "\n")
            return code
        console = _console()
        with console.capture() as capture:
            console.print(checks_table(rows))
        lines = [line.rstrip() for line in capture.get().splitlines()]
        console.out("\n".join(lines), highlight=False)
        verdict = f"{failed} of {len(rows)} checks failed" if failed else "every check passed"
        console.out(f"doctor: {verdict}", highlight=False)
        return code

    raise typer.Exit(_guard(work, as_json))


doctor.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", _POSITIONAL, annotation=typer.Context),
        inspect.Parameter("config", _KEYWORD, annotation=ConfigOpt, default=None),
        inspect.Parameter(
            "manifest",
            _KEYWORD,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--manifest",
                    "-m",
                    metavar="MANIFEST",
                    help="Also read this manifest's first 1,000 rows and check the cloud "
                    "credentials and one object for each s3://, gs://, az:// scheme in it.",
                ),
            ],
            default=None,
        ),
        inspect.Parameter("fmt", _KEYWORD, annotation=FormatOpt, default=None),
        inspect.Parameter(
            "as_json",
            _KEYWORD,
            annotation=Annotated[
                bool, typer.Option("--json", help="Print one JSON object instead of a table.")
            ],
            default=False,
        ),
        *(_option_parameter(o) for o in OPTIONS if o.name in _DOCTOR_OPTIONS),
    ]
)
app.command()(doctor)
