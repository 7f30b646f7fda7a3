"""Tests of run settings: precedence, parsing, base-URL and token rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ae_import.config import Config, load_config
from ae_import.errors import UsageError
from ae_import.options import DEFAULT_BASE_URL, RunSettings
from ae_import.settings import check_base_url, read_token, resolve
from tests.helpers import Writer


def test_defaults() -> None:
    """Without flags, env or config: 8 workers, 5 attempts, 600 s, production URL."""
    settings = resolve({}, {}, Config())
    assert settings == RunSettings()
    assert (settings.concurrency, settings.max_attempts, settings.timeout) == (8, 5, 600.0)
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.ledger_path == Path("ae-import-ledger.sqlite")


def test_precedence_flag_env_config_default(write: Writer) -> None:
    """A flag beats the env var, which beats the config, which beats the default."""
    config = load_config(
        write(
            "c.yaml",
            "run:\n  concurrency: 3\n  max_attempts: 9\n  rate: 300/m\napi:\n  timeout: 30\n",
        )
    )
    env = {"AE_IMPORT_CONCURRENCY": "5", "AE_IMPORT_TIMEOUT": "45"}
    settings = resolve({"concurrency": 7}, env, config)
    assert settings.concurrency == 7
    assert settings.timeout == 45.0
    assert settings.max_attempts == 9
    assert settings.rate == 5.0
    assert resolve({}, env, config).concurrency == 5
    assert resolve({}, {}, config).concurrency == 3


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({"concurrency": "x"}, {}, "--concurrency: 'x' is not a whole number"),
        ({}, {"AE_IMPORT_CONCURRENCY": "0"}, "AE_IMPORT_CONCURRENCY: '0' must be at least 1"),
        ({}, {"AE_IMPORT_RATE": "fast"}, "AE_IMPORT_RATE: 'fast' is not a rate"),
        ({}, {"AE_IMPORT_DRY_RUN": "maybe"}, "AE_IMPORT_DRY_RUN: 'maybe' is not true or false"),
        ({}, {"AE_IMPORT_AUTH_SCHEME": "basic"}, "AE_IMPORT_AUTH_SCHEME: 'basic' is not bearer"),
    ],
)
def test_bad_values_name_their_source(
    flags: dict[str, str], env: dict[str, str], message: str
) -> None:
    """A bad value names where it came from."""
    with pytest.raises(UsageError) as info:
        resolve(flags, env, Config())
    assert info.value.message.startswith(message)


def test_bad_config_value_names_the_file(write: Writer) -> None:
    """A bad value in the config names the file and section."""
    path = write("c.yaml", "run:\n  concurrency: lots\n")
    with pytest.raises(UsageError, match=r"c.yaml: run.concurrency: 'lots' is not a whole number"):
        resolve({}, {}, load_config(path))


def test_unknown_run_key_is_refused(write: Writer) -> None:
    """Unknown keys in api: and run: are refused like any other."""
    with pytest.raises(UsageError, match="unknown key 'concurency' under run"):
        load_config(write("c.yaml", "run:\n  concurency: 3\n"))


@pytest.mark.parametrize(
    "url",
    [
        "https://app.askelephant.ai/api",
        "http://127.0.0.1:8765/api",
        "http://localhost/api",
        "http://[::1]:9/api",
        "http://127.5.5.5/api",
    ],
)
def test_base_url_accepted(url: str) -> None:
    """Accept https anywhere, and plain http only to loopback."""
    check_base_url(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://app.askelephant.ai/api", "plain http:// is refused for app.askelephant.ai"),
        ("http://10.0.0.5/api", "plain http:// is refused"),
        ("ftp://x/api", "must be an https:// URL"),
        ("app.askelephant.ai/api", "must be an https:// URL"),
    ],
)
def test_base_url_refused(url: str, words: str) -> None:
    """http:// to other hosts, other schemes and bare hosts are refused."""
    with pytest.raises(UsageError, match=words):
        check_base_url(url)


