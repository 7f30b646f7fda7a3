#!/usr/bin/env python3
"""Staging's speed and memory against moto's S3 on loopback, each beside its reference.

Usage: python bench/staging.py [--files 200] [--mib 5] [--big-gib 2] [--skip-big]

1. Throughput: ``ae-import stage`` of FILES local files of MIB MiB (hash, HEAD, PUT,
   4 at once) against botocore's own ``upload_file`` (boto3 over s3transfer, 4 files at
   once from a thread pool) of the same files, in the same run, into the same server.
2. Re-run: ``ae-import stage`` again over the fully staged manifest (no PUT: the
   ledger knows each file, one HEAD each) against a plain resume (``ae-import run
   --sandbox`` of the same number of rows, all done already), both as processes.
3. Memory: peak RSS of ``ae-import stage`` of one BIG-GiB file, in a child process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HEADER = "type,title,source_system,external_id,media_url\n"


def environment(endpoint: str, folder: Path) -> dict[str, str]:
    """Return the environment that points botocore and ae-import at moto."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": str(folder / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AE_API_TOKEN": "bench",
    }


def ae_import(*args: str, env: dict[str, str]) -> tuple[float, int]:
    """Run ae-import as a process; return its wall time and its own peak RSS (KiB, wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "ae_import", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"ae-import {' '.join(args)} exited {child.returncode}: {errors!r}")
    return took, usage.ru_maxrss


def baseline(client: Any, bucket: str, files: list[Path]) -> float:
    """Upload ``files`` with boto3's upload_file, 4 at once; return the wall time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: client.upload_file(str(p), bucket, f"base/{p.name}"), files))
    return time.perf_counter() - started


def main() -> None:
    """Measure and print each figure beside its reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mib", type=int, default=5)
    parser.add_argument("--big-gib", type=float, default=2.0)
    parser.add_argument("--skip-big", action="store_true")
    options = parser.parse_args()

    import logging

    import boto3  # type: ignore[import-untyped]
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory(prefix="ae-bench-stage-") as scratch:
        folder = Path(scratch)
        env = environment(endpoint, folder)
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )
        for bucket in ("base", "ours"):
            client.create_bucket(Bucket=bucket)
        calls = folder / "calls"
        calls.mkdir()
        files = []
        for number in range(options.files):
            path = calls / f"rec-{number:04d}.mp3"
            path.write_bytes(os.urandom(options.mib * MIB))
            files.append(path)
        manifest = folder / "index.csv"
        manifest.write_text(
            HEADER + "".join(f"CALL,c{n},d,e{n},calls/{p.name}\n" for n, p in enumerate(files))
        )
        total = options.files * options.mib * MIB
        reference = baseline(client, "base", files)
        ledger = folder / "stage.sqlite"
        stage = ["stage", str(manifest), "--stage-to", "s3://ours/staged", "--ledger", str(ledger)]
        ours, _ = ae_import(*stage, "--quiet", env=env)
        print(
            f"throughput, {options.files} x {options.mib} MiB: upload_file {reference:.2f} s "
            f"({total / reference / MIB:.0f} MiB/s); ae-import stage {ours:.2f} s "
            f"({total / ours / MIB:.0f} MiB/s): {reference / ours:.2f}x of upload_file "
            "(target >= 0.8x)"
        )
        rerun, _ = ae_import(*stage, "--quiet", env=env)
        plain = folder / "plain.csv"
        plain.write_text(
            HEADER
            + "".join(
                f"CALL,c{n},d,p{n},https://cdn.example.com/r{n}.mp3\n" for n in range(options.files)
            )
        )
        run = ["run", str(plain), "--sandbox", "--ledger", str(folder / "plain.sqlite"), "--quiet"]
        ae_import(*run, env=env)
        resume, _ = ae_import(*run, env=env)
        print(
            f"re-run of a fully staged manifest: {rerun:.2f} s; plain resume {resume:.2f} s: "
            f"{rerun / resume:.2f}x (target <= 2x)"
        )
        for path in files:
            path.unlink()
        if not options.skip_big:
            big = calls / "big.mp4"
            with big.open("wb") as handle:
                block = os.urandom(MIB)
                for _ in range(int(options.big_gib * 1024)):
                    handle.write(block)
            one = folder / "big.csv"
            one.write_text(HEADER + "CALL,big,d,big,calls/big.mp4\n")
            args = ["stage", str(one), "--stage-to", "s3://ours/big", "--quiet"]
            took, rss = ae_import(*args, "--ledger", str(folder / "big.sqlite"), env=env)
            print(
                f"one {options.big_gib:g} GiB file: staged in {took:.1f} s, peak RSS "
                f"{rss / 1024:.0f} MiB (target < 200 MB)"
            )
    server.stop()


if __name__ == "__main__":
    main()
