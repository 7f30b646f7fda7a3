"""CLI tests of `ae-import run` over real HTTP against the sandbox: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.ledger.db import Ledger
from tests.helpers import SAMPLES, SANDBOX_TOKEN, Sandboxes, Writer
from tests.helpers.cli import HEADER, invoke, line
from tests.helpers.ledgerdb import ledger_row

SF_CSV = str(SAMPLES / "salesforce-calls.csv")
SF_YAML = str(SAMPLES / "salesforce.yaml")


def test_import_then_rerun_skips(runner: CliRunner, sandbox: Any, cwd: Path, write: Writer) -> None:
    """A run creates every row (exit 0); a re-run sends nothing and skips them all."""
    path = write("m.csv", HEADER + line("a") + line("b") + line("c"))
    args = ["run", str(path), "--base-url", sandbox.base_url, "--json"]
    first = invoke(runner, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert {k: report[k] for k in ("total", "created", "skipped", "failed")} == {
        "total": 3,
        "created": 3,
        "skipped": 0,
        "failed": 0,
    }
    assert set(report) == {
        "total",
        "created",
        "existing",
        "failed",
        "invalid",
        "retryable",
        "skipped",
        "changed",
        "duration_s",
        "problems_by_code",
        "new_problems",
        "exit_code",
    }
    again = json.loads(invoke(runner, args).stdout)
    assert (again["created"], again["skipped"]) == (0, 3)
    assert sandbox.store.count() == 3
    assert (cwd / "ae-import-ledger.sqlite").exists()


def test_a_first_import_opens_its_client_before_the_run_a_resume_when_it_sends(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty ledger: the client opens before the run's clock; a resume: at its first send."""
    from ae_import.sending import EngagementClient, Engine

    seen: list[str] = []
    opened, started = EngagementClient.open, Engine.run

    def open_(self: EngagementClient) -> None:
        seen.append("open")
        opened(self)

    async def run_(self: Engine, *args: Any, **kwargs: Any) -> Any:
        seen.append("run")
        return await started(self, *args, **kwargs)

    monkeypatch.setattr(EngagementClient, "open", open_)
    monkeypatch.setattr(Engine, "run", run_)
    path = write("m.csv", HEADER + line("a"))
    args = ["run", str(path), "--base-url", sandbox.base_url, "--json"]
    assert invoke(runner, args).exit_code == 0
    assert seen[:2] == ["open", "run"]
    seen.clear()
    path.write_text(HEADER + line("a") + line("b"))
    assert invoke(runner, args).exit_code == 0
    assert seen[:2] == ["run", "open"]
    seen.clear()
    assert invoke(runner, args).exit_code == 0  # nothing to send: never opened
    assert "open" not in seen


def test_invalid_and_failed_rows_exit_1_and_valid_rows_still_go(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """Invalid rows are never sent, refused rows are failed; the valid ones are imported."""
    path = write(
        "m.csv",
        HEADER
        + line("ok")
        + "CALL,,crm,bad,https://cdn.example.com/x.mp3\n"
        + line("ae-sandbox-409")
        + line("page", "https://cdn.example.com/p.html"),
    )
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["created"], report["invalid"], report["failed"]) == (1, 1, 2)
    assert sandbox.store.external_ids() == ["ok"]
    ledger = Ledger(cwd / "ae-import-ledger.sqlite", sandbox.base_url)
    assert ledger_row(ledger, "bad")["status"] == "invalid"  # type: ignore[index]
    assert ledger_row(ledger, "page")["error_code"] == "media"  # type: ignore[index]
    assert ledger_row(ledger, "ae-sandbox-409")["http_status"] == 409  # type: ignore[index]


