#!/usr/bin/env python3
"""Run the project's checks, the same way locally and in CI: ruff, mypy, imports, docs, pytest.

Usage: python scripts/check.py [pytest arguments...]
Extra arguments go to pytest. pytest's exit code 5 ("no tests ran") counts as a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(step: str, *args: str) -> None:
    """Run one step with this interpreter; stop with its code if it fails."""
    print(f"==> {step}", flush=True)
    code = subprocess.call([sys.executable, "-m", *args], cwd=ROOT)
    if code == 5 and args[0] == "pytest":
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        sys.exit(1)
    if code != 0:
        print(f"{step} failed (exit {code})", file=sys.stderr)
        sys.exit(code)


def lint_imports() -> None:
    """Stop if an import breaks the architecture's contracts (pyproject.toml, DEVELOPERS.md)."""
    print("==> lint-imports (layers, no cycles, Typer and rich in commands only)", flush=True)
    script = Path(sys.executable).with_name("lint-imports")
    code = subprocess.call([str(script), "--no-cache"], cwd=ROOT)
    if code != 0:
        print("lint-imports failed: an import breaks a contract", file=sys.stderr)
        sys.exit(code)


def docs_current() -> None:
    """Stop if docs/cli.md no longer matches the commands (it is generated from them)."""
    print("==> docs/cli.md is current", flush=True)
    code = subprocess.call([sys.executable, "scripts/cli_docs.py", "--check"], cwd=ROOT)
    if code != 0:
        print("docs/cli.md is stale: run python scripts/cli_docs.py and commit it", file=sys.stderr)
        sys.exit(code)


def main() -> None:
    """Run ruff, ruff format, mypy --strict, lint-imports, the docs check, pytest, slow tests."""
    run("ruff check", "ruff", "check", ".")
    run("ruff format --check", "ruff", "format", "--check", ".")
    run("mypy --strict", "mypy")
    lint_imports()
    docs_current()
    run("pytest", "pytest", *sys.argv[1:])
    run(
        "pytest -m slow (real processes, signals, kill loops, bench smoke)",
        "pytest",
        "-m",
        "slow",
        *sys.argv[1:],
    )


if __name__ == "__main__":
    main()
