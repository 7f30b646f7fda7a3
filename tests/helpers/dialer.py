"""A dialer's export for the staging tests: recordings in calls/, an index CSV naming them.

``export`` writes ``files`` recordings (every fifth a .wav) and adds ``authed`` rows
whose URLs are on the Basic-auth host (as Twilio serves recordings); it returns the
index and each row's bytes by external_id, to compare with what the server fetched.
``count_puts`` records each upload a store makes, to show a re-run makes none.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SANDBOX_TOKEN
from tests.helpers.cli import HEADER
from tests.helpers.mediaserver import PASSWORD, USER, AuthMediaHost

# media.auth for the Basic-auth host, and the environment that holds its secrets.
AUTH_YAML = (
    "media:\n  auth:\n    - host: localhost\n"
    "      basic: {user_env: TW_SID, password_env: TW_TOKEN}\n"
)
ENV = {"AE_API_TOKEN": SANDBOX_TOKEN, "TW_SID": USER, "TW_TOKEN": PASSWORD}


def recording(number: int) -> bytes:
    """Return distinct bytes for recording ``number`` (an MP3-ish header, then noise)."""
    seed = hashlib.sha256(str(number).encode()).digest()
    return b"ID3\x04" + seed * (64 + number * 8)


def export(
    folder: Path, auth_media: AuthMediaHost, files: int = 50, authed: int = 5
) -> tuple[Path, dict[str, bytes]]:
    """Write a dialer's export (calls/*.mp3, *.wav) and its index CSV; return it and the bytes."""
    (folder / "calls").mkdir(parents=True)
    sources: dict[str, bytes] = {}
    lines = [HEADER.strip()]
    for number in range(files):
        name = f"calls/rec-{number:02d}.{'wav' if number % 5 == 0 else 'mp3'}"
        (folder / name).write_bytes(recording(number))
        sources[f"dial:{number}"] = recording(number)
        lines.append(f"CALL,Call {number},dialer,dial:{number},{name}")
    for number in range(authed):
        data = recording(100 + number)
        url = auth_media.add(f"/basic/2010-04-01/Recordings/RE{number:04d}", data, "audio/mpeg")
        sources[f"twilio:{number}"] = data
        lines.append(f"CALL,Twilio {number},twilio,twilio:{number},{url}")
    index = folder / "index.csv"
    index.write_text("\n".join(lines) + "\n")
    return index, sources


def count_puts(monkeypatch: pytest.MonkeyPatch, store: type[Any]) -> list[str]:
    """Record the reference of every ``put`` of ``store`` (a store class); return the list."""
    puts: list[str] = []
    put = store.put

    def counting(self: Any, ref: str, *args: Any) -> None:
        puts.append(ref)
        put(self, ref, *args)

    monkeypatch.setattr(store, "put", counting)
    return puts


def run_args(index: Path, config: Path, base_url: str, stage_to: str, ca_file: Path) -> list[str]:
    """Return ``run`` staging ``index`` into ``stage_to``, sent to the sandbox at ``base_url``."""
    args = ["run", str(index), "--config", str(config), "--base-url", base_url]
    args += ["--stage-to", stage_to, "--media-allow-private"]
    return [*args, "--ca-bundle", str(ca_file), "--json"]
