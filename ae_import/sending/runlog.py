"""The run log (``--log-file``): one line per row outcome and per retry, text or JSON.

Written through the stdlib's ``WatchedFileHandler``: when logrotate moves the file
away, the next line goes to a new file at the same path, so no ``copytruncate`` and
no signal are needed. Skipped rows are not logged one by one (a nightly resume of a
million done rows would write a million lines); the run's end line counts them.

A log that cannot be written (a full disk, a removed mount) does not stop the run:
the ledger holds every outcome. The first failure is reported once, in one line,
through ``warn``; nothing more is written to the log for the rest of the run.

Nothing secret reaches the log: the token is never handed to this module, error
texts arrive with their URLs redacted, and every value from manifest data has its
control characters escaped, so a crafted external_id cannot forge a log line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ae_import.errors import UsageError
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

from .summary import RowEvent
from .throttle import Cut

__all__ = ["RunLog"]

_FIELDS = (
    "external_id",
    "status",
    "attempt",
    "http_status",
    "request_id",
    "latency",
    "line",
    "error_code",
    "error_detail",
    "rate",
)
# json.dumps leaves these as they are; some readers split lines on them.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text_value(value: Any) -> str:
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = safe_text(compact if isinstance(value, bool | dict | list) else str(value))
    if text == "" or any(c in text for c in ' "=\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class _Handler(logging.handlers.WatchedFileHandler):
    """A WatchedFileHandler that reports its first write error once, not a traceback a line."""

    def __init__(self, path: Path, warn: Callable[[str], None]) -> None:
        super().__init__(path, encoding="utf-8")
        self.path = path
        self.warn = warn
        self.broken: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.broken is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.broken = why
        self.warn(
            f"ae-import: warning: --log-file {self.path}: cannot write ({why}); the run goes "
            "on without the log (the ledger keeps every outcome)"
        )


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class RunLog:
    """Append one line per event to a log file, as logfmt-style text or JSON."""

    def __init__(
        self, path: Path, fmt: str = "text", warn: Callable[[str], None] = _stderr
    ) -> None:
        """Open ``path`` for appending (created if missing)."""
        self.format = fmt
        try:
            self._handler = _Handler(path, warn)
        except OSError as exc:
            raise UsageError(f"--log-file {path}: cannot open: {exc.strerror or exc}") from None
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._logger = logging.Logger(f"ae_import.run.{id(self)}")
        self._logger.addHandler(self._handler)
        self._logger.propagate = False

    def write(self, event: str, fields: dict[str, Any]) -> None:
        """Write one line: the time, the event, then the fields that are set."""
        kept = {k: v for k, v in fields.items() if v is not None}
        if self.format == "json":
            record: dict[str, Any] = {"time": _now(), "event": event}
            for key, value in kept.items():
                record[key] = safe_text(value) if isinstance(value, str) else value
            line = json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS)
        else:
            parts = [_now(), event]
            parts += [f"{key}={_text_value(value)}" for key, value in kept.items()]
            line = " ".join(parts)
        self._logger.info(line)

    def row(self, event: RowEvent) -> None:
        """Log a row outcome or a retry."""
        fields: dict[str, Any] = {name: getattr(event, name) for name in _FIELDS}
        if event.latency is not None:
            fields["latency"] = round(event.latency, 3)
        if event.error_detail is not None:
            fields["error_detail"] = redact_urls_in(event.error_detail)
        if not event.attempt:
            fields["attempt"] = None
        self.write(event.event, fields)

    def cut(self, cut: Cut) -> None:
        """Log a cut of the rate controller: the rate refused, the new rate, its ceiling."""
        self.write(
            "rate",
            {
                "http_status": cut.status,
                "refused": round(cut.refused, 2),
                "rate": round(cut.rate, 2),
                "ceiling": round(cut.ceiling, 2),
                "in_flight_limit": cut.limit,
                "pause": round(cut.pause, 3) if cut.pause else None,
            },
        )

    @property
    def broken(self) -> str | None:
        """Return why the log could not be written, if it could not."""
        return self._handler.broken

    def close(self) -> None:
        """Flush and close the file."""
        with contextlib.suppress(OSError):
            self._handler.close()
        self._logger.removeHandler(self._handler)
