"""What the ``gs://`` and ``az://`` stores share: the reference they write, the error they raise.

A store (``gcs_store``, ``azure_store``) knows its library's exceptions; what it tells
the stager is the same for every cloud: a call that a later attempt may get through
(the network, a timeout, 408, 429, a 5xx) is a ``transient`` CloudError; a refusal
(401, 403, no such bucket or container, a bad name) is not, and every row would fail
the same way. The message is one line, URLs and secrets redacted.
"""

from __future__ import annotations

from ae_import.errors import CloudError
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

from . import Reference, parse_reference, tls_hint, transient

__all__ = ["reference_of", "retryable_status", "store_error"]

MAX_MESSAGE = 300


def reference_of(ref: str, scheme: str) -> Reference:
    """Return the ``scheme`` reference ``ref`` names; CloudError when it is not one."""
    try:
        reference = parse_reference(ref)
    except ValueError as exc:
        raise CloudError(f"{safe_text(ref)[:120]}: {exc}") from None
    if reference is None or reference.scheme != scheme:
        raise CloudError(f"'{safe_text(ref)[:120]}' is not a {scheme}:// reference")
    return reference


def retryable_status(status: int) -> bool:
    """Tell whether an HTTP status from a store may pass on a later attempt (408, 429, 5xx)."""
    return status in (408, 429) or status >= 500


def store_error(
    reference: Reference, action: str, exc: BaseException, *, status: int = 0
) -> CloudError:
    """Return the CloudError for ``action`` on ``reference`` that failed with ``exc``.

    ``transient`` when ``exc`` (or its cause) is a network failure or ``status`` is one
    a later attempt may not get. Only the first line of the library's text is kept.
    """
    first = str(exc).strip().split("\n", 1)[0]
    text = " ".join(first.split()) or type(exc).__name__
    line = f"{reference}: cannot {action}: {type(exc).__name__}: {text}"
    hint = tls_hint(exc) or ""
    error = CloudError(safe_text(redact_urls_in(line))[: MAX_MESSAGE - len(hint)] + hint)
    error.transient = transient(exc) or retryable_status(status)
    return error
