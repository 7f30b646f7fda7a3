"""Media URLs judged by the host the fetching (WHATWG) server reads: a table of verdicts."""

from __future__ import annotations

import pytest

from ae_import.media.urls import MAX_URL_LENGTH, check_media_url
from ae_import.text import safe_text

OK: frozenset[str] = frozenset()
PRIVATE = frozenset({"url_private"})
HOST = frozenset({"url_host"})
INVALID = frozenset({"url_invalid"})
SCHEME = frozenset({"url_scheme"})
USERINFO = frozenset({"url_userinfo"})
CONTROL_AND_PRIVATE = frozenset({"url_invalid", "url_private"})

S3 = (
    "https://recordings.s3.us-west-2.amazonaws.com/calls/2024/0001.mp3"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Fus-west-2%2Fs3"
    "%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=604800"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0a1b" * 16
)

TABLE: list[tuple[str, frozenset[str]]] = [
    # URLs that a naive check and the server read differently, each read as the server does.
    ("https://127.0.0.1\t/a.mp3", CONTROL_AND_PRIVATE),
    ("https://1\t27.0.0.1/a.mp3", CONTROL_AND_PRIVATE),
    ("https://127。0。0。1/a.mp3", PRIVATE),
    ("https://１２７.0.0.1/a.mp3", PRIVATE),
    ("https://127.0.0.1\\@cdn.example.com/x", PRIVATE),
    ("https://127.0.0.1%2e/x", PRIVATE),
    ("https://127.0.0.1\u00ad/a.mp3", PRIVATE),
    ("https://127.0.0.1\u200b/a.mp3", PRIVATE),
    ("https://user:pass@cdn.example.com/a.mp3", USERINFO),
    ("https://intranet/a.mp3", HOST),
    ("https://metadata.google.internal/computeMetadata/v1/", HOST),
    (" https://cdn.example.com/a.mp3", OK),
    ("https://cdn.example.com/a.mp3\n", OK),
    ("https://cdn.example.com\\@127.0.0.1/x", OK),
    # IPv4 in the other forms the WHATWG host parser accepts.
    ("https://0x7f.1/a.mp3", PRIVATE),
    ("https://2130706433/a.mp3", PRIVATE),
    ("https://0177.0.0.1/a.mp3", PRIVATE),
    ("https://127.1/a.mp3", PRIVATE),
    ("https://0x7f000001/a.mp3", PRIVATE),
    ("https://0300.0250.1.1/a.mp3", PRIVATE),
    ("https://0xA9FEA9FE/latest/meta-data/", PRIVATE),
    ("https://%31%32%37.0.0.1/a.mp3", PRIVATE),
    ("https://0/a.mp3", PRIVATE),
    ("https://a.b.0x10/a.mp3", INVALID),
    ("https://1.2.3.4.5/a.mp3", INVALID),
    # IPv6, with IPv4 inside it.
    ("https://[::1]/a.mp3", PRIVATE),
    ("https://[::ffff:127.0.0.1]/a.mp3", PRIVATE),
    ("https://[fe80::1]/a.mp3", PRIVATE),
    ("https://[fc00::1]/a.mp3", PRIVATE),
    ("https://[::ffff:a9fe:a9fe]/a.mp3", PRIVATE),
    ("https://[2002:7f00:1::1]/a.mp3", PRIVATE),
    ("https://[fec0::1]/a.mp3", PRIVATE),
    ("https://[ff02::1]/a.mp3", PRIVATE),
    ("https://[2606:4700:4700::1111]/a.mp3", OK),
    # Address ranges.
    ("https://169.254.169.254/latest/meta-data/", PRIVATE),
    ("https://100.64.0.1/a.mp3", PRIVATE),
    ("https://0.0.0.0/a.mp3", PRIVATE),
    ("https://10.0.0.1/a.mp3", PRIVATE),
    ("https://172.16.0.1/a.mp3", PRIVATE),
    ("https://192.168.0.10/a.mp3", PRIVATE),
    ("https://224.0.0.1/a.mp3", PRIVATE),
    ("https://255.255.255.255/a.mp3", PRIVATE),
    ("https://8.8.8.8/a.mp3", OK),
    ("https://1.1.1.1:8443/a.mp3", OK),
    # Names that are not public.
    ("https://localhost/a.mp3", HOST),
    ("https://LOCALHOST./a.mp3", HOST),
    ("https://foo.localhost/a.mp3", HOST),
    ("https://ｌｏｃａｌｈｏｓｔ/a.mp3", HOST),
    ("https://x.local/a.mp3", HOST),
    ("https://printer.home.arpa/a.mp3", HOST),
    ("https://files.corp/a.mp3", HOST),
    ("https://metadata.google.internal./x", HOST),
    ("https://cdn.example.com./a.mp3", OK),
    ("https://ΒΓΔ.example/a.mp3", OK),
    ("https://xn--nxacd.example/a.mp3", OK),
    ("https://cdn.exam\u00adple.com/a.mp3", OK),
    # Ports.
    ("https://cdn.example.com:443/a.mp3", OK),
    ("https://cdn.example.com:8443/a.mp3", OK),
    ("https://cdn.example.com:65535/a.mp3", OK),
    ("https://cdn.example.com:99999/a.mp3", INVALID),
    ("https://cdn.example.com:0/a.mp3", INVALID),
    ("https://127.0.0.1:8443/a.mp3", PRIVATE),
    # Schemes and shapes.
    ("http://cdn.example.com/a.mp3", SCHEME),
    ("HTTP://10.0.0.1/a.mp3", SCHEME | PRIVATE),
    ("ftp://cdn.example.com/a.mp3", SCHEME),
    ("cdn.example.com/a.mp3", SCHEME),
    ("javascript:alert(1)", SCHEME),
    ("https:///a.mp3", HOST),
    ("https:cdn.example.com/a.mp3", INVALID),
    ("https:\\\\cdn.example.com/a.mp3", INVALID),
    ("https://[::1/a.mp3", INVALID),
    ("https://exa mple.com/a.mp3", INVALID),
    ("https://@cdn.example.com/a.mp3", USERINFO),
    ("https://alice:hunter2@cdn.example.com/a.mp3", USERINFO),
    ("https://user@127.0.0.1/a.mp3", USERINFO | PRIVATE),
    ("https://cdn.example.com/a.mp3\x00", INVALID),
    ("https://cdn.example.com/a\tb.mp3", INVALID),
    ("https://ex\udc00ample.com/a.mp3", INVALID),
    # Ordinary CDN and signed storage URLs.
    ("https://cdn.example.com/a.mp3", OK),
    ("HTTPS://CDN.EXAMPLE.COM/a.mp3", OK),
    (S3, OK),
    (
        "https://storage.googleapis.com/b/a.mp3?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=ab",
        OK,
    ),
    ("https://acct.blob.core.windows.net/c/a.mp3?sv=2022-11-02&se=2024-01-01&sig=a%3D", OK),
    ("https://10x.example.com/a.mp3", OK),
    ("https://cdn.example.com/@127.0.0.1/a.mp3", OK),
    ("https://cdn.example.com/my recording.mp3", OK),
    ("https://cdn.example.com", OK),
]


