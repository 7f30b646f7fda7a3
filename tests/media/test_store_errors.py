"""The one CloudError a gs:// or az:// store raises: retryable or not, one line, nothing secret."""

from __future__ import annotations

import pytest

from ae_import.errors import CloudError
from ae_import.media.cloud import Reference
from ae_import.media.cloud.stores import reference_of, retryable_status, store_error

REF = Reference("gs", "staged", "p/ab.mp3")


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(0, False), (400, False), (401, False), (403, False), (404, False), (408, True),
     (412, False), (429, True), (500, True), (503, True)],
)  # fmt: skip
def test_which_statuses_a_later_attempt_may_pass(status: int, retryable: bool) -> None:
    """408, 429 and 5xx may pass later; a refusal or a missing bucket will not."""
    assert retryable_status(status) is retryable
    assert store_error(REF, "upload", RuntimeError("x"), status=status).transient is retryable


def test_a_network_failure_is_transient_whatever_its_wrapper() -> None:
    """A connection error, or an error raised from one, is transient with no status."""
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("the library's own wrapper") from inner
    except RuntimeError as outer:
        assert store_error(REF, "look up the object", outer).transient is True


def test_the_message_is_one_line_and_holds_no_signature() -> None:
    """Only the library's first line is kept, and a URL's query (a SAS, a signature) is not."""
    exc = RuntimeError(
        "403 PUT https://acct.blob.core.windows.net/c/k?sv=2024&sig=SECRETSIG123 denied\n"
        "RequestId: 42\nAuthorization: SharedKey acct:SECRETKEY"
    )
    error = store_error(REF, "upload", exc, status=403)
    assert error.message.startswith("gs://staged/p/ab.mp3: cannot upload: RuntimeError: 403 PUT ")
    assert "\n" not in error.message
    assert "SECRETSIG123" not in error.message and "SECRETKEY" not in error.message


def test_a_reference_of_another_scheme_or_malformed_is_refused() -> None:
    """reference_of names what is wrong: another store, or a reference that does not parse."""
    assert reference_of("az://calls/a.mp3", "az") == Reference("az", "calls", "a.mp3")
    with pytest.raises(CloudError, match=r"is not a gs:// reference$"):
        reference_of("az://calls/a.mp3", "gs")
    with pytest.raises(CloudError, match=r"names no object"):
        reference_of("gs://bucket", "gs")
