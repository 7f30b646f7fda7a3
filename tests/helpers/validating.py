"""``ae-import validate --json`` as a function, and its problems as plain tuples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ae_import.commands import app


def validate(runner: CliRunner, manifest: Path, config: Path | None = None) -> dict[str, Any]:
    """Run validate --json --show-requests 50; return the report and its exit code."""
    args = ["validate", str(manifest), "--json", "--show-requests", "50"]
    if config is not None:
        args += ["--config", str(config)]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        return {"exit": 2, "error": result.stderr}
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit"] = result.exit_code
    return report


def problems(report: dict[str, Any]) -> list[tuple[int, str, str | None, str, str]]:
    """Return (line, field, column, code, message) of each problem of a report."""
    return [
        (p["line"], p["field"], p["column"], p["code"], p["message"]) for p in report["problems"]
    ]
