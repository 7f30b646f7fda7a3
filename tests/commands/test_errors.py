"""How every command ends: options declared once, one exit-code table, one-line errors, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.config import load_config
from ae_import.errors import (
    EXIT_INTERNAL,
    EXIT_PIPE,
    AuthError,
    LedgerBusyError,
    ManifestError,
    RunStopped,
    Terminated,
    error_code,
    exit_status,
)
from ae_import.ledger.lock import RunLock
from ae_import.options import OPTIONS, RunSettings
from ae_import.settings import resolve
from tests.helpers import SANDBOX_TOKEN, Writer
from tests.helpers.cli import HEADER, line

ROW = "CALL,Call a,crm,a,https://cdn.example.com/a.mp3\n"


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary working directory (the default ledger lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(runner: CliRunner, args: list[str], **env: str) -> Any:
    """Run the CLI with the sandbox token set and extra env vars."""
    return runner.invoke(app, args, env={"AE_API_TOKEN": SANDBOX_TOKEN, **env})


def test_every_declared_option_is_a_flag_an_env_var_and_a_config_key(write: Writer) -> None:
    """Each field of RunSettings is a run option with its env var, and a config key."""
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    params = {p.name: p for p in command.params}
    for option in OPTIONS:
        assert option.flag in params[option.name].opts
        assert params[option.name].envvar == option.env
        config = load_config(write("c.yaml", f"{option.section}:\n  {option.name}: null\n"))
        assert getattr(config, option.section) == {option.name: None}
    names = {o.name for o in OPTIONS}
    assert names == set(RunSettings.__dataclass_fields__)
    assert set(params) == names | {"ctx", "manifest", "config", "fmt"} - {"ctx"}


@pytest.mark.parametrize(
    ("flags", "env", "yaml", "origin"),
    [
        ({"concurrency": "1000"}, {}, "", "--concurrency"),
        ({}, {"AE_IMPORT_CONCURRENCY": "1000"}, "", "AE_IMPORT_CONCURRENCY"),
        ({}, {}, "run:\n  concurrency: 1000\n", "c.yaml: run.concurrency"),
    ],
)
def test_a_bound_is_the_same_from_flag_env_and_config(
    write: Writer, flags: dict[str, str], env: dict[str, str], yaml: str, origin: str
) -> None:
    """--concurrency 1000, AE_IMPORT_CONCURRENCY=1000 and run.concurrency: 1000 are all refused."""
    config = load_config(write("c.yaml", yaml or "{}\n"))
    with pytest.raises(Exception, match="must be at most 256") as info:
        resolve(flags, env, config)
    assert str(info.value).endswith(f"{origin}: '1000' must be at most 256")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "--concurrency: '0' must be at least 1"),
        (["--timeout", "0"], "--timeout: '0' must be a number of seconds above zero"),
        (
            ["--concurency", "4"],
            "no such option --concurency (did you mean --concurrency or --media-concurrency "
            "or --stage-concurrency?); see ae-import run --help",
        ),
        (["--max-attempts", "x"], "--max-attempts: 'x' is not a whole number"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    runner: CliRunner, cwd: Path, write: Writer, args: list[str], message: str
) -> None:
    """Every usage error is one line, ae-import: error: ..., exit 2, nothing on stdout."""
    result = invoke(runner, ["run", str(write("m.csv", HEADER + ROW)), *args])
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@api.example.com/api", "holds a user name or password"),
        ("https://api.example.com/api?api_key=s3cret", "has a query string or fragment"),
        ("https://api.example.com:18015734/api", "is not a URL"),
        ("http://api.example.com/api", "plain http:// is refused"),
    ],
)
def test_base_urls_with_credentials_or_bad_ports_are_refused(
    runner: CliRunner, cwd: Path, write: Writer, url: str, shown: str
) -> None:
    """A base URL with user-info, a query or an impossible port: exit 2, secret never shown."""
    result = invoke(runner, ["run", str(write("m.csv", HEADER + ROW)), "--base-url", url])
    assert result.exit_code == 2
    assert shown in result.stderr
    assert result.stderr.count("\n") == 1
    assert "s3cret" not in result.output
    assert not (cwd / "ae-import-ledger.sqlite").exists()


def test_a_token_with_a_newline_is_refused_without_showing_it(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A token holding a control character is exit 2, one line, and the token is not printed."""
    path = write("m.csv", HEADER + ROW)
    result = runner.invoke(
        app,
        ["run", str(path), "--base-url", "http://127.0.0.1:9/api"],
        env={"AE_API_TOKEN": "tok-se\ncret"},
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "ae-import: error: AE_API_TOKEN: the token holds a control character (a line break?); "
        "set it again as one line\n"
    )
    assert "cret" not in result.output


def test_json_errors_are_one_object_on_stdout(runner: CliRunner, cwd: Path, write: Writer) -> None:
    """With --json, a usage error (exit 2) and a held ledger (exit 4) print one JSON object."""
    path = str(write("m.csv", HEADER + ROW))
    usage = invoke(runner, ["run", path, "--json", "--concurrency", "0"])
    assert usage.exit_code == 2
    assert json.loads(usage.stdout) == {
        "error": {"code": "usage", "message": "--concurrency: '0' must be at least 1"},
        "exit_code": 2,
    }
    with RunLock(cwd / "ae-import-ledger.sqlite"):
        busy = invoke(runner, ["run", path, "--json", "--base-url", "http://127.0.0.1:9/api"])
    assert busy.exit_code == 4
    answer = json.loads(busy.stdout)
    assert answer["exit_code"] == 4
    assert answer["error"]["code"] == "ledger_busy"
    unknown = invoke(runner, ["validate", path, "--json", "--nope"])
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["error"]["code"] == "usage"


