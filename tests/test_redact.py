"""Table tests of redact_urls_in: every shape in which a server echoes a signed URL or a secret."""

from __future__ import annotations

import json

import pytest

from ae_import.redact import redact_urls_in

SIG = "c0ffee5ign4ture0123"
CRED = "AKIAEXAMPLE"
S3 = "bucket.s3.amazonaws.com/rec/0.mp3"
ESC1 = S3.replace("/", "\\/")  # slashes JSON-escaped once
ESC2 = S3.replace("/", "\\\\/")  # and twice
QUERY = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CRED}%2F20261130&X-Amz-Signature={SIG}"

CASES = [
    # URLs with a scheme (as before): the query goes, user-info too.
    (f"bad media_url https://{S3}?{QUERY}", f"bad media_url https://{S3}?<redacted>"),
    (f"https://u:pw@{S3}?{QUERY}#t", f"https://{S3}?<redacted>"),
    # Without a scheme: host/path?query, host?query, host:port, IPv4.
    (f"could not fetch {S3}?{QUERY}.", f"could not fetch {S3}?<redacted>"),
    (f"{S3}?{QUERY}", f"{S3}?<redacted>"),
    (f"at storage.googleapis.com?X-Goog-Signature={SIG}", "at storage.googleapis.com?<redacted>"),
    (f"127.0.0.1:9000/b/a.mp3?X-Amz-Signature={SIG} x", "127.0.0.1:9000/b/a.mp3?<redacted> x"),
    (f"minio.local:9000/b/a.mp3?sig={SIG}", "minio.local:9000/b/a.mp3?<redacted>"),
    # JSON-escaped slashes, once (a JSON blob in a detail) and twice (json.dumps of that).
    (
        f"body was https:\\/\\/{ESC1}?{QUERY}",
        f"body was https:\\/\\/{ESC1}?<redacted>",
    ),
    (
        f'"https:\\\\/\\\\/u:p@{ESC2}?{QUERY}\\\\"',
        f'"https:\\\\/\\\\/{ESC2}?<redacted>\\\\"',
    ),
    (f'"{ESC1}?{QUERY}"', f'"{ESC1}?<redacted>"'),
    # Percent-encoded: a whole URL inside another's parameter, or "=" as %3D / %253D.
    (
        f"url=https%3A%2F%2F{S3}%3FX-Amz-Credential%3D{CRED}%252F2026%26X-Amz-Signature%3D{SIG}"
        "%26X-Amz-Date%3D20261130",
        "url=https%3A%2F%2Fbucket.s3.amazonaws.com/rec/0.mp3%3FX-Amz-Credential%3D<redacted>"
        "%26X-Amz-Signature%3D<redacted>%26X-Amz-Date%3D20261130",
    ),
    (f"x-amz-signature%253d{SIG}%2526a=1", "x-amz-signature%253d<redacted>%2526a=1"),
    # Bare parameters anywhere, any case; neighbours that are not secrets stay.
    (
        f"X-Amz-Signature={SIG}&X-Amz-Date=20261130T000000Z",
        "X-Amz-Signature=<redacted>&X-Amz-Date=20261130T000000Z",
    ),
    (f"x-amz-credential={CRED}/2026/us-east-1", "x-amz-credential=<redacted>"),
    (f"X-Goog-Credential={CRED}%2F2026 bad", "X-Goog-Credential=<redacted> bad"),
    (f"X-GOOG-SIGNATURE={SIG}", "X-GOOG-SIGNATURE=<redacted>"),
    ("sv=2024-01-01&se=2026&sp=r&sig=aBc%2Bd%3D", "sv=2024-01-01&se=2026&sp=r&sig=<redacted>"),
    (
        f"AWSAccessKeyId={CRED}&Signature={SIG}&Expires=1",
        "AWSAccessKeyId=<redacted>&Signature=<redacted>&Expires=1",
    ),
    ("token=eyJhbGciOi.eyJzdWIi.sig, retry", "token=<redacted>, retry"),
    (
        "key=K api_key=A access_token=T password=P secret=S",
        "key=<redacted> api_key=<redacted> access_token=<redacted> password=<redacted> "
        "secret=<redacted>",
    ),
    ("X-Amz-Security-Token=IQoJb3JpZ2lu%2F%2B%3D;next", "X-Amz-Security-Token=<redacted>;next"),
    # Text with nothing to hide is left alone.
    ("external_id=abc is taken; title=Call 1", "external_id=abc is taken; title=Call 1"),
    ("Is it foo.bar? Or a.b?c", "Is it foo.bar? Or a.b?c"),
    ("see example.com/docs for help", "see example.com/docs for help"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "shown"), CASES)
def test_redact_urls_in(text: str, shown: str) -> None:
    """Each shape of signed URL or secret parameter is redacted, readably."""
    assert redact_urls_in(text) == shown
    assert SIG not in redact_urls_in(text)


@pytest.mark.parametrize(("text", "shown"), CASES)
def test_redaction_is_idempotent(text: str, shown: str) -> None:
    """Redacting twice changes nothing more: '<redacted>' is never taken for a value."""
    assert redact_urls_in(shown) == shown


def test_a_json_errors_list_stays_json() -> None:
    """json.dumps of errors echoing presigned URLs: still valid JSON, no signature left."""
    errors = [
        {"field": "media_url", "message": f"unreachable: {S3}?{QUERY}"},
        {"field": "media_url", "message": f'not https: "https:\\/\\/{S3}?{QUERY}"'},
    ]
    text = redact_urls_in(json.dumps(errors, ensure_ascii=False))
    assert SIG not in text and CRED not in text
    back = json.loads(text)
    assert back[0]["message"] == f"unreachable: {S3}?<redacted>"
    assert (
        back[1]["message"]
        == 'not https: "https:\\/\\/bucket.s3.amazonaws.com\\/rec\\/0.mp3?<redacted>"'
    )


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("a." * 50_000 + "com/" + "b/" * 50_000, "b/"),  # exponential before: two ways per "/"
        ("a.com?" * 20_000, "a.com?"),
        ("https://h/" + "\\/" * 50_000 + "?sig=1", "\\/?<redacted>"),
        ("token=" * 20_000 + "x", "token=<redacted>"),
    ],
)
def test_long_hostile_texts_are_redacted(text: str, tail: str) -> None:
    """Long texts built to make a regex backtrack are redacted (and finish: no runaway)."""
    assert redact_urls_in(text).endswith(tail)
