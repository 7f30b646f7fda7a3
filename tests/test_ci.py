"""The CI workflow: every platform and Python runs the README's test command, through .ci/run."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import yaml

from tests.helpers import ROOT, posix_only


def workflow() -> dict[str, Any]:
    """Return .github/workflows/ci.yml, parsed."""
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    parsed: dict[str, Any] = yaml.safe_load(text)
    return parsed


def test_the_matrix_is_three_platforms_by_three_pythons() -> None:
    """ubuntu, macOS and Windows, each under Python 3.11, 3.12 and 3.13; none stops the rest."""
    job = workflow()["jobs"]["test"]
    matrix = job["strategy"]["matrix"]
    assert sorted(matrix["os"]) == ["macos-latest", "ubuntu-latest", "windows-latest"]
    assert matrix["python"] == ["3.11", "3.12", "3.13"]
    assert job["strategy"]["fail-fast"] is False
    assert job["runs-on"] == "${{ matrix.os }}"


def test_every_cell_runs_ci_run_and_nothing_else() -> None:
    """The one test step is `bash .ci/run` in bash, the command the local CI runs."""
    steps = workflow()["jobs"]["test"]["steps"]
    setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup[0]["with"]["python-version"] == "${{ matrix.python }}"
    commands = [s["run"] for s in steps if "run" in s]
    assert commands == ["bash .ci/run"]
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)


@posix_only("runs .ci/run in bash with a fake README")
def test_ci_run_runs_the_readme_command_and_adapts_it_to_windows(tmp_path: Any) -> None:
    """.ci/run takes the second code block of README.md; on Windows, Scripts/ and python."""
    (tmp_path / ".ci").mkdir()
    script = (ROOT / ".ci" / "run").read_text()
    (tmp_path / ".ci" / "run").write_text(script)
    readme = (ROOT / "README.md").read_text()
    command = readme.split("```")[3].split("\n", 1)[1].strip()
    assert command.endswith(".venv/bin/python scripts/check.py")
    (tmp_path / "README.md").write_text(
        "```sh\nfirst\n```\n\n```sh\necho python3 -m venv .venv/bin/x\n```\n"
    )
    for os_name, expected in (
        ("", "python3 -m venv .venv/bin/x"),
        ("Windows_NT", "python -m venv .venv/Scripts/x"),
    ):
        env = {**os.environ, "OS": os_name}
        done = subprocess.run(
            ["bash", str(tmp_path / ".ci" / "run")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.splitlines()[-1] == expected
