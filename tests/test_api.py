"""The Python API: ae_import.validate and ae_import.run, in-process against the sandbox."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ae_import
from ae_import.errors import AuthError, LedgerBusyError, UsageError
from ae_import.ledger import RunLock
from tests.helpers import ROOT, SANDBOX_TOKEN, Writer
from tests.helpers.cli import HEADER, line

ENV = {"AE_API_TOKEN": SANDBOX_TOKEN}


def test_importing_the_package_loads_neither_typer_nor_rich() -> None:
    """A fresh interpreter: import ae_import, touch the API; no typer, no rich in sys.modules."""
    code = (
        "import sys, ae_import; ae_import.validate; ae_import.run; ae_import.UsageError; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'click'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_the_api_is_in_all_and_typed() -> None:
    """validate, run, their async twins and the error tree are listed in __all__."""
    for name in ("validate", "run", "validate_async", "run_async", "ValidationReport", "Summary"):
        assert name in ae_import.__all__ and getattr(ae_import, name) is not None
    assert ae_import.UsageError is UsageError
    assert (ROOT / "ae_import" / "py.typed").exists()


def test_validate_returns_the_report(write: Writer) -> None:
    """Counts and every problem, as validate --json gives them; on_row sees each row."""
    path = write("m.csv", HEADER + line("a") + "CALL,,crm,b,https://cdn.example.com/b.mp3\n")
    seen: list[str | None] = []
    report = ae_import.validate(path, on_row=lambda row: seen.append(row.external_id), env={})
    assert (report.rows, report.valid, report.invalid) == (2, 1, 1)
    assert [p["field"] for p in report.problems()] == ["title"]
    assert seen == ["a", "b"]


def test_run_imports_against_the_sandbox_with_progress(
    sandbox: Any, cwd: Path, write: Writer
) -> None:
    """run() creates the rows, reports progress, returns the summary; a re-run sends nothing."""
    path = write("m.csv", HEADER + line("a") + line("b"))
    events: list[ae_import.RunProgress] = []
    summary = ae_import.run(
        path, base_url=sandbox.base_url, concurrency=2, progress=events.append, env=ENV
    )
    assert (summary.created, summary.clean) == (2, True)
    assert {e.external_id for e in events if e.event == "row"} == {"a", "b"}
    again = asyncio.run(ae_import.run_async(path, base_url=sandbox.base_url, env=ENV))
    assert (again.created, again.skipped) == (0, 2)
    assert sandbox.store.count() == 2


def test_errors_are_typed_never_system_exit(sandbox: Any, cwd: Path, write: Writer) -> None:
    """A bad setting, a refused token, a held ledger: UsageError, AuthError, LedgerBusyError."""
    path = write("m.csv", HEADER + line("a"))
    with pytest.raises(UsageError, match="--concurrency: 'many' is not a whole number"):
        ae_import.run(path, base_url=sandbox.base_url, concurrency="many", env=ENV)
    with pytest.raises(UsageError, match="unknown setting colour"):
        ae_import.run(path, colour="red", env=ENV)
    with pytest.raises(AuthError):
        ae_import.run(path, base_url=sandbox.base_url, env={"AE_API_TOKEN": "wrong-token-123"})
    with RunLock(cwd / "ae-import-ledger.sqlite"), pytest.raises(LedgerBusyError):
        ae_import.run(path, base_url=sandbox.base_url, env=ENV)
    report = asyncio.run(ae_import.validate_async(path, env={}))
    assert report.valid == 1


def test_the_orchestrator_examples_in_the_docs_compile() -> None:
    """Every python block of docs/python.md compiles (Airflow, Dagster, Prefect among them)."""
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    names = " ".join(blocks)
    assert all(tool in names for tool in ("airflow", "dagster", "prefect"))
    for index, block in enumerate(blocks):
        compile(block, f"docs/python.md block {index + 1}", "exec")
