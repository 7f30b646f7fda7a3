"""Property test of the answer parser: the token never survives an answer, however encoded.

Random statuses, random JSON (and bytes that are not JSON) holding the token raw,
JSON-escaped, with its signs as u-escapes, percent-encoded, in base64 at any offset, or
in another letter case, in any field or header: no part of the outcome holds it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ae_import.sending import EngagementClient

TOKEN = "sk-live/Prop+erty=Token_42"


def encodings(prefix: bytes) -> list[str]:
    """Return the token as a server might echo it."""
    return [
        TOKEN,
        TOKEN.upper(),
        json.dumps(TOKEN).replace("/", "\\/")[1:-1],
        TOKEN.replace("+", "\\u002B").replace("=", "\\u003D").replace("/", "\\u002F"),
        quote(TOKEN, safe=""),
        quote(quote(TOKEN, safe=""), safe=""),
        base64.b64encode(prefix + TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(prefix + b"Bearer " + TOKEN.encode()).decode(),
    ]


def leaked(text: str) -> bool:
    """Tell whether ``text`` holds the token in a form a reader could recover."""
    low = text.lower()
    forms = [TOKEN.lower(), quote(TOKEN, safe="").lower(), "prop+erty=token_42", "prop\\u002berty"]
    return any(f in low for f in forms) or _decodes_to_token(text)


def _decodes_to_token(text: str) -> bool:
    """Tell whether some base64 run in ``text`` decodes to bytes holding the token."""
    for word in text.replace('"', " ").replace(",", " ").split():
        for cut in range(4):
            try:
                raw = base64.b64decode(word[cut:] + "===", altchars=b"-_")
            except (ValueError, TypeError):
                continue
            if TOKEN.encode() in raw:
                return True
    return False


@settings(max_examples=200)
@given(
    st.sampled_from([200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 503]),
    st.integers(min_value=0, max_value=7),
    st.binary(max_size=3),
    st.sampled_from(["detail", "title", "type", "request_id", "errors", "id", "raw", "header"]),
    st.text(max_size=20),
)
def test_the_token_never_survives_an_answer(
    status: int, form: int, prefix: bytes, where: str, noise: str
) -> None:
    """Whatever the answer, its outcome (detail, code, errors, request id) holds no token."""
    echoed = encodings(prefix)[form]
    body: Any = {"type": "urn:x", "detail": noise}
    headers = {"Content-Type": "application/problem+json"}
    if where == "raw":
        content = f"<html>{noise} {echoed}</html>".encode()
    else:
        if where == "errors":
            body["errors"] = [{"field": "x", "message": f"{noise}{echoed}"}]
        elif where == "header":
            headers["X-Request-Id"] = echoed
        else:
            body[where] = f"{noise} {echoed}"
        content = json.dumps(body).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers)

    client = EngagementClient(
        "https://api.example.com/api", TOKEN, transport=httpx.MockTransport(answer)
    )
    outcome = asyncio.run(client.create(b"{}"))
    shown = (
        " ".join(str(v) for v in vars(outcome).values() if v is not None)
        if hasattr(outcome, "__dict__")
        else repr(outcome)
    )
    assert not leaked(shown), shown
