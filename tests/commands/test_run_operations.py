"""CLI tests of the cron operations of `ae-import run`: lock, budgets, rate, logs, shards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.db import Ledger
from ae_import.ledger.lock import RunLock
from ae_import.mapping.rowsource import shard_of
from tests.helpers import SANDBOX_TOKEN, Sandboxes, Writer
from tests.helpers.cli import HEADER, invoke, line


def ids(n: int) -> list[str]:
    """Return n external_ids."""
    return [f"row-{i:03d}" for i in range(n)]


def manifest(write: Writer, names: list[str], name: str = "m.csv") -> Path:
    """Write a manifest with one valid row per external_id."""
    return write(name, HEADER + "".join(line(i) for i in names))


def test_second_run_on_a_held_ledger_exits_4_naming_the_holder(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A run on a ledger another run holds exits 4 at once, sends nothing, names the pid."""
    path = manifest(write, ids(3))
    with RunLock(cwd / "ae-import-ledger.sqlite"):
        result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url])
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.startswith(
        "ae-import: error: ae-import-ledger.sqlite: in use by another ae-import run "
        f"(pid {os.getpid()} on "
    )
    assert result.stderr.endswith("wait for it to finish, or pass another --ledger\n")
    assert sandbox.store.count() == 0
    again = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url])
    assert again.exit_code == 0
    assert sandbox.store.count() == 3