def test_wrong_token_aborts_with_exit_3(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A refused token stops the run at once: exit 3 and the cause on stderr."""
    path = write("m.csv", HEADER + "".join(line(str(n)) for n in range(40)))
    result = invoke(
        runner,
        ["run", str(path), "--base-url", sandbox.base_url, "--json"],
        token="wrong-token-value",
    )
    assert result.exit_code == 3
    assert "ae-import: the token was refused (401)" in result.stderr
    assert "auth_scheme: raw" in result.stderr
    assert sandbox.store.count() == 0
    assert json.loads(result.stdout)["retryable"] >= 1
    assert "wrong-token-value" not in result.output


def test_token_never_reaches_output_or_ledger(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """The token and presigned signatures appear in no output and nowhere in the ledger files."""
    path = write("m.csv", HEADER + line("a") + line("b"))
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url])
    assert result.exit_code == 0
    assert SANDBOX_TOKEN not in result.output
    assert "X-Amz-Signature" not in result.output
    for file in cwd.glob("ae-import-ledger.sqlite*"):
        data = file.read_bytes()
        assert SANDBOX_TOKEN.encode() not in data
        assert b"X-Amz-Signature" not in data
        assert b"SIG" not in data


def test_human_summary_table(runner: CliRunner, sandbox: Any, cwd: Path, write: Writer) -> None:
    """Without --json the summary is a table of outcomes, then the time."""
    path = write("m.csv", HEADER + line("a"))
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "rows ┃ outcome"
    assert lines[2:10] == [
        "   1 │ total",
        "   1 │ created",
        "   0 │ existing",
        "   0 │ skipped",
        "   0 │ changed",
        "   0 │ failed",
        "   0 │ invalid",
        "   0 │ retryable",
    ]
    assert lines[10].startswith("done in ")


def test_dry_run_prints_decisions_and_sends_nothing(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--dry-run lists what would be sent and skipped, consults the ledger, sends nothing."""
    path = write("m.csv", HEADER + line("a") + line("b") + "CALL,,crm,c,https://x.example/c.mp3\n")
    invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--limit", "1"])
    assert sandbox.store.count() == 1
    result = invoke(
        runner, ["run", str(path), "--base-url", sandbox.base_url, "--dry-run"], token=None
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        "skip (done)   line 2       a",
        "would send    line 3       b",
        "invalid       line 4       c: title: is required",
    ]
    assert sandbox.store.count() == 1
    dry = invoke(
        runner,
        ["run", str(path), "--base-url", sandbox.base_url, "--dry-run", "--json"],
        token=None,
    )
    report = json.loads(dry.stdout)
    assert (report["would_send"], report["skipped"], report["invalid"]) == (1, 1, 1)


def test_fingerprint_change_is_reported_changed(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A created row whose title changed is 'changed' and not sent again; exit 0."""
    path = write("m.csv", HEADER + line("a"))
    invoke(runner, ["run", str(path), "--base-url", sandbox.base_url])
    path.write_text(HEADER + "CALL,Renamed,crm,a,https://cdn.example.com/a.mp3\n")
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["changed"] == 1


def test_failed_row_fixed_is_sent_again(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A row refused by the server is resent once the user fixes it (its fingerprint changed)."""
    path = write("m.csv", HEADER + line("a", "https://cdn.example.com/a.html"))
    assert invoke(runner, ["run", str(path), "--base-url", sandbox.base_url]).exit_code == 1
    unchanged = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--json"])
    assert json.loads(unchanged.stdout)["failed"] == 1
    path.write_text(HEADER + line("a", "https://cdn.example.com/a.mp3"))
    fixed = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--json"])
    assert fixed.exit_code == 0
    assert json.loads(fixed.stdout)["created"] == 1


def test_ledger_bound_to_another_base_url(
    runner: CliRunner, sandboxes: Sandboxes, cwd: Path, write: Writer
) -> None:
    """A ledger used for one base URL is refused for another: exit 2, naming both."""
    one, two = sandboxes.start(), sandboxes.start()
    path = write("m.csv", HEADER + line("a"))
    invoke(runner, ["run", str(path), "--base-url", one.base_url])
    result = invoke(runner, ["run", str(path), "--base-url", two.base_url])
    assert result.exit_code == 2
    assert f"belongs to {one.base_url}, not {two.base_url}" in result.stderr


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (
            ["--base-url", "http://app.askelephant.ai/api"],
            SANDBOX_TOKEN,
            "plain http:// is refused",
        ),
        ([], None, "no API token: set AE_API_TOKEN, or pass --token-file PATH"),
        (["--concurrency", "0"], SANDBOX_TOKEN, "--concurrency: '0' must be at least 1"),
        (["--concurrency", "1000"], SANDBOX_TOKEN, "--concurrency: '1000' must be at most 256"),
        (["--timeout", "0"], SANDBOX_TOKEN, "--timeout: '0' must be a number of seconds above"),
        (["--rate", "lots"], SANDBOX_TOKEN, "--rate: 'lots' is not a rate"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, cwd: Path, write: Writer, args: list[str], token: str | None, message: str
) -> None:
    """Unusable settings are exit 2 with one line, and nothing is sent."""
    path = write("m.csv", HEADER + line("a"))
    result = invoke(runner, ["run", str(path), *args], token=token)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_sandbox_flag_runs_the_readme_job(runner: CliRunner, cwd: Path) -> None:
    """`run samples/... --sandbox` imports the samples into an in-process sandbox; re-runs skip."""
    args = ["run", SF_CSV, "--config", SF_YAML, "--sandbox", "--json"]
    first = invoke(runner, args, token=None)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 5
    second = json.loads(invoke(runner, args, token=None).stdout)
    assert (second["created"], second["skipped"]) == (0, 5)
    assert (cwd / "ae-import-sandbox-ledger.sqlite").exists()
    assert (cwd / "ae-import-sandbox-state.sqlite").exists()


def test_unexpected_error_is_one_line_exit_70(
    runner: CliRunner, cwd: Path, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug ends in one line and exit 70, not a traceback (AE_IMPORT_DEBUG=1 shows it)."""
    import ae_import.operations

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(ae_import.operations, "run_import", broken)
    path = write("m.csv", HEADER + line("a"))
    result = invoke(runner, ["run", str(path), "--dry-run"])
    assert result.exit_code == 70
    assert result.stderr == (
        "ae-import: error: internal error: RuntimeError: boom second line "
        "(a bug: please report it; AE_IMPORT_DEBUG=1 shows the traceback)\n"
    )
