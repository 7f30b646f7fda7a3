"""The one proxy decision: the variables as curl reads them, --proxy, --no-proxy, NO_PROXY."""

from __future__ import annotations

import pytest

from ae_import.errors import UsageError
from ae_import.net import Proxies
from ae_import.options import parse_proxy

P = "http://p:1"


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "https://api.example.com/x", "http://p:3128"),
        (
            {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:1"},
            "https://a.b/",
            "http://lower:1",
        ),
        ({"HTTPS_PROXY": "p:3128"}, "https://a.b/", "http://p:3128"),
        ({"HTTPS_PROXY": "http://p"}, "https://a.b/", "http://p:80"),
        ({"HTTP_PROXY": P}, "https://a.b/", None),
        ({"HTTP_PROXY": P}, "http://a.b/", P),
        ({"ALL_PROXY": P}, "https://a.b/", P),
        ({"all_proxy": P}, "http://a.b/", P),
        ({"ALL_PROXY": "http://all:1", "HTTPS_PROXY": "http://s:1"}, "https://a.b/", "http://s:1"),
        ({"HTTPS_PROXY": ""}, "https://a.b/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "example.com"}, "https://api.example.com/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "example.com"}, "https://example.com/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "example.com"}, "https://badexample.com/", P),
        ({"HTTPS_PROXY": P, "NO_PROXY": ".example.com"}, "https://example.com/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "*.example.com"}, "https://a.example.com/", None),
        ({"HTTPS_PROXY": P, "no_proxy": "*"}, "https://x.y/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "a.b, c.d"}, "https://c.d/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, "https://10.1.2.3/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, "https://11.1.2.3/", P),
        ({"HTTPS_PROXY": P, "NO_PROXY": "::1"}, "https://[::1]:8443/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "a.b:8443"}, "https://a.b:8443/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "a.b:8443"}, "https://a.b/", P),
        ({"HTTPS_PROXY": P, "NO_PROXY": "localhost"}, "https://LOCALHOST./", None),
        ({"HTTPS_PROXY": P}, "https://127.0.0.1/", P),  # no implicit loopback bypass
        ({"HTTPS_PROXY": P, "NO_PROXY": "127.0.0.1"}, "https://127.0.0.1:9/", None),
    ],
)
def test_which_proxy_a_url_takes(env: dict[str, str], url: str, expected: str | None) -> None:
    """Each row: the variables, a URL, and the proxy it goes through (None: direct)."""
    import httpx

    target = httpx.URL(url)
    found = Proxies.resolve(env=env).proxy_for(target.scheme, target.host, target.port)
    assert (found.url if found else None) == expected


def test_the_option_replaces_the_variables_and_no_proxy_still_applies() -> None:
    """--proxy beats HTTPS_PROXY for both schemes; NO_PROXY still sends its hosts direct."""
    env = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "int.corp"}
    found = Proxies.resolve("http://cli:2", env=env)
    assert found.source == "option"
    assert found.proxy_for("https", "a.b") == found.proxy_for("http", "a.b")
    assert str(found.proxy_for("https", "a.b")) == "http://cli:2"
    assert found.proxy_for("https", "x.int.corp") is None


def test_no_proxy_flag_ignores_the_option_and_every_variable() -> None:
    """--no-proxy: direct, whatever --proxy and ALL_PROXY say."""
    found = Proxies.resolve("http://cli:1", no_proxy=True, env={"ALL_PROXY": "http://e:1"})
    assert found.proxy_for("https", "a.b") is None
    assert found.describe() == "none: direct (--no-proxy)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("socks5://h:1", "a socks5:// proxy is not supported"),
        ("https://h:1", "a https:// proxy is not supported"),
        ("http://h:99999", "is not a proxy URL"),
        ("http://h:1/path", "should be only http://host:port"),
        ("http://", "is not a proxy URL"),
    ],
)
def test_a_proxy_that_cannot_be_spoken_is_refused_naming_the_variable(
    value: str, message: str
) -> None:
    """A bad HTTPS_PROXY is a usage error that names the variable and what to write."""
    with pytest.raises(UsageError) as caught:
        Proxies.resolve(env={"HTTPS_PROXY": value})
    assert caught.value.message.startswith("HTTPS_PROXY: ")
    assert message in caught.value.message


def test_credentials_are_kept_apart_and_never_shown() -> None:
    """user:password go to the proxy only: the URL, str, repr and describe() hold neither."""
    found = Proxies.resolve("http://alice:p%40ss-word@proxy.corp:3128", env={})
    chosen = found.proxy_for("https", "api.example.com")
    assert chosen is not None
    assert (chosen.username, chosen.password) == ("alice", "p@ss-word")
    assert chosen.url == "http://proxy.corp:3128"
    for text in (str(chosen), repr(chosen), found.describe()):
        assert "alice" not in text and "p@ss" not in text and "p%40ss" not in text
    assert str(chosen) == "http://***@proxy.corp:3128"
    assert found.describe() == "http://***@proxy.corp:3128 (from --proxy)"


def test_a_bad_proxy_message_never_repeats_the_password() -> None:
    """The refusal of a malformed proxy URL shows it without its user-info."""
    with pytest.raises(ValueError) as caught:
        parse_proxy("http://alice:hunter2@proxy.corp:3128/some/path")
    assert "hunter2" not in str(caught.value) and "alice" not in str(caught.value)


def test_describe_names_each_scheme_and_the_exceptions() -> None:
    """Different proxies per scheme are each named, with where they came from and NO_PROXY."""
    env = {"https_proxy": "http://s:1", "HTTP_PROXY": "http://h:2", "NO_PROXY": "a.b"}
    assert Proxies.resolve(env=env).describe() == (
        "https: http://s:1 (from https_proxy); http: http://h:2 (from HTTP_PROXY); not for a.b"
    )
