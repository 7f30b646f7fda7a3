"""What ae-import prints: the validation report (tables, summaries, JSON).

Every text that came from a manifest is shown as plain text (no rich markup is read
from it) with control characters escaped, so data cannot forge output lines.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .mapping import encode_body
from .pipeline import CheckedRow
from .redact import redact_url, safe_text

__all__ = ["MAX_TABLE_ROWS", "ValidateReport", "shown_body"]

MAX_TABLE_ROWS = 1000


def shown_body(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` as it may be shown: the media URL's query string redacted."""
    url = body.get("media_url")
    if isinstance(url, str):
        return {**body, "media_url": redact_url(url)}
    return body


@dataclass
class ValidateReport:
    """Collects checked rows and renders them for people or as one JSON object."""

    show_requests: int = 0
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    problem_count: int = 0
    _table_rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    _requests: list[dict[str, Any]] = field(default_factory=list)
    _spool: IO[str] | None = None

    def __post_init__(self) -> None:
        """Open the spool that holds problems beyond memory's comfort, for --json."""
        self._spool = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8")

    def add(self, row: CheckedRow) -> None:
        """Count one checked row and keep what the report shows of it."""
        self.rows += 1
        if row.valid:
            self.valid += 1
            if len(self._requests) < self.show_requests and row.body is not None:
                self._requests.append(shown_body(row.body))
            return
        self.invalid += 1
        assert self._spool is not None
        for problem in row.problems:
            self.problem_count += 1
            item = {
                "line": row.line,
                "external_id": row.external_id,
                "field": problem.field or None,
                "column": problem.column,
                "code": problem.code,
                "message": problem.message,
            }
            self._spool.write(json.dumps(item, ensure_ascii=False))
            self._spool.write("\n")
            if len(self._table_rows) < MAX_TABLE_ROWS:
                where = problem.field or "(row)"
                if problem.column and problem.column != problem.field:
                    where += f" ({problem.column})"
                self._table_rows.append(
                    (str(row.line), row.external_id or "", where, problem.message)
                )

    def summary(self) -> str:
        """Return the one-line summary."""
        noun = "row" if self.rows == 1 else "rows"
        probs = "problem" if self.problem_count == 1 else "problems"
        return (
            f"{self.rows} {noun}: {self.valid} valid, {self.invalid} invalid, "
            f"{self.problem_count} {probs}"
        )

    def write_json(self, out: IO[str]) -> None:
        """Write the report as one JSON object, problems streamed from the spool."""
        head = {"rows": self.rows, "valid": self.valid, "invalid": self.invalid}
        out.write(json.dumps(head)[:-1] + ', "problems": [')
        assert self._spool is not None
        self._spool.seek(0)
        for index, line in enumerate(self._spool):
            out.write(("" if index == 0 else ", ") + line.rstrip("\n"))
        out.write("]")
        if self.show_requests:
            out.write(', "requests": ' + json.dumps(self._requests, ensure_ascii=False))
        out.write("}\n")

    def write_human(self, console: Console) -> None:
        """Print the problems table, any requested bodies, and the summary."""
        if self._table_rows:
            table = Table(show_edge=False, pad_edge=False, header_style="bold")
            table.add_column("line", justify="right", no_wrap=True)
            table.add_column("external_id", overflow="fold")
            table.add_column("field", overflow="fold")
            table.add_column("problem", overflow="fold")
            for cells in self._table_rows:
                table.add_row(*(Text(safe_text(c)) for c in cells))
            with console.capture() as capture:
                console.print(table)
            lines = capture.get().splitlines()
            console.out("\n".join(line.rstrip() for line in lines), highlight=False)
            hidden = self.problem_count - len(self._table_rows)
            if hidden > 0:
                console.print(Text(f"... and {hidden} more problems; --json lists every one"))
        for body in self._requests:
            console.print(Text(encode_body(body).decode("utf-8")), soft_wrap=True)
        console.print(Text(self.summary()))

    def close(self) -> None:
        """Drop the spool."""
        if self._spool is not None:
            self._spool.close()
