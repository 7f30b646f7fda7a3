"""Shell completion: Typer's scripts for bash, zsh, fish and PowerShell, and what they complete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from tests.helpers import ROOT, posix_only

VAR = "_AE_IMPORT_COMPLETE"


def bash(runner: CliRunner, line: str) -> list[str]:
    """Complete ``line`` as bash asks: COMP_WORDS is the line, COMP_CWORD the word's index."""
    index = len(line.split(" ")) - 1
    env = {VAR: "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(index)}
    result = runner.invoke(app, [], env=env, prog_name="ae-import")
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_commands_complete(runner: CliRunner) -> None:
    """Every command, in --help's order; a prefix narrows them."""
    assert bash(runner, "ae-import ") == [
        *("validate", "run", "stage", "doctor", "init", "status", "export", "dismiss", "sandbox")
    ]
    assert bash(runner, "ae-import d") == ["doctor", "dismiss"]


def test_options_complete(runner: CliRunner) -> None:
    """A command's options, the proxy and trust ones among them."""
    found = set(bash(runner, "ae-import run m.csv --"))
    assert {"--proxy", "--no-proxy", "--ca-bundle", "--no-system-certs", "--check-media"} <= found
    assert bash(runner, "ae-import run m.csv --no-p") == ["--no-proxy"]


def test_status_values_complete_one_by_one(runner: CliRunner) -> None:
    """--status takes a comma-separated list: each completes, none offered twice."""
    assert bash(runner, "ae-import dismiss --status ") == [
        "failed",
        "invalid",
        "retryable",
        "pending",
    ]
    assert bash(runner, "ae-import export --status f") == ["failed"]
    assert bash(runner, "ae-import export --status failed,") == [
        f"failed,{s}"
        for s in ("pending", "created", "existing", "invalid", "retryable", "dismissed")
    ]
    assert bash(runner, "ae-import export --status failed,d") == ["failed,dismissed"]


def test_choice_values_complete(runner: CliRunner) -> None:
    """An option whose values are words (text|json) completes them."""
    assert bash(runner, "ae-import run m.csv --log-format ") == ["text", "json"]
    assert bash(runner, "ae-import doctor --auth-scheme r") == ["raw"]


def test_zsh_fish_and_powershell_get_values_with_help(runner: CliRunner) -> None:
    """zsh, fish and PowerShell are asked through _TYPER_COMPLETE_ARGS; the help comes along."""
    line = "ae-import export --status inv"
    zsh = runner.invoke(app, [], env={VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert "invalid" in zsh.stdout and "rows that are invalid" in zsh.stdout
    fish = runner.invoke(
        app,
        [],
        env={
            VAR: "complete_fish",
            "_TYPER_COMPLETE_ARGS": line,
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        },
    )
    assert fish.stdout.startswith("invalid")
    pwsh = runner.invoke(
        app,
        [],
        env={
            VAR: "complete_powershell",
            "_TYPER_COMPLETE_ARGS": line,
            "_TYPER_COMPLETE_WORD_TO_COMPLETE": "inv",
        },
    )
    assert pwsh.stdout.startswith("invalid:::rows that are invalid")


def test_paths_are_left_to_the_shell(runner: CliRunner) -> None:
    """A path option gets no words from us: bash's `complete -o default` lists files."""
    assert [word for word in bash(runner, "ae-import run m.csv --config ") if word] == []
    zsh = runner.invoke(
        app, [], env={VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": "ae-import run m.csv --config "}
    )
    assert "_files" in zsh.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_show_completion_prints_each_shells_script(runner: CliRunner, shell: str) -> None:
    """--show-completion SHELL prints a script that calls ae-import with the completion variable."""
    result = runner.invoke(app, ["--show-completion", shell], prog_name="ae-import")
    assert result.exit_code == 0, result.output
    assert VAR in result.stdout


@posix_only("a real bash")
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_in_a_real_bash(runner: CliRunner, tmp_path: Path) -> None:
    """Source the generated script in bash, set COMP_WORDS, call its function: COMPREPLY."""
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="ae-import").stdout
    shim = tmp_path / "ae-import"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ae_import "$@"\n')
    shim.chmod(0o755)
    function = script.split("()")[0].strip().splitlines()[-1]
    drive = (
        f"{script}\nCOMP_WORDS=(ae-import dismiss --status re); COMP_CWORD=3\n"
        f'{function} ae-import\nprintf "%s\\n" "${{COMPREPLY[@]}}"\n'
    )
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        ["bash", "--norc", "-c", drive], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.split() == ["retryable"], done.stderr
