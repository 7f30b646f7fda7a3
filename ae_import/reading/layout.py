"""Where a delimited file's header is, and what separates its fields: one rule for every command.

Pure. The reader looks at a file's first lines (``Lines.peek``) before its header and asks
``find_layout``:

- the delimiter: the mapping's ``manifest: delimiter``, else Excel's ``sep=X`` line, else
  tab for ``.tsv``, else the candidate (``, ; tab |``) that splits the header into as many
  fields as most rows have, with the most fields; failing that, the one the header holds
  most of;
- the title lines above the header (a report's name, its filters, a blank line): the
  mapping's ``manifest: skip_lines``, else the first lines, up to ``MAX_TITLE_LINES``,
  that hold no field separator, or far fewer fields than the rows below them.

``init`` writes what was found into the mapping, with the reason, so that the file is
read the same way every time even if a later export starts differently.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DELIMITERS",
    "MAX_TITLE_LINES",
    "SEP_LINE",
    "Layout",
    "delimiter_name",
    "find_layout",
    "title_rows",
]

DELIMITERS = (",", ";", "\t", "|")
MAX_TITLE_LINES = 10
SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)  # Excel's first line: sep=;
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def delimiter_name(delimiter: str) -> str:
    """Return a delimiter's name: comma, semicolon, tab, pipe (else the character)."""
    return _NAMES.get(delimiter, repr(delimiter))


@dataclass(frozen=True)
class Layout:
    """How a delimited file is laid out, and why the reader thinks so."""

    delimiter: str
    delimiter_reason: str
    skip_lines: int  # title lines above the header (after a sep= line)
    skip_reason: str = ""


def _records(lines: Sequence[str], delimiter: str) -> list[list[str]]:
    """Split ``lines`` into records, quotes honoured; a line the csv module refuses ends it."""
    found: list[list[str]] = []
    reader = csv.reader(io.StringIO("".join(lines)), delimiter=delimiter)
    with contextlib.suppress(csv.Error):  # the records before a broken one count
        found.extend(reader)
    return found


def _width(line: str, delimiter: str) -> int:
    """Count the fields of one line (quotes honoured; 1 for a line that does not parse)."""
    records = _records([line], delimiter)
    return len(records[0]) if records else 0


def _usual_width(records: list[list[str]]) -> tuple[int, int]:
    """Return the most common field count of ``records`` (the last may be cut) and how often."""
    body = [len(r) for r in (records[:-1] if len(records) > 2 else records) if any(r)]
    if not body:
        return 0, 0
    return Counter(body).most_common(1)[0]


def _is_header(width: int, usual: int, seen: int) -> bool:
    """Tell whether a line of ``width`` fields heads rows mostly ``usual`` wide (``seen`` of them).

    A title line has one to three fields over rows of at least twice as many.
    """
    return not (width <= 3 and usual >= 3 and seen >= 3 and width * 2 <= usual)


def _title_lines(lines: Sequence[str], delimiter: str) -> int:
    """Count the lines above the header: blank, or with far fewer fields than the rows below."""
    for index, line in enumerate(lines[: MAX_TITLE_LINES + 1]):
        width = _width(line, delimiter)
        if width >= 2:
            usual, seen = _usual_width(_records(lines[index + 1 :], delimiter))
            if _is_header(width, usual, seen):
                return index
    return 0


def title_rows(widths: Sequence[int]) -> int:
    """Count a sheet's rows above its header, by the rule of title lines (``widths``: filled cells).

    A row's width is the place of its last filled cell (0 for a blank row).
    """
    for index, width in enumerate(widths[: MAX_TITLE_LINES + 1]):
        if width >= 2:
            body = [w for w in widths[index + 1 :] if w]
            usual, seen = Counter(body).most_common(1)[0] if body else (0, 0)
            if _is_header(width, usual, seen):
                return index
    return 0


def _consistent(lines: Sequence[str], delimiter: str) -> tuple[int, int]:
    """Return (title lines, header's field count) when most rows have that count (else 0 fields).

    A header found below title lines needs rows under it to vouch for it.
    """
    skip = _title_lines(lines, delimiter)
    records = [r for r in _records(lines[skip:], delimiter) if any(r)]
    if not records or len(records[0]) < 2:
        return skip, 0
    width = len(records[0])
    body = records[1:-1] if len(records) > 2 else records[1:]
    same = sum(len(r) == width for r in body)
    if skip and not body:
        return skip, 0
    return skip, (width if not body or same >= 0.9 * len(body) else 0)


def _delimiter(lines: Sequence[str]) -> tuple[str, str]:
    """Choose the delimiter of ``lines`` by the rule in this module's docstring."""
    found = {d: _consistent(lines, d) for d in DELIMITERS}
    fitting = [(skip, -width, d) for d, (skip, width) in found.items() if width]
    if fitting:  # the fewest title lines, then the most fields
        _skip, width, best = min(fitting)
        return best, f"{-width} fields in the header and in most rows"
    header = next((line for line in lines if line.strip()), "")
    best = max(DELIMITERS, key=header.count)
    if not header.count(best):
        return ",", "no delimiter in the header: one column"
    return best, f"the header holds {header.count(best)} of them"


def find_layout(
    lines: Sequence[str],
    *,
    tsv: bool = False,
    delimiter: str | None = None,
    skip_lines: int | None = None,
    sep_line: bool = False,
) -> Layout:
    """Find the layout of a delimited file from its first ``lines`` (after any sep= line).

    ``delimiter`` and ``skip_lines`` come from the mapping (None: find them); ``sep_line``
    says ``delimiter`` came from Excel's ``sep=`` line.
    """
    if delimiter is not None:
        why = "Excel's sep= line" if sep_line else "manifest: delimiter"
    elif tsv:
        delimiter, why = "\t", "a .tsv file"
    else:
        delimiter, why = _delimiter(lines)
    reason = f"{delimiter_name(delimiter)}: {why}"
    if skip_lines is not None:
        return Layout(delimiter, reason, skip_lines, "manifest: skip_lines")
    skip = _title_lines(lines, delimiter)
    titles = "title line" if skip == 1 else "title lines"
    return Layout(delimiter, reason, skip, f"{skip} {titles} above the header" if skip else "")
