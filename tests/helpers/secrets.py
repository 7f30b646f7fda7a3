"""The secrets sweep: a recognisable token and signature, and a search of every byte written."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ae_import.commands import app

TOKEN = "sk-live-RECOGNISABLE-9f8e7d6c5b4a"


SIGNATURE = "c0ffee5ign4ture0123456789abcdef"


URL = (
    "https://media.example-cdn.com/rec/{id}.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential=AKIAEXAMPLE%2F20261130&X-Amz-Signature={SIGNATURE}"
)


# A proxy's user and password, and the Basic credentials they make on the wire.
PROXY_PASSWORD = "s3cret-PROXY-pw"
PROXY_AUTH = f"alice:{PROXY_PASSWORD}"
PROXY_BASIC = base64.b64encode(PROXY_AUTH.encode()).decode()

NEEDLES = (
    TOKEN.encode(),
    SIGNATURE.encode(),
    b"X-Amz-Signature=",
    b"AKIAEXAMPLE",
    PROXY_PASSWORD.encode(),
    PROXY_BASIC.encode(),
)


def manifest(path: Path) -> Path:
    """Write a manifest of presigned rows, one invalid, one refused by the sandbox."""
    rows = ["type,title,source_system,external_id,media_url"]
    rows += [f"CALL,Call {i},crm,s{i},{URL.format(id=i)}" for i in range(6)]
    rows.append(f"CALL,,crm,s-bad,{URL.format(id='bad')}")
    rows.append(f"CALL,Refused,crm,ae-sandbox-409,{URL.format(id='409')}")
    path.write_text("\n".join(rows) + "\n")
    return path


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Collector:
    """Runs commands in-process with the token in the env; keeps every byte they print."""

    def __init__(self, cwd: Path) -> None:
        """Run in ``cwd``."""
        self.cwd = cwd
        self.outputs: list[str] = []
        self.runner = CliRunner()

    def __call__(self, *args: str, token: str = TOKEN) -> Any:
        """Run one command; keep its stdout and stderr."""
        env = {"AE_API_TOKEN": token, "AE_IMPORT_DEBUG": "1"}
        result = self.runner.invoke(app, list(args), env=env)
        self.outputs += [result.stdout, result.stderr]
        assert result.exit_code != 70, result.output
        return result


def leaks(collector: Collector, root: Path) -> list[str]:
    """Return where a needle was found: in an output, or in a file under ``root``."""
    found = []
    for index, text in enumerate(collector.outputs):
        data = text.encode("utf-8", "surrogateescape")
        found += [f"output {index}: {n!r}" for n in NEEDLES if n in data]
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "m.csv":
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in NEEDLES if n in data]
    return found
