#!/usr/bin/env python3
"""Peak memory of staging one large file into gs:// and az://, beside each library's defaults.

Usage: python bench/stage_stores.py [--gs-mb 512] [--az-mb 2048] [--out FILE]

Each upload runs in a child process of its own (``os.wait4`` gives its peak RSS): our
store's ``put`` (``GcsStore``: 8 MiB resumable chunks; ``AzureStore``: 8 MiB blocks, 4 in
flight) against the same file uploaded with the library's own defaults
(``Blob.upload_from_filename``: 100 MiB chunks; ``BlobClient.upload_blob``: 4 MiB blocks
after a 64 MiB single put, one thread). The stores are the emulators the tests use,
each in its own process on 127.0.0.1: gcp-storage-emulator (in memory) and Azurite
(tests/node, in memory, telemetry off). The GCS file is smaller by default:
gcp-storage-emulator rewrites the whole object on every chunk it receives, so its time
grows with the square of the size; the uploader's memory does not depend on it.
Prints a markdown section (or writes it to ``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from common import run_child  # noqa: E402  (bench/, this script's folder)

MIB = 1024 * 1024
BUCKET = "bench-staged"
AZURITE = ROOT / "tests" / "node" / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
ACCOUNT_KEY = (  # Azurite's published development key, not a secret
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

OURS = """
import os, sys
from ae_import.media.cloud import store_for
path, digest, scheme = sys.argv[1:4]
ref = f"{scheme}://{os.environ['BENCH_BUCKET']}/ours/{digest}.mp4"
with open(path, "rb") as body:
    store_for(ref).put(ref, body, os.path.getsize(path), "video/mp4", digest)
"""
DEFAULT_GS = """
import os, sys
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
client = storage.Client(project="-", credentials=AnonymousCredentials(),
                        client_options={"api_endpoint": os.environ["STORAGE_EMULATOR_HOST"]})
blob = client.bucket(os.environ["BENCH_BUCKET"]).blob(f"default/{sys.argv[2]}.mp4")
blob.upload_from_filename(sys.argv[1], content_type="video/mp4")
"""
DEFAULT_AZ = """
import os, sys
from azure.storage.blob import BlobClient, ContentSettings
blob = BlobClient.from_connection_string(
    os.environ["AZURE_STORAGE_CONNECTION_STRING"], os.environ["BENCH_BUCKET"],
    f"default/{sys.argv[2]}.mp4")
with open(sys.argv[1], "rb") as body:
    blob.upload_blob(body, overwrite=True, content_settings=ContentSettings("video/mp4"))
"""
IMPORT_ONLY = """
import sys
from ae_import.media.cloud import store_for
store_for(sys.argv[1])
"""


def free_port() -> int:
    """Return a port nobody listens on now (the emulator binds it next)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_file(folder: Path, size_mb: int) -> tuple[Path, str]:
    """Write ``size_mb`` MiB of random-looking bytes; return the path and its sha256."""
    path = folder / f"meeting-{size_mb}.mp4"
    block = random.Random(size_mb).randbytes(MIB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for index in range(size_mb):
            chunk = index.to_bytes(8, "big") + block[8:]
            out.write(chunk)
            digest.update(chunk)
    return path, digest.hexdigest()


def child(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; return its wall seconds and peak RSS in MB."""
    run = run_child([sys.executable, "-c", code, *args], env, cwd=ROOT)
    if run.code != 0:
        raise SystemExit(f"the upload failed: {code.strip().splitlines()[-1]}")
    return run.seconds, run.rss_mb


def start_gcs(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start gcp-storage-emulator in memory with the bench bucket; return it and its URL."""
    port = free_port()
    log = (workdir / "gcs.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
         "--port", str(port), "--in-memory", "--default-bucket", BUCKET, "-q"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit("gcp-storage-emulator did not start")


def start_azurite(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start Azurite's blob service in memory; return it and its connection string."""
    if not AZURITE.is_file():
        raise SystemExit("Azurite is not installed: npm ci --prefix tests/node")
    log_path = workdir / "azurite.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["node", str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", "0",
             "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"],
            stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
        )  # fmt: skip
    pattern = re.compile(r"listens on (http://127\.0\.0\.1:\d+)")
    for _ in range(600):
        found = pattern.search(log_path.read_text(errors="replace"))
        if found:
            endpoint = f"{found.group(1)}/devstoreaccount1"
            return proc, (
                "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint};"
            )
        time.sleep(0.05)
    raise SystemExit("Azurite did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop an emulator this script started."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def row(name: str, size_mb: int, seconds: float, rss: float) -> str:
    """Return one table row: what uploaded, the file, peak RSS, time and MB/s."""
    return (
        f"| {name} | {size_mb:,} MiB | {rss:.1f} MB | {seconds:.1f} s | {size_mb / seconds:.0f} |"
    )


def floor_row(name: str, rss: float) -> str:
    """Return the row of a process that only imports the library and makes the store."""
    return f"| {name} | – | {rss:.1f} MB | – | – |"


def main() -> None:
    """Upload one large file to each emulator, ours and the library's defaults; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gs-mb", type=int, default=512)
    parser.add_argument("--az-mb", type=int, default=2048)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "GOOGLE_"))}
        base["BENCH_BUCKET"] = BUCKET
        if options.gs_mb:
            path, digest = make_file(work, options.gs_mb)
            proc, url = start_gcs(work)
            try:
                env = {**base, "STORAGE_EMULATOR_HOST": url, "NO_GCE_CHECK": "True"}
                _, floor = child(IMPORT_ONLY, [f"gs://{BUCKET}/a.mp4"], env)
                rows.append(floor_row("gs://, the store made, nothing sent", floor))
                rows.append(row("gs://, our store (8 MiB chunks)", options.gs_mb,
                                *child(OURS, [str(path), digest, "gs"], env)))  # fmt: skip
                rows.append(row("gs://, google-cloud-storage defaults", options.gs_mb,
                                *child(DEFAULT_GS, [str(path), digest], env)))  # fmt: skip
            finally:
                stop(proc)
            path.unlink()
        if options.az_mb:
            path, digest = make_file(work, options.az_mb)
            proc, connection = start_azurite(work)
            try:
                env = {**base, "AZURE_STORAGE_CONNECTION_STRING": connection}
                subprocess.run(
                    [sys.executable, "-c",
                     "import os; from azure.storage.blob import BlobServiceClient as S; "
                     "S.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])"
                     ".create_container(os.environ['BENCH_BUCKET'])"],
                    env=env, check=True,
                )  # fmt: skip
                _, floor = child(IMPORT_ONLY, [f"az://{BUCKET}/a.mp4"], env)
                rows.append(floor_row("az://, the store made, nothing sent", floor))
                rows.append(row("az://, our store (8 MiB blocks, 4 threads)", options.az_mb,
                                *child(OURS, [str(path), digest, "az"], env)))  # fmt: skip
                rows.append(row("az://, azure-storage-blob defaults", options.az_mb,
                                *child(DEFAULT_AZ, [str(path), digest], env)))  # fmt: skip
            finally:
                stop(proc)
    lines = [
        "## Staging one large file into `gs://` and `az://`: peak memory",
        "",
        "Target: peak RSS under 200 MB while a 2 GB video is staged. Reference: the same file"
        " uploaded by the library with its own defaults, and the process that only imports"
        " and makes the store. Each upload is one child process (`bench/stage_stores.py`),"
        " into the emulators on loopback; MB/s is the emulator's pace more than ours.",
        "",
        "| upload | file | peak RSS | time | MB/s |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    text = "\n".join(lines)
    if options.out:
        options.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
