"""Behind a corporate proxy that re-signs TLS: run, validate --check-media and doctor all work.

A real proxy (proxy.py) on loopback; the API (the sandbox, over https) and the media
host live at ``api.test`` and ``media.test``, names only the proxy resolves, so every
answer proves the proxy carried it. Their certificates come from one CA (the proxy's, in
real life), given once, in the config, and it serves all three commands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from typer.testing import CliRunner

from ae_import.sandbox import SandboxServer, SandboxSettings
from tests.helpers import SANDBOX_TOKEN
from tests.helpers.cli import HEADER, invoke, line
from tests.helpers.proxies import MediaHost, ProxyPy, issue


@pytest.fixture(scope="module")
def api(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """Serve the sandbox over https with a certificate for api.test (and 127.0.0.1)."""
    certs = issue(test_ca, tmp_path_factory.mktemp("api"), "api.test", "127.0.0.1")
    server = SandboxServer(SandboxSettings(token=SANDBOX_TOKEN), tls=certs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def setup(
    cwd: Path, ca_file: Path, media: MediaHost, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Write a manifest of 3 rows with media at media.test, and a config naming the CA once."""
    manifest = cwd / "m.csv"
    manifest.write_text(HEADER + "".join(line(f"p{i}", media.url(f"{i}.mp3")) for i in range(3)))
    config = cwd / "ae.yaml"
    config.write_text(f"api:\n  ca_bundle: {ca_file}\ncolumns: {{}}\n")
    return manifest, config


def api_url(api: SandboxServer, host: str = "api.test") -> str:
    """Return the sandbox's base URL with ``host`` for its host."""
    return api.base_url.replace("127.0.0.1", host)


def port_of(api: SandboxServer) -> int:
    """Return the sandbox's port."""
    return int(api.base_url.rsplit(":", 1)[1].split("/")[0])


def test_run_validate_and_doctor_all_go_through_the_proxy(
    runner: CliRunner,
    proxy: ProxyPy,
    api: SandboxServer,
    media: MediaHost,
    setup: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY set, NO_PROXY unset: every request of the three commands is a CONNECT."""
    manifest, config = setup
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    base = ["--config", str(config), "--check-media"]
    checked = invoke(runner, ["validate", str(manifest), *base, "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["valid"] == 3
    assert proxy.requests() == [f"CONNECT media.test:{media.port} auth=False"] * 3
    proxy.reset()
    ran = invoke(runner, ["run", str(manifest), *base, "--base-url", api_url(api), "--json", "-q"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["created"] == 3
    seen = set(proxy.requests())
    assert seen == {f"CONNECT api.test:{port_of(api)} auth=False"}  # media checks are cached
    assert sorted(api.store.external_ids()) == ["p0", "p1", "p2"]
    proxy.reset()
    checks = doctor_checks(runner, config, api_url(api))
    assert {name: c["status"] for name, c in checks.items() if c["status"] != "ok"} == {
        "DNS": "skip"
    }
    assert checks["proxy"]["detail"] == (
        f"CONNECT api.test:{port_of(api)} through {proxy.url} (from HTTPS_PROXY): "
        "200 Connection established"
    )
    assert checks["DNS"]["detail"] == "api.test is resolved by the proxy"
    assert checks["TLS"]["detail"].startswith("certificate trusted (system store + certifi + ")
    assert proxy.requests() == [f"CONNECT api.test:{port_of(api)} auth=False"] * 2


def doctor_checks(runner: CliRunner, config: Path, base_url: str, *more: str) -> Any:
    """Run doctor --json; return its checks by name."""
    result = invoke(
        runner, ["doctor", "--config", str(config), "--base-url", base_url, "--json", *more]
    )
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_no_proxy_hosts_go_direct(
    runner: CliRunner,
    proxy: ProxyPy,
    api: SandboxServer,
    media: MediaHost,
    setup: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY=127.0.0.1: the API at 127.0.0.1 is reached directly; media.test still proxied."""
    manifest, config = setup
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    args = ["run", str(manifest), "--config", str(config), "--check-media", "-q"]
    ran = invoke(runner, [*args, "--base-url", api_url(api, "127.0.0.1"), "--ledger", "n.sqlite"])
    assert ran.exit_code == 0, ran.output
    assert proxy.requests() == [f"CONNECT media.test:{media.port} auth=False"] * 3
    checks = doctor_checks(runner, config, api_url(api, "127.0.0.1"))
    assert checks["proxy"]["detail"].endswith("not for localhost,127.0.0.1")
    assert checks["DNS"]["status"] == "ok"


def test_the_option_overrides_and_no_proxy_turns_it_off(
    runner: CliRunner,
    proxy: ProxyPy,
    api: SandboxServer,
    setup: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--proxy beats a dead HTTPS_PROXY; --no-proxy reaches api.test not at all (no DNS)."""
    manifest, config = setup
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    args = ["run", str(manifest), "--config", str(config), "--base-url", api_url(api), "-q"]
    ran = invoke(runner, [*args, "--proxy", proxy.url.removeprefix("http://")])
    assert ran.exit_code == 0, ran.output
    assert set(proxy.requests()) == {f"CONNECT api.test:{port_of(api)} auth=False"}
    direct = invoke(runner, [*args, "--no-proxy", "--ledger", "d.sqlite", "--max-attempts", "1"])
    assert direct.exit_code == 1
    assert proxy.reset().requests() == []
    checks = doctor_checks(runner, config, api_url(api), "--no-proxy")
    assert checks["proxy"]["detail"] == "none: direct (--no-proxy)"
    assert checks["DNS"]["status"] == "fail"


def test_a_proxy_that_wants_credentials_stops_the_run_and_doctor_says_so(
    runner: CliRunner,
    auth_proxy: ProxyPy,
    api: SandboxServer,
    setup: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No credentials: run stops at once (exit 1) naming the proxy; doctor names the 407 fix."""
    manifest, config = setup
    monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url)
    args = ["run", str(manifest), "--config", str(config), "--base-url", api_url(api), "-q"]
    before = api.store.count()
    ran = invoke(runner, args)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(
        f"ae-import: stopped: the proxy {auth_proxy.url} (from HTTPS_PROXY) refused the tunnel "
        "to api.test (407 Proxy Authentication Required); check the user and password"
    )
    assert api.store.count() == before
    checks = doctor_checks(runner, config, api_url(api))
    assert checks["proxy"]["status"] == "fail"
    assert "407" in checks["proxy"]["detail"]
    assert checks["proxy"]["fix"].startswith("the proxy wants a user and password")
    monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url_with_auth())
    again = invoke(runner, [*args, "--ledger", "auth.sqlite"])
    assert again.exit_code == 0, again.output