def codes(url: str, *, strip: bool = True) -> frozenset[str]:
    """Return the set of problem codes of ``url``."""
    return frozenset(code for code, _ in check_media_url(url, strip=strip)[1])


@pytest.mark.parametrize(("url", "expected"), TABLE, ids=[ascii(url)[:60] for url, _ in TABLE])
def test_verdict(url: str, expected: frozenset[str]) -> None:
    """Each URL gets exactly the expected problem codes."""
    assert codes(url) == expected


@pytest.mark.parametrize("url", [url for url, _ in TABLE if url.startswith("https://")])
def test_parser_and_shortcut_agree(url: str) -> None:
    """An upper-case scheme (always parsed by ada) gets the same verdict and URL to send."""
    assert check_media_url("HTTPS" + url[5:]) == check_media_url(url)


def test_the_url_to_send_is_trimmed_with_a_lower_case_scheme() -> None:
    """Surrounding whitespace goes, the scheme is lower-cased, the rest is kept as written."""
    assert check_media_url("  HTTPS://CDN.Example.com/A.mp3?x=Y \n") == (
        "https://CDN.Example.com/A.mp3?x=Y",
        [],
    )


def test_surrounding_whitespace_is_reported_when_not_stripped() -> None:
    """With strip=False, whitespace around the URL is a problem of its own."""
    assert codes(" https://cdn.example.com/a.mp3\t", strip=False) == {"url_whitespace"}
    assert codes("https://cdn.example.com/a.mp3", strip=False) == OK


def test_blank_is_invalid() -> None:
    """A URL of whitespace only is refused."""
    assert codes(" \t ") == INVALID


def test_length_cap() -> None:
    """A URL of MAX_URL_LENGTH characters passes; one character more is refused."""
    base = "https://cdn.example.com/"
    at_cap = base + "a" * (MAX_URL_LENGTH - len(base))
    assert codes(at_cap) == OK
    assert codes(at_cap + "a") == {"url_too_long"}


@pytest.mark.parametrize("url", [url for url, expected in TABLE if expected])
def test_messages_are_one_line_without_secrets(url: str) -> None:
    """No message repeats a query string or a password, or holds a control character."""
    _, problems = check_media_url(url + "?X-Amz-Signature=SECRET")
    assert problems
    for _, message in problems:
        assert "SECRET" not in message
        assert "hunter2" not in message
        assert safe_text(message) == message


def test_messages_name_the_host_the_server_reads() -> None:
    """A disguised address is named as the server reads it."""
    [(code, message)] = check_media_url("https://１２７。0。0。1/a.mp3")[1]
    assert code == "url_private"
    assert message.startswith("127.0.0.1 is a private")
