"""The command line in-process: a manifest's header and rows, and ``invoke`` with a token."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from ae_import.commands import app
from tests.helpers import SANDBOX_TOKEN

HEADER = "type,title,source_system,external_id,media_url\n"


def line(external_id: str, url: str = "https://cdn.example.com/a.mp3?X-Amz-Signature=SIG") -> str:
    """Return one CSV row for ``external_id``."""
    return f"CALL,Call {external_id},crm,{external_id},{url}\n"


def invoke(runner: CliRunner, args: list[str], token: str | None = SANDBOX_TOKEN) -> Any:
    """Run the CLI with AE_API_TOKEN set (or not)."""
    env = {"AE_API_TOKEN": token} if token else {"AE_API_TOKEN": ""}
    return runner.invoke(app, args, env=env)


SIGNED = "https://cdn.example.com/r.mp3?X-Amz-Signature=SIG"


ROWS = (
    HEADER
    + line("ok-1")
    + "CALL,,crm,no-title,https://cdn.example.com/t.mp3\n"
    + line("ae-sandbox-409", SIGNED)
    + 'MEETING,=HYPERLINK("http://evil"),crm,formula,https://10.0.0.1/x.mp3\n'
    + "CALL,@channel sync,crm,,https://cdn.example.com/n.mp3\n"
    + line("ok-2")
)
