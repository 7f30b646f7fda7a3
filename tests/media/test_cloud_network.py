"""The cloud stores follow the command's network: its proxy (``--proxy``, NO_PROXY) and its trust.

Each store writes to a real server on loopback (moto's S3, gcp-storage-emulator, Azurite)
named as a ``*.test`` host, which only the tests' proxy resolves: a round trip that works
went through the proxy. A NO_PROXY host goes direct. An https endpoint whose certificate
comes from the tests' CA is trusted with ``--ca-bundle``, and refused without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme

from ae_import.errors import CloudError
from ae_import.media.cloud import CloudConfig, S3Config, store_for
from ae_import.net import Network, Proxies, trust_context
from tests.helpers.azurite import Azurite, azurite, azurite_env
from tests.helpers.gcsemulator import BUCKET as GCS_BUCKET
from tests.helpers.gcsemulator import GcsEmulator, gcs_emulator, gcs_env
from tests.helpers.proxies import MediaHost, ProxyPy
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env
from tests.helpers.stores import check_round_trip

__all__ = ["azurite", "azurite_env", "gcs_emulator", "gcs_env", "s3", "s3_env"]


def through(proxy: str | None, no_proxy: str = "", ca_bundle: Path | None = None) -> Network:
    """Return a command's network: ``--proxy`` (or none), NO_PROXY, and its trust."""
    env = {"NO_PROXY": no_proxy} if no_proxy else {}
    return Network(Proxies.resolve(proxy, env=env), trust_context(ca_bundle, env={}))


def named(endpoint: str, host: str) -> str:
    """Return ``endpoint`` (http://127.0.0.1:PORT...) with its host renamed to ``host``."""
    return endpoint.replace("127.0.0.1", host, 1)


