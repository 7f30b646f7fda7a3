"""Staging with real processes: `ae-import sandbox --fetch-media` and `ae-import run --stage-to`.

The same path as tests/commands/test_staging.py, but each command is its own process, as
a user runs them: the sandbox fetches every staged object whole from moto and keeps its
sha256; the run's files and credentialed URLs must arrive byte for byte. Also a smoke
run of bench/staging.py, so that the benchmark cannot rot.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT
from tests.helpers.cli import HEADER
from tests.helpers.mediaserver import PASSWORD, USER, AuthMediaHost
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

pytestmark = pytest.mark.slow
pytest.importorskip("s3transfer")


def test_run_stage_to_into_a_sandbox_process(
    s3_env: S3Server, auth_media: AuthMediaHost, ca_file: Path, tmp_path: Path
) -> None:
    """Local files and a Basic-auth URL staged by `run`, fetched whole by the sandbox process."""
    sources = {f"f{n}": hashlib.sha256(str(n).encode()).digest() * (100 + n) for n in range(5)}
    lines = [HEADER.strip()]
    for name, data in sources.items():
        (tmp_path / f"{name}.mp3").write_bytes(data)
        lines.append(f"CALL,{name},d,{name},{name}.mp3")
    sources["tw"] = b"ID3" + os.urandom(5000)
    url = auth_media.add("/basic/process/tw", sources["tw"], "audio/mpeg")
    lines.append(f"CALL,tw,twilio,tw,{url}")
    (tmp_path / "index.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.yaml").write_text(
        "media:\n  auth:\n    - host: localhost\n"
        "      basic: {user_env: TW_SID, password_env: TW_TOKEN}\n"
    )
    serve = ["sandbox", "--port", "0", "--token", "tok-e2e", "--fetch-media"]
    serve += ["--media-allow-private", "--media-digest"]
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "ae_import", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        base_url = sandbox.stdout.readline().strip().rsplit(" ", 1)[1]
        env = {**os.environ, "AE_API_TOKEN": "tok-e2e", "TW_SID": USER, "TW_TOKEN": PASSWORD}
        args = ["run", str(tmp_path / "index.csv"), "--config", str(tmp_path / "c.yaml")]
        args += ["--base-url", base_url, "--json", "--stage-to", f"s3://{BUCKET}/proc"]
        args += ["--media-allow-private", "--ca-bundle", str(ca_file)]
        args += ["--ledger", str(tmp_path / "l.sqlite")]
        done = subprocess.run(
            [sys.executable, "-m", "ae_import", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["created"] == len(sources)
        fetched = httpx.get(base_url.removesuffix("/api") + "/_sandbox/media").json()
    finally:
        sandbox.kill()
        sandbox.wait()
    assert {k: v["sha256"] for k, v in fetched.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in sources.items()
    }
    assert {v["content_type"] for v in fetched.values()} == {"audio/mpeg"}
    assert PASSWORD not in done.stdout + done.stderr


def test_staging_bench_runs_at_smoke_size() -> None:
    """bench/staging.py runs end to end on tiny inputs and prints each figure."""
    small = ["--files", "4", "--mib", "1", "--big-gib", "0.01"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "staging.py"), *small],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "x of upload_file" in done.stdout
    assert "plain resume" in done.stdout
    assert "peak RSS" in done.stdout
