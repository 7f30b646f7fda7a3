r"""Media URLs checked the way the fetching server reads them (the WHATWG URL standard).

Pure: no I/O, no network, no DNS. The server parses ``media_url`` as browsers do, so a
check that reads the text any other way can pass a URL that the server then fetches from
127.0.0.1 (``https://127。0。0。1/``, ``https://0x7f.1/``, ``https://127.0.0.1\@cdn.example.com/``).
The parsing is done by ada (the WHATWG parser of Node.js, through the ``ada-url`` package):
tabs and newlines dropped, ``\`` read as ``/``, the host percent-decoded and mapped by
IDNA/UTS-46 (full-width digits, ``。``, soft hyphens), IPv4 in decimal, octal or hex.
Then the parsed host is judged, and what a strict server refuses is refused here too:

==========================  ==========================================================
code                        meaning
==========================  ==========================================================
url_whitespace              spaces or line breaks around the URL (``strip=False`` only)
url_too_long                longer than ``MAX_URL_LENGTH`` characters
url_invalid                 not a URL, control characters inside, no ``//``, port 0
url_scheme                  not https (plain http included: the server refuses it)
url_userinfo                a user name or password before the host
url_host                    no host, localhost, a single-label or an internal name
url_private                 an IP in a private/loopback/link-local/reserved range
==========================  ==========================================================

``MAX_URL_LENGTH`` is 8,000 characters: under the request-line limits of common web
servers (Apache 8,190 bytes, nginx 8 KB buffers), so a URL that passes can be fetched,
and about three times the longest presigned URLs (S3 with a session token, ~2,500).
Messages never repeat the URL's query string (signatures are secrets) nor raw controls.
"""

from __future__ import annotations

import ipaddress
import re

from ada_url import HostType, parse_url

from ae_import.text import safe_text

__all__ = ["INTERNAL_SUFFIXES", "MAX_URL_LENGTH", "check_media_url"]

MAX_URL_LENGTH = 8_000

# Names that never resolve in the public DNS: RFC 6761 (localhost), RFC 6762 (local),
# RFC 8375 (home.arpa), ICANN's private-use TLD (internal, 2024) and its never-delegated
# collision names (corp, home), and common private conventions (localdomain, lan, intranet).
INTERNAL_SUFFIXES = (
    "internal",
    "local",
    "home.arpa",
    "localdomain",
    "lan",
    "intranet",
    "corp",
    "home",
)

# The common form, in which the WHATWG parse is the identity: a lower-case ASCII host of
# two labels or more whose last label starts with a letter (so not an IPv4 number; labels
# in xn-- are left to the parser), then printable ASCII. Anything else goes through ada.
_PLAIN = re.compile(
    r"https://((?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*)(?::[1-9][0-9]{0,3})?(?:[/?#][!-~]*)?\Z"
)
_INTERNAL_ENDINGS = tuple(f".{suffix}" for suffix in ("localhost", *INTERNAL_SUFFIXES))
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_AUTHORITY_END = re.compile(r"[/\\?#]")
_ATTRIBUTES = ("hostname", "port", "host_type")

Found = list[tuple[str, str]]


def check_media_url(text: str, *, strip: bool = True) -> tuple[str, Found]:
    """Return the URL to send (trimmed, scheme lower-cased) and its (code, message) problems.

    With ``strip=False`` (the caller sends the text as it is) surrounding whitespace is
    reported as ``url_whitespace`` instead of being removed silently.
    """
    url = text.strip()
    problems: Found = []
    if url != text and not strip:
        problems.append(("url_whitespace", "has spaces or line breaks around it; remove them"))
    if not url:
        return url, [*problems, ("url_invalid", "is blank; give an https:// URL")]
    if len(url) > MAX_URL_LENGTH:
        return url, [
            *problems,
            (
                "url_too_long",
                f"{len(url):,} characters; the limit is {MAX_URL_LENGTH:,}; shorten it",
            ),
        ]
    plain = _PLAIN.match(url)
    if plain is not None and "xn--" not in plain.group(1):
        problem = _check_name(plain.group(1))
        return url, problems if problem is None else [*problems, problem]
    match = _SCHEME.match(url)
    if match is None:
        return url, [*problems, ("url_scheme", "has no scheme; write it as https://host/path")]
    scheme = match.group()[:-1].lower()
    url = scheme + url[match.end() - 1 :]
    if scheme != "https":
        problems.append(("url_scheme", f"must use https, not {scheme}; the server refuses it"))
        if scheme != "http":
            return url, problems
    if _CONTROL.search(url):
        problems.append(
            ("url_invalid", "holds a tab, line break or other control character; remove it")
        )
    problems.extend(_check_parsed(url, len(scheme) + 1))
    return url, problems


def _check_parsed(url: str, rest_at: int) -> Found:
    """Check the part after ``scheme:`` syntactically, then the host as WHATWG parses it."""
    rest = url[rest_at:].translate(_TAB_OR_NEWLINE)
    if not rest.startswith("//"):
        return [("url_invalid", "needs // after the scheme; write it as https://host/path")]
    if rest[2:3] in ("/", "\\"):
        return [("url_host", "has no host")]
    problems: Found = []
    authority = _AUTHORITY_END.split(rest[2:], maxsplit=1)[0]
    if "@" in authority:
        problems.append(
            (
                "url_userinfo",
                "has a user name or password before the host; remove it "
                "(the server refuses it, and it is a secret)",
            )
        )
    try:
        parsed = parse_url(url, _ATTRIBUTES)
    except ValueError:
        return [*problems, ("url_invalid", "is not a valid URL; write it as https://host/path")]
    if parsed["port"] == "0":
        problems.append(("url_invalid", "has port 0, which cannot be fetched; fix the port"))
    problem = _check_host(parsed["hostname"], parsed["host_type"])
    if problem is not None:
        problems.append(problem)
    return problems


def _check_host(host: str, kind: HostType) -> tuple[str, str] | None:
    """Judge a host as the WHATWG parser left it (ASCII, lower case, IPs canonical)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    if kind == HostType.IPV4:
        ip = ipaddress.IPv4Address(host)
    elif kind == HostType.IPV6:
        ip = ipaddress.IPv6Address(host[1:-1])
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None:
            ip = inner
    else:
        return _check_name(host)
    if _blocked(ip):
        return (
            "url_private",
            f"{ip} is a private, loopback, link-local or reserved address; "
            "the server only fetches public URLs",
        )
    return None


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Tell whether the server refuses to fetch from ``ip``."""
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return True
    return isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local


def _check_name(host: str) -> tuple[str, str] | None:
    """Judge a domain name: it must be a public, fully qualified one."""
    name = host.rstrip(".")
    if "." in name and not name.endswith(_INTERNAL_ENDINGS):
        return None
    if not name:
        return ("url_host", "has no host")
    if name == "localhost" or name.endswith(".localhost"):
        return ("url_host", "points at localhost; use a public host")
    if "." not in name:
        return (
            "url_host",
            f"{safe_text(name)} is a single-label name the server cannot resolve; "
            "use the full public host name",
        )
    suffix = next(s for s in INTERNAL_SUFFIXES if name.endswith("." + s))
    return (
        "url_host",
        f"{safe_text(name)} is an internal name (.{suffix}); use a public host name",
    )
