"""Shared fixtures: paths, file writers, and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# With PYTHONDONTWRITEBYTECODE=1 (set on the CI machine) every xdist worker and every
# `python -m ae_import` a test starts compiles all of ae_import and the tests from source:
# collection took 7.4 s a worker, 3.3 s with a cache. So the bytecode is cached anyway, but
# out of the source tree (that is what the setting protects), under .pytest_cache/.
if sys.dont_write_bytecode:
    _CACHE = str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "pycache")
    sys.dont_write_bytecode = False
    sys.pycache_prefix = _CACHE
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = _CACHE

from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from ae_import.net import CA_VARIABLES, PROXY_VARIABLES
from tests.helpers import Sandboxes, Writer
from tests.helpers.proxies import MediaHost, ProxyPy
from tests.helpers.secrets import PROXY_AUTH

# Tests are never timed: a loaded CI machine must not fail a property test by its clock.
# Plain pytest (the developer's loop) tries 30 examples a property; scripts/check.py asks for
# the "ci" profile (--hypothesis-profile ci), 200 examples, so CI searches harder.
settings.register_profile(
    "ae-import", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", settings.get_profile("ae-import"), max_examples=200)
settings.load_profile("ae-import")


@pytest.fixture(autouse=True)
def _no_proxy_or_ca_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the machine's proxy and CA variables (a TLS-inspecting CI box sets them)."""
    for name in list(os.environ):
        if name.lower() in PROXY_VARIABLES or name in CA_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Return a helper that writes text or bytes to a file in tmp_path and returns its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(content)
        return path

    return _write


@pytest.fixture
def runner() -> CliRunner:
    """Return a Typer CLI runner."""
    return CliRunner()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` is two workers a core: tests wait on sockets and child processes.

    Measured on 2 cores: 4 workers took the suite 84 s to 74 s where 2 and 3 took 84 s
    and 83 s, for 10% more CPU (each worker collects the tests itself).
    """
    return 2 * (os.cpu_count() or 1)


@pytest.fixture(scope="session", autouse=True)
def _sandboxes_stopped() -> Iterator[None]:
    """At the end of the session, wait for the sandboxes still stopping in the background."""
    yield
    Sandboxes.wait_stopped()


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    """Yield a starter of sandboxes on 127.0.0.1; all are stopped afterwards."""
    starter = Sandboxes()
    try:
        yield starter
    finally:
        starter.stop_all()


@pytest.fixture
def sandbox(sandboxes: Sandboxes) -> Any:
    """Yield a default sandbox (token SANDBOX_TOKEN, no latency); use .base_url and .store."""
    return sandboxes.start()


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary working directory (the default ledger lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    """Return the session's throwaway certificate authority (a TLS-inspecting proxy's, say)."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the session CA's certificate to a PEM file; return its path."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return path


def _start_proxy(folder: Path, auth: str | None = None) -> Iterator[ProxyPy]:
    """Start proxy.py in ``folder``; stop it (and its workers) afterwards."""
    if sys.platform == "win32":
        pytest.skip("the proxy.py fixture stops its process group with os.killpg (POSIX only)")
    server = ProxyPy(folder, auth).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyPy]:
    """Run one proxy.py for the session (a worker's share of it)."""
    yield from _start_proxy(tmp_path_factory.mktemp("proxy"))


@pytest.fixture(scope="session")
def _auth_proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyPy]:
    """Run one proxy.py that asks for Basic auth (alice:s3cret-PROXY-pw)."""
    yield from _start_proxy(tmp_path_factory.mktemp("authproxy"), PROXY_AUTH)


@pytest.fixture
def proxy(_proxy_server: ProxyPy) -> ProxyPy:
    """Return the session's proxy with an empty request log."""
    return _proxy_server.reset()


@pytest.fixture
def auth_proxy(_auth_proxy_server: ProxyPy) -> ProxyPy:
    """Return the session's authenticating proxy with an empty request log."""
    return _auth_proxy_server.reset()


@pytest.fixture(scope="session")
def media(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaHost]:
    """Serve audio over https at media.test (via the proxy) or 127.0.0.1, with the session CA."""
    server = MediaHost(test_ca, tmp_path_factory.mktemp("media"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def auth_media(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Serve recordings over https behind Basic (/basic/) and bearer (/bearer/) auth."""
    from tests.helpers.mediaserver import AuthMediaHost

    server = AuthMediaHost(test_ca, tmp_path_factory.mktemp("auth-media"))
    try:
        yield server
    finally:
        server.stop()