def test_dry_run_does_not_need_the_lock(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--dry-run only reads the ledger, so it works while a run holds it."""
    path = manifest(write, ids(2))
    with RunLock(cwd / "ae-import-ledger.sqlite"):
        result = invoke(runner, ["run", str(path), "--dry-run", "--json"], token=None)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["would_send"] == 2


def test_max_rows_budget_exits_0_and_says_rows_left(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--max-rows 4 of 10: exit 0, 'budget reached, 6 rows left'; the next run does the rest."""
    path = manifest(write, ids(10))
    args = ["run", str(path), "--base-url", sandbox.base_url]
    result = invoke(runner, [*args, "--max-rows", "4"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "   6 │ left for the next run" in lines
    assert lines[-1].endswith(
        "; budget reached, 6 rows left (--max-rows 4 reached); re-run to go on"
    )
    assert sandbox.store.count() == 4
    report = json.loads(invoke(runner, [*args, "--json", "--max-rows", "4"]).stdout)
    assert (report["created"], report["skipped"], report["rows_left"]) == (4, 4, 2)
    assert report["budget_reached"] is True
    final = invoke(runner, [*args, "--json"])
    assert final.exit_code == 0
    assert "budget_reached" not in json.loads(final.stdout)
    assert sandbox.store.count() == 10


def test_budget_with_a_failed_row_exits_1(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A budget is a clean stop only when nothing failed: a refused row still means exit 1."""
    path = write("m.csv", HEADER + line("ae-sandbox-409") + "".join(line(i) for i in ids(5)))
    result = invoke(
        runner, ["run", str(path), "--base-url", sandbox.base_url, "--max-rows", "2", "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["failed"], report["created"], report["rows_left"]) == (1, 1, 4)


def test_max_duration_budget_stops_dispatching(
    runner: CliRunner, sandboxes: Sandboxes, cwd: Path, write: Writer
) -> None:
    """--max-duration stops a run against a slow server: exit 0, budget reached, rows left."""
    slow = sandboxes.start(latency_ms=150)
    path = manifest(write, ids(200))
    result = invoke(
        runner,
        [
            "run",
            str(path),
            "--base-url",
            slow.base_url,
            "--max-duration",
            "0.3s",
            "--concurrency",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["budget_reached"] is True
    assert report["stopped"] == "deadline"
    assert report["created"] + report["rows_left"] == 200
    assert report["rows_left"] > 100
    assert slow.store.count() == report["created"]
    ledger = Ledger(cwd / "ae-import-ledger.sqlite", slow.base_url)
    assert ledger.counts()["pending"] == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-duration", "soon", "'soon' is not a duration; write it as 45s, 90m, 6h or 1h30m"),
        ("--max-duration", "0s", "'0s': a duration must be above zero and finite"),
        ("--until", "25:00", "'25:00' is not a time of day; write it as HH:MM, e.g. 06:30"),
        ("--until", "6am", "'6am' is not a time of day; write it as HH:MM, e.g. 06:30"),
        ("--rate", "fast", "'fast' is not a rate; write it as 5/s, 300/m or 5000/12h"),
        ("--rate", "5/fortnight", "'5/fortnight': unknown unit 'fortnight'; use s, m, h or d"),
        ("--shard", "3/2", "'3/2': K must be between 1 and N, e.g. 1/4 to 4/4"),
        ("--shard", "half", "'half' is not a shard; write it as K/N, e.g. 1/4"),
        ("--log-format", "xml", "'xml' is not text or json"),
    ],
)
def test_bad_budget_rate_shard_and_log_values_exit_2(
    runner: CliRunner, cwd: Path, write: Writer, option: str, value: str, message: str
) -> None:
    """A malformed option value is one line naming the option, exit 2, nothing sent."""
    path = manifest(write, ids(1))
    result = invoke(runner, ["run", str(path), "--sandbox", option, value])
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {option}: {message}\n"


@pytest.mark.parametrize("rate", ["50/s", "3000/m", "5000/12h", "20"])
def test_rate_forms_are_accepted(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer, rate: str
) -> None:
    """--rate takes 5/s, 300/m and 5000/12h forms (one row goes out at once under any)."""
    path = manifest(write, ids(1))
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--rate", rate])
    assert result.exit_code == 0, result.output
    assert sandbox.store.count() == 1


def test_budgets_from_env_and_config(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """max_rows can come from the config's run: section; the flag wins over it."""
    path = manifest(write, ids(5))
    config = write("c.yaml", "run:\n  max_rows: 2\n  log_format: json\n")
    result = invoke(
        runner, ["run", str(path), "-c", str(config), "--base-url", sandbox.base_url, "--json"]
    )
    assert json.loads(result.stdout)["created"] == 2
    result = invoke(
        runner,
        ["run", str(path), "-c", str(config), "--base-url", sandbox.base_url, "--max-rows", "3"],
    )
    assert sandbox.store.count() == 5


def test_text_log_has_one_line_per_outcome_and_retry(
    runner: CliRunner, sandboxes: Sandboxes, cwd: Path, write: Writer
) -> None:
    """--log-file: start, one line per retry and per row, end; no token, no query string."""
    flaky = sandboxes.start(fail_rate=0.5, seed=3)
    path = write(
        "m.csv",
        HEADER
        + "".join(line(i) for i in ids(6))
        + line("ae-sandbox-409")
        + "CALL,,crm,bad,https://x.example/c.mp3\n",
    )
    log = cwd / "run.log"
    result = invoke(
        runner,
        [
            "run",
            str(path),
            "--base-url",
            flaky.base_url,
            "--log-file",
            str(log),
            "--max-attempts",
            "10",
            "--quiet",
        ],
    )
    assert result.exit_code == 1, result.output
    lines = log.read_text().splitlines()
    events = [text.split(" ")[1] for text in lines]
    assert events[0] == "run_start" and events[-1] == "run_end"
    rows = [text for text in lines if text.split(" ")[1] == "row"]
    retries = [text for text in lines if text.split(" ")[1] == "retry"]
    assert len(rows) == 8
    assert retries, "fail_rate 0.5 with seed 3 must cause retries"
    assert all(" status=retry attempt=" in text for text in retries)
    assert any(
        "external_id=ae-sandbox-409 status=failed attempt=" in t and " http_status=409 " in t
        for t in rows
    )  # its attempt depends on the faults its row drew
    cuts = [text for text in lines if text.split(" ")[1] == "rate"]
    assert cuts, "the 503s slow the run: the rate controller's cuts are logged"
    assert all(" refused=" in t and " rate=" in t and " ceiling=" in t for t in cuts)
    assert any("external_id=bad status=invalid line=9 error_code=missing_field" in t for t in rows)
    created = [t for t in rows if " status=created " in t]
    assert len(created) == 6
    assert all(" latency=" in t and " request_id=req_" in t for t in created)
    assert "exit_code=1" in lines[-1]
    text = log.read_text()
    assert SANDBOX_TOKEN not in text
    assert "X-Amz-Signature" not in text and "SIG" not in text


def test_json_log_escapes_control_characters(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--log-format json: one object per line; an external_id cannot forge a line."""
    evil = 'evil\\u2028x\\u0085y\\rz\\n{\\"event\\": \\"row\\"}'
    path = write(
        "m.jsonl",
        json.dumps(
            {
                "type": "CALL",
                "title": "t",
                "source_system": "s",
                "external_id": json.loads(f'"{evil}"'),
                "media_url": "https://cdn.example.com/a.mp3?X-Amz-Signature=SIG",
            }
        )
        + "\n",
    )
    log = cwd / "run.jsonl"
    args = ["run", str(path), "--base-url", sandbox.base_url, "--log-file", str(log)]
    result = invoke(runner, [*args, "--log-format", "json", "-q"])
    assert result.exit_code == 0, result.output
    raw = log.read_text()
    assert raw.count("\n") == 3
    assert "\u2028" not in raw and "\x85" not in raw and "\r" not in raw
    records = [json.loads(text) for text in raw.splitlines()]
    assert [r["event"] for r in records] == ["run_start", "row", "run_end"]
    assert records[1]["external_id"] == 'evil\\u2028x\\x85y\\rz\\n{"event": "row"}'
    assert (records[1]["status"], records[1]["http_status"], records[1]["attempt"]) == (
        "created",
        201,
        1,
    )
    text_log = cwd / "run.log"
    invoke(runner, [*args[:-1], str(text_log), "--retry-failed", "-q"])
    assert text_log.read_text().count("\n") == 2  # start and end: the row was skipped


def test_log_file_follows_logrotate(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """When the log is moved away between runs, the next run writes a fresh file at the path."""
    log = cwd / "run.log"
    args = ["--base-url", sandbox.base_url, "--log-file", str(log), "-q"]
    invoke(runner, ["run", str(manifest(write, ["a"], "one.csv")), *args])
    log.rename(cwd / "run.log.1")
    invoke(runner, ["run", str(manifest(write, ["b"], "two.csv")), *args])
    assert "external_id=a " in (cwd / "run.log.1").read_text()
    fresh = log.read_text()
    assert "external_id=b " in fresh and "external_id=a " not in fresh


def test_unwritable_log_file_is_a_usage_error(runner: CliRunner, cwd: Path, write: Writer) -> None:
    """A log file that cannot be opened is exit 2 with the path and the reason."""
    path = manifest(write, ids(1))
    bad = cwd / "missing-dir" / "run.log"
    result = invoke(runner, ["run", str(path), "--sandbox", "--log-file", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"ae-import: error: --log-file {bad}: cannot open: No such file or directory\n"
    )


def test_shard_of_is_stable() -> None:
    """The shard of an external_id never changes between versions or machines (crc32)."""
    assert [shard_of(i, 4) for i in ("a", "b", "row-000", "sf:00T5e00001AbCdE")] == [4, 2, 1, 4]
    assert {shard_of(i, 1) for i in ids(50)} == {1}


def test_shards_split_the_rows_exactly_once(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--shard 1/3, 2/3 and 3/3 each import their own rows, with their own default ledgers."""
    names = ids(60)
    path = write("m.csv", HEADER + "".join(line(i) for i in names) + "CALL,t,crm,,https://x/\n")
    counts = []
    for k in (1, 2, 3):
        result = invoke(
            runner,
            ["run", str(path), "--base-url", sandbox.base_url, "--shard", f"{k}/3", "--json"],
        )
        report = json.loads(result.stdout)
        counts.append(report["created"])
        assert report["other_shards"] == 61 - report["total"]
        assert report["invalid"] == (1 if k == 1 else 0)  # a row without id: shard 1 only
        assert (cwd / f"ae-import-ledger-{k}of3.sqlite").exists()
    assert sorted(sandbox.store.external_ids()) == sorted(names)
    assert counts == [sum(1 for i in names if shard_of(i, 3) == k) for k in (1, 2, 3)]
    assert min(counts) > 0


def test_a_ledger_serves_one_shard(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A ledger used for shard 1/2 refuses shard 2/2 and unsharded runs (exit 2)."""
    path = manifest(write, ids(4))
    base = ["run", str(path), "--base-url", sandbox.base_url, "--ledger", "l.sqlite"]
    assert invoke(runner, [*base, "--shard", "1/2"]).exit_code == 0
    for extra, words in (
        (["--shard", "2/2"], "holds shard 1/2, not shard 2/2"),
        ([], "holds shard 1/2, not every row (no --shard)"),
    ):
        result = invoke(runner, [*base, *extra])
        assert result.exit_code == 2
        assert result.stderr == (
            f"ae-import: error: l.sqlite: this ledger {words}; each shard needs its own "
            "ledger: pass another --ledger\n"
        )


def test_until_stops_at_the_local_time_given(
    runner: CliRunner,
    sandboxes: Sandboxes,
    cwd: Path,
    write: Writer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--until HH:MM ends dispatching when that local time comes (here: in 0.3 s)."""
    import ae_import.operations.run

    asked: list[tuple[int, int]] = []

    def soon(hour: int, minute: int, now: float) -> float:
        asked.append((hour, minute))
        return 0.3

    monkeypatch.setattr(ae_import.operations.run, "seconds_until", soon)
    slow = sandboxes.start(latency_ms=150)
    path = manifest(write, ids(200))
    args = ["run", str(path), "--base-url", slow.base_url, "--concurrency", "2"]
    result = invoke(runner, [*args, "--until", "6:05"])
    assert result.exit_code == 0, result.output
    assert asked == [(6, 5)]
    assert result.stdout.splitlines()[-1].endswith(
        "rows left (--until 06:05 reached); re-run to go on"
    )
    assert "; budget reached, " in result.stdout
    assert slow.store.count() < 200


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_log_that_cannot_be_written_is_reported_once(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A full disk under --log-file: one warning line, the run goes on, exit codes agree."""
    path = write("m.csv", HEADER + line("a") + line("b"))
    args = ["run", str(path), "--sandbox", "--log-file", "/dev/full", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warning = (
        "ae-import: warning: --log-file /dev/full: cannot write (No space left on device); "
        "the run goes on without the log (the ledger keeps every outcome)\n"
    )
    assert result.stderr == warning
    assert json.loads(result.stdout)["created"] == 2
    status = runner.invoke(app, ["status", "--sandbox", "--json"])
    assert json.loads(status.stdout)["runs"][0]["exit_code"] == 0