def test_token_from_env_or_file(tmp_path: Path) -> None:
    """The token comes from AE_API_TOKEN or a mode-600 token file, stripped."""
    assert read_token(RunSettings(), {"AE_API_TOKEN": " tok \n"}) == "tok"
    path = tmp_path / "token"
    path.write_text("file-token\n")
    path.chmod(0o600)
    assert read_token(RunSettings(token_file=path), {"AE_API_TOKEN": "env"}) == "file-token"


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A token file that group or others can read is refused with the chmod that fixes it."""
    path = tmp_path / "token"
    path.write_text("secret-token")
    path.chmod(0o644)
    with pytest.raises(UsageError) as info:
        read_token(RunSettings(token_file=path), {})
    assert info.value.message == (
        f"{path}: the token file can be read by group or others; run: chmod 600 {path}"
    )
    assert "secret-token" not in info.value.message


def test_missing_token_says_how_to_give_one(tmp_path: Path) -> None:
    """No token at all, an empty file, or a missing file: each says what to do."""
    with pytest.raises(UsageError, match="set AE_API_TOKEN, or pass --token-file"):
        read_token(RunSettings(), {})
    empty = tmp_path / "t"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(UsageError, match="the token file is empty"):
        read_token(RunSettings(token_file=empty), {})
    with pytest.raises(UsageError, match="no such token file"):
        read_token(RunSettings(token_file=tmp_path / "nope"), {})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90m", 5400),
        ("6h", 21600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("3600", 3600),
        ("0.5s", 0.5),
        ("250ms", 0.25),
        ("1H 30M", 5400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations read as rclone's do: units s, m, h, d (and ms), combined, or bare seconds."""
    from ae_import.options import parse_duration

    assert parse_duration(text) == seconds


def test_seconds_until_picks_the_next_occurrence() -> None:
    """--until HH:MM is today when still ahead, else tomorrow, in local time."""
    import time as _time

    from ae_import.operations.run import format_duration, seconds_until

    now = _time.mktime((2026, 11, 30, 2, 0, 0, 0, 0, -1))
    assert seconds_until(6, 0, now) == 4 * 3600
    assert seconds_until(1, 30, now) == 23.5 * 3600
    assert seconds_until(2, 0, now) == 24 * 3600
    assert [format_duration(s) for s in (21600, 5400, 45, 0.2, 3725)] == [
        "6h",
        "1h30m",
        "45s",
        "0s",
        "1h2m5s",
    ]


def test_shard_changes_the_default_ledger() -> None:
    """Each shard gets its own default ledger file; an explicit --ledger is kept."""
    from ae_import.options import parse_shard

    shard = parse_shard(" 2 / 4 ")
    assert str(shard) == "2/4"
    assert RunSettings(shard=shard).ledger_path == Path("ae-import-ledger-2of4.sqlite")
    assert RunSettings(shard=shard, sandbox=True).ledger_path == Path(
        "ae-import-sandbox-ledger-2of4.sqlite"
    )
    assert RunSettings(shard=shard, ledger=Path("x.sqlite")).ledger_path == Path("x.sqlite")
    assert RunSettings(max_rows=5, limit=3).row_budget == (3, "--limit")
    assert RunSettings(max_rows=5).row_budget == (5, "--max-rows")


def test_seconds_until_counts_real_seconds_across_a_dst_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the night clocks spring forward, 01:00 to 06:00 local is four real hours."""
    import time as _time

    from ae_import.operations.run import seconds_until

    monkeypatch.setenv("TZ", "America/New_York")
    _time.tzset()
    try:
        now = _time.mktime((2026, 3, 8, 1, 0, 0, 0, 0, -1))
        assert seconds_until(6, 0, now) == 4 * 3600
    finally:
        monkeypatch.undo()
        _time.tzset()