def test_s3_staging_goes_through_the_proxy(
    s3_env: S3Server, proxy: ProxyPy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --proxy, S3 requests to a host only the proxy can resolve make a round trip.

    The host is `test` (no dot: moto takes a first label for a bucket); the proxy resolves it.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", named(s3_env.endpoint, "test"))
    store = store_for(f"s3://{BUCKET}/x.mp3", network=through(proxy.url))
    check_round_trip(store, f"s3://{BUCKET}")
    port = s3_env.endpoint.rsplit(":", 1)[1]
    assert any(f"test:{port}/" in line for line in proxy.requests())


def test_s3_staging_hands_the_proxy_its_credentials(
    s3_env: S3Server, auth_proxy: ProxyPy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that asks for a password gets the one in --proxy (its characters quoted)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", named(s3_env.endpoint, "test"))
    store = store_for(f"s3://{BUCKET}/x.mp3", network=through(auth_proxy.url_with_auth()))
    assert store.head(f"s3://{BUCKET}/calls/2024/call-1.mp3") is not None
    assert all("auth=True" in line for line in auth_proxy.requests())


def test_a_no_proxy_store_goes_direct(s3_env: S3Server, proxy: ProxyPy) -> None:
    """A store whose host NO_PROXY names is reached directly: the proxy sees nothing."""
    store = store_for(f"s3://{BUCKET}/x.mp3", network=through(proxy.url, no_proxy="127.0.0.1"))
    check_round_trip(store, f"s3://{BUCKET}")
    assert proxy.requests() == []


def test_gcs_staging_goes_through_the_proxy(
    gcs_env: GcsEmulator, proxy: ProxyPy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --proxy, GCS requests to a host only the proxy can resolve make a round trip."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", named(gcs_env.endpoint, "gcs.test"))
    store = store_for(f"gs://{GCS_BUCKET}/x.mp3", gcs_env.config(), network=through(proxy.url))
    check_round_trip(store, f"gs://{GCS_BUCKET}")
    assert any("gcs.test:" in line for line in proxy.requests())


def test_azure_staging_goes_through_the_proxy(
    azurite_env: Azurite, proxy: ProxyPy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --proxy, Azure requests to a host only the proxy can resolve make a round trip."""
    # Azurite reads the account from a host that is a name, as Azure's own hosts give it.
    host = named(azurite_env.endpoint, "devstoreaccount1.blob.test").rsplit("/", 1)[0]
    connection = azurite_env.connection_string.replace(azurite_env.endpoint, host)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    store = store_for("az://staged-recordings/x.mp3", network=through(proxy.url))
    check_round_trip(store, "az://staged-recordings")
    assert any("devstoreaccount1.blob.test:" in line for line in proxy.requests())


def test_an_https_store_is_trusted_with_the_ca_bundle_and_refused_without(
    s3_env: S3Server,
    proxy: ProxyPy,
    test_ca: trustme.CA,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a proxy, an endpoint signed by the tests' CA verifies with --ca-bundle only."""
    host = MediaHost(test_ca, tmp_path)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"https://media.test:{host.port}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        ref = f"s3://{BUCKET}/calls/a.mp3"
        trusted = store_for(ref, network=through(proxy.url, ca_bundle=ca_file))
        found = trusted.head(ref)  # the media host answers HEAD 200 with 64 bytes
        assert found is not None and found.size == 64
        refused = store_for(ref, network=through(proxy.url))
        with pytest.raises(CloudError, match="pass its CA with --ca-bundle") as caught:
            refused.head(ref)
        assert not caught.value.transient  # no retry mends it
    finally:
        host.stop()


def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable proxy makes a retryable CloudError that never shows its password."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://test:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = store_for(f"s3://{BUCKET}/x.mp3", network=through("http://alice:s3cret-PW@127.0.0.1:9"))
    with pytest.raises(CloudError) as caught:
        store.head(f"s3://{BUCKET}/x.mp3")
    assert caught.value.transient
    assert "s3cret-PW" not in str(caught.value) and "alice" not in str(caught.value)


def test_without_a_network_the_sdk_keeps_its_own_settings(s3_env: S3Server) -> None:
    """The Python API's store (no network) is made as before: botocore reads its variables."""
    store: Any = store_for(f"s3://{BUCKET}/x.mp3", CloudConfig(s3=S3Config()))
    assert store.client.meta.config.proxies is None  # None: botocore's own reading
    check_round_trip(store, f"s3://{BUCKET}")


DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens: a request through it fails


@pytest.fixture
def dead_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the proxy variables to a proxy that is not there (an SDK reading them fails)."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)


def test_no_proxy_keeps_s3_off_the_proxy_variables(
    s3_env: S3Server, dead_proxy_variables: None
) -> None:
    """With --no-proxy, the S3 store goes direct whatever the variables say."""
    direct = Network(Proxies.resolve(no_proxy=True), trust_context(env={}))
    check_round_trip(store_for(f"s3://{BUCKET}/x.mp3", network=direct), f"s3://{BUCKET}")


def test_no_proxy_keeps_gcs_off_the_proxy_variables(
    gcs_env: GcsEmulator, dead_proxy_variables: None
) -> None:
    """With --no-proxy, the GCS store goes direct whatever the variables say."""
    direct = Network(Proxies.resolve(no_proxy=True), trust_context(env={}))
    store = store_for(f"gs://{GCS_BUCKET}/x.mp3", gcs_env.config(), network=direct)
    check_round_trip(store, f"gs://{GCS_BUCKET}")


def test_no_proxy_keeps_azure_off_the_proxy_variables(
    azurite_env: Azurite, dead_proxy_variables: None
) -> None:
    """With --no-proxy, the Azure store goes direct whatever the variables say."""
    direct = Network(Proxies.resolve(no_proxy=True), trust_context(env={}))
    check_round_trip(
        store_for("az://staged-recordings/x.mp3", network=direct), "az://staged-recordings"
    )


@pytest.mark.parametrize(
    ("region", "no_proxy", "direct"),
    [
        ("us-east-1", "s3.amazonaws.com", True),  # us-east-1's host is s3.amazonaws.com
        ("eu-west-1", ".amazonaws.com", True),
        ("cn-north-1", ".amazonaws.com.cn", True),
        ("eu-west-1", "s3.us-east-1.amazonaws.com", False),
    ],
)
def test_s3_takes_the_proxy_decided_for_the_host_botocore_resolves(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, region: str, no_proxy: str, direct: bool
) -> None:
    """The S3 client's proxy is the one NO_PROXY leaves for the endpoint botocore resolved."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    store: Any = store_for(f"s3://{BUCKET}/x.mp3", network=through(DEAD_PROXY, no_proxy))
    proxies = store.client.meta.config.proxies
    assert proxies == ({} if direct else {"http": DEAD_PROXY, "https": DEAD_PROXY})


def test_a_missing_aws_ca_file_is_named(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """An AWS_CA_BUNDLE naming no file stops the store with one line naming it."""
    monkeypatch.setenv("AWS_CA_BUNDLE", "/nowhere/corp.pem")
    with pytest.raises(CloudError, match=r"/nowhere/corp\.pem"):
        store_for(f"s3://{BUCKET}/x.mp3", network=through(None))


def test_a_token_session_decides_the_proxy_for_each_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-auth's session: the metadata server NO_PROXY names goes direct, oauth2 by proxy."""
    import requests

    from ae_import.media.cloud.wire import route_session

    asked: list[tuple[str, Any]] = []

    def record(self: Any, method: str, url: str, **kwargs: Any) -> None:
        asked.append((url, kwargs.get("proxies")))

    monkeypatch.setattr(requests.Session, "request", record)
    session = route_session(
        through(DEAD_PROXY, no_proxy="metadata.google.internal"), requests.Session()
    )
    session.request("GET", "http://metadata.google.internal/computeMetadata/v1/token")
    session.request("POST", "https://oauth2.googleapis.com/token")
    assert asked == [
        ("http://metadata.google.internal/computeMetadata/v1/token", {}),
        ("https://oauth2.googleapis.com/token", {"http": DEAD_PROXY, "https": DEAD_PROXY}),
    ]
    assert session.trust_env is False


def test_the_tls_hint_says_what_would_mend_it() -> None:
    """An unknown issuer asks for --ca-bundle; a name mismatch is named; a server's text is not."""
    import ssl

    from ae_import.media.cloud import tls_hint

    def failed(code: int, message: str) -> Exception:
        error = ssl.SSLCertVerificationError(1, message)
        error.verify_code, error.verify_message = code, message
        try:
            raise OSError("SSL validation failed") from error
        except OSError as outer:
            return outer

    assert "--ca-bundle" in (tls_hint(failed(20, "unable to get local issuer certificate")) or "")
    mismatch = tls_hint(failed(62, "Hostname mismatch, certificate is not valid for 'x'"))
    assert (
        mismatch is not None and "Hostname mismatch" in mismatch and "--ca-bundle" not in mismatch
    )
    echoed = RuntimeError("502 from the gateway: upstream said CERTIFICATE_VERIFY_FAILED")
    assert tls_hint(echoed) is None


def test_no_writable_folder_for_the_ca_file_stops_with_one_line(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, ca_file: Path
) -> None:
    """With --ca-bundle given and nowhere to write the SDKs' file, a CloudError says so."""
    from ae_import.net import trust

    monkeypatch.setattr(trust, "bundle_path", lambda *args, **kwargs: None)
    with pytest.raises(CloudError, match="TMPDIR"):
        store_for(f"s3://{BUCKET}/x.mp3", network=through(None, ca_bundle=ca_file))
