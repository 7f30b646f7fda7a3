#!/usr/bin/env python3
"""Run the project's checks, the same way locally and in CI: ruff, mypy, imports, docs, pytest.

Usage: python scripts/check.py [pytest arguments...]
Extra arguments go to pytest. pytest's exit code 5 ("no tests ran") counts as a failure.

Then the suite runs under every other Python 3.11+ this machine has (``python3.X`` on
PATH, or under ``~/.pyenv/versions``), each in a virtualenv of its own (``.venv-3.X``,
made once), and it says which versions it found none of. Those runs leave out the
slow tests (the main interpreter runs them, at the same time) to keep CI within its 15 minutes.
``AE_IMPORT_ONE_PYTHON=1`` (the CI matrix, where each job has one Python) skips them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("3.11", "3.12", "3.13", "3.14")


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


def azurite() -> None:
    """Install Azurite into tests/node (npm ci) for the az:// store tests, unless it is there."""
    import json
    import shutil

    node = ROOT / "tests" / "node"
    wanted = json.loads((node / "package.json").read_text())["dependencies"]["azurite"]
    installed = node / "node_modules" / "azurite" / "package.json"
    if installed.is_file() and json.loads(installed.read_text()).get("version") == wanted:
        print(f"==> Azurite {wanted}: installed in tests/node", flush=True)
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("==> Azurite: node or npm not found; the az:// store tests will skip", flush=True)
        return
    print(f"==> Azurite {wanted}: npm ci in tests/node", flush=True)
    code = subprocess.call([npm, "ci"], cwd=node)
    if code != 0:
        print(f"npm ci in tests/node failed (exit {code})", file=sys.stderr)
        sys.exit(code)


def interpreters() -> tuple[dict[str, Path], list[str]]:
    """Return the other Pythons 3.11+ found (version: path), and the versions not found."""
    import shutil

    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    found: dict[str, Path] = {}
    for version in VERSIONS:
        if version == mine:
            continue
        candidates = [shutil.which(f"python{version}")]
        pyenv = Path.home() / ".pyenv" / "versions"
        if pyenv.is_dir():
            candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"))]
        for candidate in filter(None, candidates):
            done = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
            )  # a pyenv shim whose version is not selected fails here
            if done.returncode == 0 and done.stdout.strip() == version:
                found[version] = Path(candidate)
                break
    missing = [v for v in VERSIONS if v != mine and v not in found]
    return found, missing


class OtherPythons(threading.Thread):
    """The suite (not the slow tests) under each other Python 3.11+ found, in the background.

    It runs while the main interpreter runs the slow tests, which mostly wait on real time
    and real processes (and are written to pass on a busy machine): the two together fit
    CI's 15 minutes where one after the other did not (about 8 + 7 minutes on 2 cores).
    Its output is kept and printed when ``report`` is called.
    """

    def __init__(self, pytest_args: list[str]) -> None:
        """Find the interpreters now; ``start`` runs them."""
        super().__init__(daemon=True)
        self.pytest_args = pytest_args
        self.found, self.missing = interpreters()
        self.lines: list[str] = []
        self.failed: tuple[str, int] | None = None

    def step(self, version: str, what: str, argv: list[str]) -> bool:
        """Run one step, keep its output; return whether it passed."""
        self.lines.append(f"==> Python {version}: {what}")
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        output = (done.stdout + done.stderr).strip()
        if output:
            self.lines.append(output)
        if done.returncode != 0:
            self.failed = (f"Python {version}: {what} failed", done.returncode or 1)
        return done.returncode == 0

    def run(self) -> None:
        """Make each venv once, install the project, run the suite; stop at a failure."""
        for version, python in self.found.items():
            venv = ROOT / f".venv-{version}"
            bindir = venv / ("Scripts" if os.name == "nt" else "bin")
            here = bindir / ("python.exe" if os.name == "nt" else "python")
            if not here.exists() and not self.step(
                version, f"making {venv.name}", [str(python), "-m", "venv", str(venv)]
            ):
                return
            install = [str(here), "-m", "pip", "install", "-q", "-e", ".[dev]"]
            if not self.step(version, "pip install -e '.[dev]'", install):
                return
            tests = [str(here), "-m", "pytest", "-q", *self.pytest_args]
            if not self.step(version, "pytest (not slow)", tests):
                return

    def report(self) -> None:
        """Wait for the runs, print what they said, and stop with the first failure's code."""
        self.join()
        for version in self.missing:
            print(f"==> Python {version}: not on this machine, skipped", flush=True)
        print("\n".join(self.lines), flush=True)
        if self.failed is not None:
            message, code = self.failed
            print(f"{message} (exit {code})", file=sys.stderr)
            sys.exit(code)


def browser() -> None:
    """Install Debian's chromium for the report's browser test, where apt-get can (root)."""
    import shutil

    names = ("chromium", "chromium-browser", "google-chrome")
    if any(shutil.which(name) for name in names) or not shutil.which("apt-get"):
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print("no chromium: the report's browser test will skip", flush=True)
        return
    print("==> apt-get install chromium (the report's browser test)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
        done = subprocess.run(["apt-get", *step], env=env, capture_output=True, check=False)
        if done.returncode != 0:
            print("apt-get could not install chromium: the browser test will skip", flush=True)
            return


def main() -> None:
    """Run ruff, ruff format, mypy --strict, lint-imports, the docs check, pytest, slow tests."""
    run("ruff check", "ruff", "check", ".")
    run("ruff format --check", "ruff", "format", "--check", ".")
    run("mypy --strict", "mypy")
    lint_imports()
    docs_current()
    azurite()
    run("pytest", "pytest", "--hypothesis-profile=ci", *sys.argv[1:])
    browser()
    others: OtherPythons | None = None
    if os.environ.get("AE_IMPORT_ONE_PYTHON"):
        print("==> other Pythons: skipped (AE_IMPORT_ONE_PYTHON is set)", flush=True)
    else:
        others = OtherPythons(sys.argv[1:])
        names = ", ".join(others.found) or "none found"
        print(f"==> other Pythons ({names}): in the background, beside the slow tests", flush=True)
        others.start()
    run(
        "pytest -m slow (real processes, signals, kill loops, bench smoke)",
        "pytest",
        "-m",
        "slow",
        "--hypothesis-profile=ci",
        *sys.argv[1:],
    )
    if others is not None:
        others.report()


if __name__ == "__main__":
    main()