@pytest.mark.parametrize(
    ("exc", "code", "name"),
    [
        (ManifestError("m.csv: empty"), 2, "manifest"),
        (AuthError("refused"), 3, "auth"),
        (LedgerBusyError("held"), 4, "ledger_busy"),
        (RunStopped("stopped: x"), 1, "stopped"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (Terminated(), 143, "terminated"),
        (BrokenPipeError(), EXIT_PIPE, "broken_pipe"),
        (FileNotFoundError(2, "No such file", "x.csv"), 2, "os_error"),
        (ZeroDivisionError("boom"), EXIT_INTERNAL, "internal"),
    ],
)
def test_one_table_maps_exceptions_to_exit_codes(exc: BaseException, code: int, name: str) -> None:
    """errors.exit_status is the one table: each exception has its code and error name."""
    assert exit_status(exc)[0] == code
    assert error_code(exc) == name


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{path}", "--show-requests", "3000"],
        ["run", "{path}", "--dry-run"],
    ],
)
def test_a_closed_stdout_ends_quietly_with_141(
    tmp_path: Path, write: Writer, args: list[str]
) -> None:
    """`... | head -1`: no 'Broken pipe' error, exit 141 (as a tool killed by SIGPIPE)."""
    rows = "".join(
        f"CALL,Call {i},crm,id-{i},https://cdn.example.com/{i}.mp3\n" for i in range(3000)
    )
    path = write("m.csv", HEADER + rows)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ae_import", *(a.format(path=path) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == EXIT_PIPE
    assert proc.stderr is not None
    assert proc.stderr.read() == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "5/0s"], "--rate: '5/0s': the period must be above zero, as in 5000/12h"),
        (["--concurrency", "4_0"], "--concurrency: '4_0' is not a whole number"),
        (["--concurrency", "\u0664"], "--concurrency: '\u0664' is not a whole number"),
        (["--max-duration", "9" * 400], "a duration must be above zero and finite"),
    ],
)
def test_option_values_that_crashed_are_one_line_exit_2(
    runner: CliRunner, cwd: Path, write: Writer, args: list[str], message: str
) -> None:
    """Values that raised ZeroDivisionError or OverflowError (exit 70) are usage errors."""
    path = write("m.csv", HEADER + line("a"))
    result = runner.invoke(app, ["run", str(path), "--dry-run", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("ae-import: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unquoted_until_in_yaml_is_the_time_written(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """`until: 23:30` unquoted is read as the text written, not YAML 1.1's number 1410."""
    config = write("c.yaml", "run:\n  until: 23:30\n")
    path = write("m.csv", HEADER + line("a"))
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--config", str(config)])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "args", "config", "json_out"),
    [
        ({"AE_IMPORT_JSON": "yes"}, [], "", True),
        ({"AE_IMPORT_JSON": "1"}, ["--no-json"], "", False),
        ({}, [], "run:\n  json: true\n", True),
        ({}, ["--json"], "", True),
    ],
)
def test_json_errors_follow_flag_env_and_config(
    runner: CliRunner,
    cwd: Path,
    write: Writer,
    env: dict[str, str],
    args: list[str],
    config: str,
    json_out: bool,
) -> None:
    """A usage error is a JSON object when --json, AE_IMPORT_JSON=yes or run.json asks."""
    path = write("m.csv", HEADER + line("a"))
    extra = ["--config", str(write("c.yaml", config))] if config else []
    result = runner.invoke(app, ["run", str(path), "--concurrency", "0", *args, *extra], env=env)
    assert result.exit_code == 2
    assert result.stderr == "ae-import: error: --concurrency: '0' must be at least 1\n"
    if json_out:
        assert json.loads(result.stdout)["error"]["code"] == "usage"
    else:
        assert result.stdout == ""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"]])
def test_help_on_a_closed_stdout_exits_141(tmp_path: Path, args: list[str]) -> None:
    """`ae-import --help | true`: exit 141 as a closed pipe, not 1."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "ae_import", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141


def test_bare_command_prints_the_help_not_escaped(runner: CliRunner) -> None:
    """`ae-import` alone shows the usage block as written (no escaped newlines), exit 2."""
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ae-import [OPTIONS] COMMAND [ARGS]...\n")
    assert "\\n" not in result.stderr


def test_a_bad_base_url_names_where_it_came_from(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A base URL from the config or the env is blamed there, not on --base-url."""
    path = write("m.csv", HEADER + line("a"))
    config = write("c.yaml", "api:\n  base_url: 5\n")
    result = runner.invoke(app, ["run", str(path), "--config", str(config)])
    assert (
        result.stderr == f"ae-import: error: {config}: api.base_url: '5' must be an https:// URL\n"
    )
    env = {"AE_IMPORT_BASE_URL": "ftp://x.example/api"}
    result = runner.invoke(app, ["run", str(path)], env=env)
    assert result.stderr.startswith("ae-import: error: AE_IMPORT_BASE_URL: 'ftp://x.example/api'")
