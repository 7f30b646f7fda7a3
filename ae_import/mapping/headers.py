"""The header check: every column the config names is in the CSV header, all said at once.

Pure. Run before the first row is read, so a config that cannot work on this file is an
exit-2 error, not a problem on every row. A missing column is named with the one the
config probably meant (case, spaces and ``_`` aside: ``id`` for a header ``Id``); a
header lacking several required fields names them all, each with both fixes
(``columns.X`` and ``defaults.X``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ae_import.errors import ManifestError

from .sources import suggest
from .validation import OWN_VALUE_FIELDS, REQUIRED_FIELDS

if TYPE_CHECKING:
    from .mapper import Mapper

__all__ = ["SHOWN_MISSING", "SUGGESTED", "check_header"]

SUGGESTED = 5  # missing columns that get a "did you mean"
SHOWN_MISSING = 20  # missing columns named in the message
SHOWN_COLUMNS = 40  # header columns listed in it


def _names(items: list[str]) -> str:
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _one_missing(
    source: str, where: str, text: str, column: str, listed: str, close: str | None
) -> str:
    meant = f"did you mean '{close}'? " if close else ""
    if where.startswith("timezone") or where.endswith(".timezone"):
        what = f"the config reads each row's time zone from column '{column}'"
    elif where.startswith("columns."):
        field = where.split(".")[1]
        if text != column:
            what = f"the config's {where} template '{text}' names column '{column}'"
        else:
            what = f"the config maps {field} to column '{column}'"
    else:
        what = f"the config names participant column '{column}' ({where})"
    return (
        f"{source}: {what}, which the header lacks (columns: {listed}); {meant}fix {where} "
        "in the config"
    )


def _required(
    source: str, fields: list[str], columns: tuple[str, ...], listed: str, decides: bool
) -> str:
    if decides:
        return _unmapped(source, fields, listed)
    hints = []
    for name in fields:
        close = suggest(name, columns)
        meant = f" (did you mean '{close}'?)" if close else ""
        if name in OWN_VALUE_FIELDS:
            hints.append(f"columns.{name}{meant} (no default: each row needs its own)")
        else:
            hints.append(f"columns.{name}{meant} or defaults.{name}")
    one_column = ""
    if len(columns) == 1:
        one_column = "; the header reads as one column: separate fields with , ; tab or |"
    if len(fields) == 1:
        name = fields[0]
        article = "an" if name[0] in "aeiou" else "a"
        default = "" if name in OWN_VALUE_FIELDS else f", or set defaults.{name}"
        close = suggest(name, columns)
        meant = f" (did you mean '{close}'?)" if close else ""
        return (
            f"{source}: no column for required field '{name}' (columns: {listed}); add "
            f"{article} '{name}' column, map one with columns.{name}{meant}{default} in "
            f"--config{one_column}"
        )
    return (
        f"{source}: no column for required fields {_names(fields)} (columns: {listed}); add "
        "a column named like each field, or in --config map one or set a default: "
        f"{'; '.join(hints)}{one_column}"
    )


def _unmapped(source: str, fields: list[str], listed: str) -> str:
    """Say that the config, which maps sources, maps none to required ``fields``."""
    hints = [
        f"columns.{name}" + ("" if name in OWN_VALUE_FIELDS else f" or defaults.{name}")
        for name in fields
    ]
    what = f"field '{fields[0]}'" if len(fields) == 1 else f"fields {_names(fields)}"
    return (
        f"{source}: the config maps no source to required {what} (columns: {listed}); "
        "a config that maps columns uses a column only when it maps it, even one named "
        f"like the field: add {'; '.join(hints)} to the config"
    )


def check_header(mapper: Mapper, source: str, columns: tuple[str, ...]) -> None:
    """Raise ManifestError naming every column the config or a required field lacks."""
    have = set(columns)
    named = [c for c in columns if c]
    listed = ", ".join(named[:SHOWN_COLUMNS]) or "none"
    if len(named) > SHOWN_COLUMNS:
        listed += f" and {len(named) - SHOWN_COLUMNS} more"
    absent = [(w, t, c) for w, t, c in mapper.configured_columns() if c not in have]
    # "Did you mean" costs a comparison with every column: only the first few get one.
    missing = [
        (where, text, column, suggest(column, columns) if index < SUGGESTED else None)
        for index, (where, text, column) in enumerate(absent)
    ]
    if len(missing) == 1:
        raise ManifestError(_one_missing(source, *missing[0][:3], listed, missing[0][3]))
    if missing:
        shown = missing[:SHOWN_MISSING]
        more = f" and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
        each = (
            ", ".join(
                f"'{column}' ({where}" + (f"; did you mean '{close}'?)" if close else ")")
                for where, _text, column, close in shown
            )
            + more
        )
        raise ManifestError(
            f"{source}: the header lacks {len(missing)} columns the config names: {each} "
            f"(columns: {listed}); fix them in the config"
        )
    fields = mapper.config.fields
    decides = mapper.config.decides  # then a column named like a field is data, not a source
    lacking = [
        name
        for name in REQUIRED_FIELDS
        if name not in fields and (decides or name not in have) and not mapper.has_default(name)
    ]
    if lacking:
        raise ManifestError(_required(source, lacking, columns, listed, decides))
