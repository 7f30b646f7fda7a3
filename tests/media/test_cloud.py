"""Object-store references: parsing, content types, the cloud config, and signing.

S3 is signed against a real S3 API on loopback (moto's server mode, tests/s3server.py)
holding objects stored as application/octet-stream. GCS and Azure have no emulator
here: their URLs are made offline (signing is a local computation with a key) and
checked parameter by parameter; the GCS signature is verified with the public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from ae_import.config import load_config
from ae_import.errors import CloudError, ConfigError
from ae_import.media.cloud import (
    EXTRA_HINT,
    MAX_VALIDITY_S,
    CloudConfig,
    GcsConfig,
    Reference,
    S3Config,
    Signer,
    check_reference,
    content_type_for,
    parse_reference,
    validity,
)
from tests.helpers.azurite import no_azure_login
from tests.helpers.gcsemulator import write_service_account_key
from tests.helpers.s3server import AUDIO, BUCKET, FAKE_SECRET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

pytest.importorskip("botocore")


def query(url: str) -> dict[str, str]:
    """Return a URL's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://recordings/calls/a.mp3", Reference("s3", "recordings", "calls/a.mp3")),
        ("  S3://recordings/a b?.wav ", Reference("s3", "recordings", "a b?.wav")),
        ("gs://my_bucket.example/x/y.ogg", Reference("gs", "my_bucket.example", "x/y.ogg")),
        ("az://calls-2024/rec/z.webm", Reference("az", "calls-2024", "rec/z.webm")),
        ("https://cdn.example.com/a.mp3", None),
        ("ftp://host/a.mp3", None),
        ("recordings/a.mp3", None),
    ],
)
def test_parse_reference(text: str, expected: Reference | None) -> None:
    """References parse into scheme, bucket and key (kept verbatim); other URLs are None."""
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s3://", "has no bucket; write it as s3://bucket/key"),
        ("s3://recordings", "names no object; write it as s3://recordings/path/to/file.mp3"),
        ("gs://b/", "'b' is not a valid gs bucket name"),
        ("az://Calls/a.mp3", "'Calls' is not a valid az container name"),
        ("s3://recordings/calls/", "ends in '/', a folder, not an object; name the file"),
        ("s3://recordings/a\nb.mp3", "holds a tab, line break or other control character"),
        ("s3://recordings/" + "k" * 1025, "the object name is over 1024 bytes"),
    ],
)
def test_malformed_reference_says_what_to_fix(text: str, message: str) -> None:
    """A malformed reference is a ValueError, and check_reference a cloud_reference problem."""
    with pytest.raises(ValueError, match="^" + message.replace("?", r"\?")):
        parse_reference(text)
    reference, problems = check_reference(text)
    assert reference is None
    assert problems[0][0] == "cloud_reference"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a/call.mp3", "audio/mpeg"),
        ("a/call 2.M4A", "audio/mp4"),
        ("x.wav", "audio/wav"),
        ("x.opus", "audio/ogg"),
        ("x.flac", "audio/flac"),
        ("x.webm", "video/webm"),
        ("x.mov", "video/quicktime"),
        ("x.mkv", "video/x-matroska"),
        ("x.mp4", "video/mp4"),
        ("notes.bin", None),
        ("noextension", None),
        ("dir.mp3/file", None),
        (".mp3", None),
    ],
)
def test_content_type_for(key: str, expected: str | None) -> None:
    """The type comes from the last name's extension, any case; unknown or none is None."""
    assert content_type_for(key) == expected


def test_unknown_extension_is_a_problem_unless_the_type_is_named() -> None:
    """An extension without a type is cloud_media_type; a type from the mapping clears it."""
    reference, problems = check_reference("s3://recordings/a/notes.bin")
    assert reference == Reference("s3", "recordings", "a/notes.bin")
    assert [code for code, _ in problems] == ["cloud_media_type"]
    assert check_reference("s3://recordings/a/notes.bin", content_type="audio/mpeg")[1] == []


def test_missing_library_is_a_row_problem_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the cloud extra a reference is one problem naming pip install 'ae-import[cloud]'."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if "google" in name else real(name)
    )
    _, problems = check_reference("gs://bucket/a.mp3")
    assert problems == [
        ("cloud_extra", f"gs:// references need the cloud extra: {EXTRA_HINT}"),
    ]
    with pytest.raises(CloudError, match=r"pip install 'ae-import\[cloud\]'$"):
        Signer().sign(Reference("gs", "bucket", "a.mp3"), 60)


def test_validity_is_the_timeout_plus_a_margin_capped_at_seven_days() -> None:
    """validity(): timeout + 300 s, rounded up, never past 7 days (604,800 s)."""
    assert validity(600) == 900
    assert validity(0.5) == 301
    assert validity(10**9) == MAX_VALIDITY_S == 604_800


