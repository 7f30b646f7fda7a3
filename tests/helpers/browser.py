"""A page in a real headless Chromium (Debian's ``chromium``): its DOM, console, requests.

No driver library: ``chromium --headless --dump-dom`` renders the page; its console
messages come from ``--enable-logging=stderr``, and the requests it made from a net log
(``--log-net-log``), where the page's own are those keyed to its ``file://`` origin. Every
host name resolves to nothing (``--host-resolver-rules``) and the browser's own background
traffic is off, so nothing leaves the machine whatever a page asks for.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Rendered", "chromium", "render"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
)
_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)$", re.MULTILINE)


def chromium() -> str | None:
    """Return the path of a Chromium on PATH, or None."""
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Rendered:
    """What a page became in the browser."""

    dom: str
    console: list[str]  # every console message (errors, CSP violations, logs)
    requests: list[str]  # the URLs the page asked for


def _page_requests(net_log: Path) -> list[str]:
    """Return the URLs of the requests keyed to a file:// page in a Chromium net log."""
    log = json.loads(net_log.read_text(encoding="utf-8", errors="replace") or "{}")
    found = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        key = str(params.get("network_isolation_key", ""))
        if "url" in params and key.startswith("file://"):
            found.append(str(params["url"]))
    return sorted(set(found))


def render(
    page: Path, work: Path, screenshot: Path | None = None, timeout: float = 120
) -> Rendered:
    """Render ``page`` headless: return its DOM, console and requests; take a screenshot too."""
    browser = chromium()
    assert browser is not None, "no chromium on PATH"
    work.mkdir(parents=True, exist_ok=True)
    net_log = work / "net-log.json"
    common = [browser, *_FLAGS, f"--user-data-dir={work / 'profile'}"]
    done = subprocess.run(
        [
            *common,
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={net_log}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    if screenshot is not None:
        subprocess.run(
            [
                *common,
                "--window-size=900,2600",
                f"--screenshot={screenshot}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=timeout,
            check=True,
        )
    return Rendered(done.stdout, _CONSOLE.findall(done.stderr), _page_requests(net_log))