def test_no_cloud_library_is_imported_by_the_cli_or_the_config() -> None:
    """ae-import --help, the config and the cloud module load no cloud library."""
    code = (
        "import sys, ae_import.commands, ae_import.config, ae_import.media;"
        "from typer.testing import CliRunner;"
        "CliRunner().invoke(ae_import.commands.app, ['--help']);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('botocore','google','azure')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cloud_config_section(write: Any) -> None:
    """cloud.s3/gs/az settings are read; an unknown key is refused with a suggestion."""
    path = write(
        "c.yaml",
        "cloud:\n  s3: {profile: archive, region: eu-west-1, endpoint_url: 'http://127.0.0.1:9000'}"
        "\n  az: {account: callsarchive}\n",
    )
    cloud = load_config(path).cloud
    assert cloud.s3 == S3Config("archive", "eu-west-1", "http://127.0.0.1:9000")
    assert cloud.az.account == "callsarchive"
    assert cloud.schemes() == ("s3", "az")
    bad = write("bad.yaml", "cloud:\n  s3: {regoin: eu-west-1}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'regoin' under cloud.s3 \(did you mean"):
        load_config(bad)
    with pytest.raises(ConfigError, match="unknown key 'gcs' under cloud"):
        load_config(write("bad2.yaml", "cloud:\n  gcs: {}\n"))


def test_signed_s3_url_serves_octet_stream_objects_as_audio(s3_env: S3Server) -> None:
    """A URL signed from AWS_ENDPOINT_URL fetches an octet-stream object as audio/mpeg."""
    url = Signer().sign(Reference("s3", BUCKET, "calls/2024/call-1.mp3"), validity(600))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3_env.endpoint
    assert parts.path == f"/{BUCKET}/calls/2024/call-1.mp3"  # path-style at an address
    params = query(url)
    assert params["response-content-type"] == "audio/mpeg"
    assert params["X-Amz-Expires"] == "900"
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/mpeg"
    assert answer.content == AUDIO
    stored = s3_env.client.head_object(Bucket=BUCKET, Key="calls/2024/call-1.mp3")
    assert stored["ContentType"] == "application/octet-stream"


def test_signed_s3_url_for_a_key_with_a_space_and_upper_case_extension(
    s3_env: S3Server,
) -> None:
    """A key with a space is encoded in the URL; .M4A is served as audio/mp4."""
    url = Signer().sign(Reference("s3", BUCKET, "calls/2024/call 2.M4A"), 900)
    assert "/calls/2024/call%202.M4A?" in url
    answer = httpx.get(url, headers={"Range": "bytes=0-0"})
    assert answer.status_code == 206
    assert answer.headers["content-type"] == "audio/mp4"


def test_a_type_named_by_the_mapping_wins(s3_env: S3Server) -> None:
    """An object without a known extension is served with the type the caller names."""
    url = Signer().sign(Reference("s3", BUCKET, "calls/2024/notes.bin"), 60, "video/mp4")
    assert httpx.get(url).headers["content-type"] == "video/mp4"
    with pytest.raises(CloudError, match="the file extension names no audio or video type"):
        Signer().sign(Reference("s3", BUCKET, "calls/2024/notes.bin"), 60)


def test_signing_later_gives_a_new_url(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed 6 hours later: a new date and signature; at the same instant, the same URL."""
    import botocore.auth

    now = [dt.datetime(2026, 3, 2, 9, 0, 0)]
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: now[0])
    signer = Signer()
    reference = Reference("s3", BUCKET, "calls/2024/call-1.mp3")
    first = signer.sign(reference, validity(600))
    assert signer.sign(reference, validity(600)) == first
    now[0] += dt.timedelta(hours=6)
    later = signer.sign(reference, validity(600))
    assert query(first)["X-Amz-Date"] == "20260302T090000Z"
    assert query(later)["X-Amz-Date"] == "20260302T150000Z"
    assert query(first)["X-Amz-Signature"] != query(later)["X-Amz-Signature"]
    assert httpx.get(later).status_code == 200


def test_sign_body_replaces_only_the_reference(s3_env: S3Server) -> None:
    """sign_body signs media_url and keeps every other field; a plain URL body is untouched."""
    body = {"external_id": "x:1", "title": "Café", "media_url": f"s3://{BUCKET}/calls/a.mp3"}
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    signed = json.loads(Signer().sign_body(raw, 600))
    assert signed["media_url"].startswith(f"{s3_env.endpoint}/{BUCKET}/calls/a.mp3?")
    assert query(signed["media_url"])["X-Amz-Expires"] == "900"
    assert {k: v for k, v in signed.items() if k != "media_url"} == {
        "external_id": "x:1",
        "title": "Café",
    }
    plain = b'{"media_url":"https://cdn.example.com/a.mp3"}'
    assert Signer().sign_body(plain, 600) is plain


def test_no_credentials_is_one_line_without_secrets(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials: CloudError says how to get some; half-set credentials never show a secret."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CloudError) as caught:
        Signer().sign(Reference("s3", BUCKET, "a.mp3"), 60)
    assert caught.value.message.startswith("s3: no AWS credentials found; set AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_SECRET)
    with pytest.raises(CloudError) as partial:
        Signer().sign(Reference("s3", BUCKET, "a.mp3"), 60)
    assert partial.value.message == (
        "s3://recordings/a.mp3: cannot sign: PartialCredentialsError: Partial credentials "
        "found in env, missing: AWS_SECRET_ACCESS_KEY"
    )
    assert FAKE_SECRET not in partial.value.message
    assert "\n" not in partial.value.message


def test_a_library_error_holding_a_signed_url_is_redacted(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error raised while signing never carries a signature into CloudError's message."""
    signer = Signer()
    reference = Reference("s3", BUCKET, "calls/2024/call-1.mp3")
    url = signer.sign(reference, 60)
    store = signer._stores["s3"]

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError(f"could not finish {url}")

    monkeypatch.setattr(store.client, "generate_presigned_url", broken)  # type: ignore[attr-defined]
    with pytest.raises(CloudError) as caught:
        signer.sign(reference, 60)
    assert query(url)["X-Amz-Signature"] not in caught.value.message
    assert "X-Amz-Credential" not in caught.value.message
    assert caught.value.message.endswith("call-1.mp3?<redacted>")


def test_unknown_profile_is_one_line(s3_env: S3Server) -> None:
    """cloud.s3.profile naming no profile: one line that says how to list them."""
    signer = Signer(CloudConfig(s3=S3Config(profile="nope")))
    with pytest.raises(CloudError, match=r"^s3: no AWS profile 'nope' \(cloud.s3.profile"):
        signer.sign(Reference("s3", BUCKET, "a.mp3"), 60)


def test_describe_names_the_credentials_source(s3_env: S3Server) -> None:
    """describe() says where the credentials come from, never what they are."""
    text = Signer().describe("s3")
    assert (
        text
        == f"credentials from env (profile default), region us-east-1, endpoint {s3_env.endpoint}"
    )


# --- Google Cloud Storage, offline -------------------------------------------------------


@pytest.fixture(scope="module")
def gcs_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """Write a throwaway service-account key file; return it and its RSA key."""
    path = tmp_path_factory.mktemp("gcs") / "key.json"
    return path, write_service_account_key(path, "signer@p.iam.gserviceaccount.com")


def test_gcs_url_is_v4_signed_with_the_response_type(gcs_key: tuple[Path, Any]) -> None:
    """A gs:// URL: V4, 900 s, response-content-type audio/wav, and a signature the key verifies."""
    pytest.importorskip("google.cloud.storage")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    path, key = gcs_key
    signer = Signer(CloudConfig(gs=GcsConfig(credentials_file=path)))
    url = signer.sign(Reference("gs", "calls-archive", "2024/a b.wav"), validity(600))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://storage.googleapis.com/calls-archive/2024/a%20b.wav"
    )
    params = query(url)
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert params["X-Goog-Expires"] == "900"
    assert params["response-content-type"] == "audio/wav"
    assert params["X-Goog-Credential"].startswith("signer@p.iam.gserviceaccount.com/")
    # The V4 canonical request: the signature covers response-content-type.
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in params.items()
        if k != "X-Goog-Signature"
    )
    canonical = "\n".join(
        [
            "GET",
            parts.path,
            "&".join(f"{k}={v}" for k, v in pairs),
            f"host:{parts.netloc}\n",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = params["X-Goog-Credential"].split("/", 1)[1]
    to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            params["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    signature = bytes.fromhex(params["X-Goog-Signature"])
    key.public_key().verify(signature, to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert Signer(CloudConfig(gs=GcsConfig(credentials_file=path))).describe("gs") == (
        "credentials from cloud.gs.credentials_file, signing with a service-account key "
        "(signer@p.iam.gserviceaccount.com), endpoint https://storage.googleapis.com"
    )


def test_gcs_unreadable_credentials_file(tmp_path: Path) -> None:
    """A credentials file that is not one is one line naming the setting."""
    pytest.importorskip("google.cloud.storage")
    bad = tmp_path / "key.json"
    bad.write_text("{}")
    signer = Signer(CloudConfig(gs=GcsConfig(credentials_file=bad)))
    with pytest.raises(
        CloudError, match=r"^cloud\.gs\.credentials_file: cannot read a service-account key"
    ):
        signer.sign(Reference("gs", "bucket", "a.mp3"), 60)


# --- Azure Blob Storage, offline ---------------------------------------------------------

# Azurite's development account and key: published by Microsoft, not a secret.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


def test_azure_sas_is_read_only_and_sets_rsct(monkeypatch: pytest.MonkeyPatch) -> None:
    """An az:// URL from a connection string: read only, expiry from the clock, rsct, valid HMAC."""
    pytest.importorskip("azure.storage.blob")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE)
    at = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
    signer = Signer(clock=lambda: at)
    url = signer.sign(Reference("az", "calls", "2024/a.mp3"), validity(600))
    assert url.startswith("http://127.0.0.1:10000/devstoreaccount1/calls/2024/a.mp3?")
    params = query(url)
    assert params["sp"] == "r"
    assert params["sr"] == "b"
    assert params["rsct"] == "audio/mpeg"
    assert params["se"] == "2026-03-02T09:15:00Z"
    # The service SAS string-to-sign (version 2020-12-06 and later).
    fields = [
        params["sp"],
        params.get("st", ""),
        params["se"],
        "/blob/devstoreaccount1/calls/2024/a.mp3",
        "",
        "",
        params.get("spr", ""),
        params["sv"],
        "b",
        "",
        "",
        "",
        "",
        "",
        "",
        params["rsct"],
    ]
    digest = hmac_sha256(base64.b64decode(AZURITE_KEY), "\n".join(fields))
    assert params["sig"] == digest
    assert signer.describe("az") == (
        "account devstoreaccount1, signing with the account key in "
        "AZURE_STORAGE_CONNECTION_STRING, endpoint http://127.0.0.1:10000/devstoreaccount1"
    )


def hmac_sha256(key: bytes, text: str) -> str:
    """Return the base64 HMAC-SHA256 of ``text``."""
    import hmac

    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def test_azure_without_an_account_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """No account in the config or the environment: one line naming both places."""
    pytest.importorskip("azure.storage.blob")
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_ACCOUNT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CloudError, match=r"^az: no storage account; set cloud.az.account"):
        Signer().sign(Reference("az", "calls", "a.mp3"), 60)


@pytest.mark.parametrize("key", ["../other/x.mp3", "a/./b.mp3", "a/../../b.mp3", "."])
def test_dot_segments_in_a_key_are_refused(key: str) -> None:
    """s3://recs/../other/x.mp3 would be signed as written, then normalised to another key."""
    with pytest.raises(ValueError, match=r"'\.' or '\.\.' segment"):
        parse_reference(f"s3://recs/{key}")


def test_residency_is_judged_from_env_and_firmware_only(tmp_path: Path) -> None:
    """on_gcp/on_azure: their identity env vars, or the DMI vendor strings; nothing else."""
    from ae_import.media.cloud.residency import on_azure, on_gcp

    dmi = tmp_path / "dmi"
    dmi.mkdir()
    assert not on_gcp({}, dmi) and not on_azure({}, dmi)
    assert on_gcp({"GCE_METADATA_HOST": "metadata"}, dmi)
    assert on_azure({"IDENTITY_ENDPOINT": "http://localhost:42356/msi/token"}, dmi)
    (dmi / "product_name").write_text("Google Compute Engine\n")
    (dmi / "chassis_asset_tag").write_text("7783-7084-3265-9085-8269-3286-77\n")
    assert on_gcp({}, dmi) and on_azure({}, dmi)


def test_azure_without_credentials_fails_at_once_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An account but no key or login, outside Azure: one CloudError, no managed-identity probe."""
    made = no_azure_login(monkeypatch)
    env = {"AZURE_STORAGE_ACCOUNT": "acct"}
    signer = Signer(env=env)
    with pytest.raises(CloudError) as refused:
        signer.sign(Reference("az", "recs", "a.mp3"), 600)
    assert refused.value.message == (
        "az: no Azure credentials for account acct; set cloud.az.account and "
        "AZURE_STORAGE_KEY, or az login (docs/cloud.md)"
    )
    assert made and all(m["exclude_managed_identity_credential"] for m in made)


def test_gcs_outside_google_cloud_never_asks_the_metadata_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No credentials outside GCP: google-auth runs with NO_GCE_CHECK, then one CloudError."""
    import google.auth
    import google.auth.exceptions

    seen: list[str | None] = []

    def default(**kwargs: Any) -> Any:
        seen.append(os.environ.get("NO_GCE_CHECK"))
        raise google.auth.exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", default)
    monkeypatch.delenv("NO_GCE_CHECK", raising=False)
    monkeypatch.setattr("ae_import.media.cloud.gcs.on_gcp", lambda env: False)
    with pytest.raises(CloudError, match="gs: no Google credentials found"):
        Signer(env={}).sign(Reference("gs", "recs", "a.mp3"), 600)
    assert seen == ["True"]
    assert "NO_GCE_CHECK" not in os.environ
