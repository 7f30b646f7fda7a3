r"""``ae-import export``: ledger rows out, as CSV or JSONL, or as a manifest to fix and re-run.

Two shapes:

- the ledger's own columns, one line per row (``EXPORT_COLUMNS``);
- ``--as-manifest``: the original manifest records, with the source's own columns,
  plus an ``ae_import_error`` column saying what went wrong. The ledger never keeps
  manifest data (transcripts stay out of it), so the records are read again from the
  manifest each run recorded, through the config that run used. A record is picked
  by its external_id; a record with no usable external_id (missing, repeated, a
  broken line) is checked again and picked when invalid.

The format is ``--format``, else CSV for the ledger's columns, and for
``--as-manifest`` the source manifest's own (JSONL stays JSONL). A JSONL source written
as CSV gets a column per field, nested objects as dotted columns (``crm.id``) and
arrays as JSON text (as CSV manifests carry participants); a record two of whose
fields would become one column is refused, with ``--format jsonl`` to use instead.

CSV cells that a spreadsheet would run as formulas are escaped with a leading
``'``, and ``run`` undoes that when it reads a file with ``ae_import_error``. Media
URLs are written without their query string: presigned signatures are secrets, so
sign those URLs again before re-running.

Terminal controls (C0, C1, bidi overrides) never reach a terminal: JSONL escapes them
as ``\uXXXX`` (the values read back are unchanged), the ledger's columns are escaped in
CSV, and ``--as-manifest`` CSV is escaped when it goes to a terminal, but byte-exact in
a file or a pipe, where ``run`` reads it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from ae_import.config import load_config
from ae_import.errors import UsageError
from ae_import.ledger import ALL_STATUSES, STATUSES, Ledger
from ae_import.mapping import Mapper, RowSource
from ae_import.options import parse_shard
from ae_import.reading import (
    EXPORT_ERROR_COLUMN,
    NESTED_FORMATS,
    escape_formula,
    open_manifest,
)
from ae_import.records import Row
from ae_import.redact import redact_urls_in
from ae_import.settings import ledger_settings
from ae_import.text import json_text, safe_text

__all__ = ["MANIFEST_STATUSES", "export", "export_manifest", "export_rows", "parse_statuses"]

MANIFEST_STATUSES = ("failed", "invalid", "retryable", "pending")


def parse_statuses(text: str | None, default: Sequence[str]) -> tuple[str, ...]:
    """Read ``--status S1,S2``; refuse a status the ledger does not have."""
    if text is None:
        return tuple(default)
    wanted = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in ALL_STATUSES]
    if unknown or not wanted:
        raise UsageError(
            f"--status: unknown status {safe_text(', '.join(unknown)) or 'none'}; use any of "
            + ",".join(ALL_STATUSES)
        )
    return wanted


def _csv_cell(text: str) -> str:
    """Quote a CSV cell that holds a comma, a quote, a CR or a LF (csv.writer leaves a lone CR)."""
    if any(mark in text for mark in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class _Writer:
    """Writes dicts as CSV (formula cells escaped) or JSONL, to one stream."""

    def __init__(self, out: IO[str], fmt: str, columns: Sequence[str], escape: bool) -> None:
        """Write the CSV header; ``escape``: pass each CSV cell through safe_text."""
        self.fmt = fmt
        self.out = out
        self.columns = list(columns)
        self.escape = escape
        self.count = 0
        if fmt == "csv":
            self._line(self.columns)

    def _line(self, cells: Sequence[str]) -> None:
        shown = [escape_formula(safe_text(c) if self.escape else c) for c in cells]
        self.out.write(",".join(_csv_cell(c) for c in shown) if shown != [""] else '""')
        self.out.write("\n")

    def write_cells(self, cells: Sequence[str]) -> None:
        """Write one CSV record as these cells, however many the header has."""
        self.count += 1
        self._line(cells)

    def write(self, row: dict[str, Any]) -> None:
        """Write one record (CSV: the columns' values; JSON values as JSON text)."""
        self.count += 1
        if self.fmt == "jsonl":
            self.out.write(json_text(row) + "\n")
            return
        cells = []
        for name in self.columns:
            value = row.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, str):
                cells.append(value)
            else:
                cells.append(json.dumps(value, ensure_ascii=False))
        self._line(cells)


def export_rows(ledger: Ledger, statuses: Sequence[str], fmt: str, out: IO[str]) -> int:
    """Write the ledger rows with ``statuses``; return how many."""
    writer = _Writer(out, fmt, Ledger.EXPORT_COLUMNS, escape=True)
    for values in ledger.export_rows(statuses):
        writer.write(dict(zip(Ledger.EXPORT_COLUMNS, values, strict=True)))
    return writer.count


def _error_text(status: str, http: Any, code: Any, detail: Any, request_id: Any) -> str:
    parts = [status]
    if http:
        parts.append(str(http))
    if code:
        parts.append(str(code))
    text = " ".join(parts)
    if detail:
        text += f": {detail}"
    if request_id:
        text += f" (request_id {request_id})"
    return safe_text(redact_urls_in(text))


def _clean(value: Any) -> Any:
    """Return a value as it may be written: every URL's query string redacted, at any depth."""
    if isinstance(value, str):
        return redact_urls_in(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _flatten(name: str, item: Row) -> dict[str, Any]:
    """Return a JSONL record with nested objects as dotted keys; refuse a key met twice."""
    flat: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for inner, nested in value.items():
                put(f"{key}.{inner}", nested)
            return
        if key in flat:
            raise UsageError(
                f"--format csv: {name} line {item.line}: two fields become the CSV column "
                f"'{safe_text(key)}'; export this manifest with --format jsonl"
            )
        flat[key] = value

    for key, value in item.fields.items():
        put(key, value)
    return flat


def _sources(
    ledger: Ledger, names: Sequence[str], manifest: Path | None, config: Path | None
) -> Iterator[tuple[str, str, Path | None]]:
    """Yield (name in the ledger, manifest path, config path) for each manifest to read."""
    if manifest is not None:
        if len(names) > 1:
            raise UsageError(
                f"--manifest: the rows come from {len(names)} manifests "
                f"({', '.join(names)}); export them one at a time with --status, "
                "or leave --manifest out"
            )
        yield (names[0] if names else str(manifest)), str(manifest), config
        return
    for name in names:
        run = ledger.latest_run_of(name)
        path = run["manifest_path"] if run else None
        if not path or not Path(path).exists():
            raise UsageError(
                f"cannot find the manifest '{name}' that these rows came from"
                + (f" (it was at {path})" if path else "")
                + "; pass --manifest PATH"
            )
        config_path = config
        if config_path is None and run and run["config_path"]:
            config_path = Path(run["config_path"])
        yield name, path, config_path


def _picked(
    ledger: Ledger,
    sources: Sequence[tuple[str, str, Path | None]],
    wanted: dict[str, tuple[str, str]],
    statuses: Sequence[str],
) -> Iterator[tuple[str, Row, str]]:
    """Yield (manifest name, record, error) of each source record to write, in file order."""
    shard = parse_shard(ledger.shard) if ledger.shard else None
    for name, path, config_path in sources:
        config = load_config(config_path)
        files_root = ledger_settings({}, os.environ, config, "files_root").files_root
        with open_manifest(path) as source:
            mapper = Mapper(
                config.mapping,
                strip_cells=source.format not in NESTED_FORMATS,
                files_root=files_root,
            )
            rows = RowSource(
                source,
                mapper,
                shard=(shard.index, shard.count) if shard else None,
                fingerprints=False,
            )
            records = iter(rows)
            while chunk := list(islice(records, 1000)):
                known = ledger.lookup([i.external_id for i in chunk if i.external_id])
                for item in chunk:
                    eid = item.external_id
                    if eid is not None and item.first_line is None:
                        found = wanted.get(eid)
                        if found is not None and found[0] == name:
                            yield name, item, found[1]
                            continue
                        if eid in known:
                            continue  # in the ledger, with a status not asked for
                    if "invalid" not in statuses:
                        continue
                    # Not in the ledger: no external_id, a repeated one, or not reached yet.
                    if rows.check(item).valid:
                        continue
                    problems = "; ".join(f"{p.field or 'row'}: {p.message}" for p in item.problems)
                    error = f"invalid: line {item.line}: {problems}"
                    yield name, item, safe_text(redact_urls_in(error))


def export_manifest(
    ledger: Ledger,
    statuses: Sequence[str],
    fmt: str | None,
    out: IO[str],
    *,
    manifest: Path | None = None,
    config: Path | None = None,
    escape: bool = False,
) -> int:
    """Write the manifest records of rows with ``statuses``, plus ``ae_import_error``."""
    wanted: dict[str, tuple[str, str]] = {}  # external_id -> (manifest name, error)
    names: list[str] = []
    for row in ledger.export_rows(statuses):
        (eid, status, _eng, http, _att, code, detail, request_id, name, _line, _when) = row
        wanted[eid] = (name, _error_text(status, http, code, detail, request_id))
        if name not in names:
            names.append(name)
    sources = list(_sources(ledger, names, manifest, config))
    columns: list[str] = []
    formats: list[str] = []
    for _name, path, config_path in sources:
        reading = load_config(config_path).mapping.reading
        with open_manifest(path, reading=reading) as source:
            formats.append(source.format)
            columns += [c for c in source.columns or () if c not in columns]
    if fmt is None:
        fmt = "jsonl" if formats and all(f in NESTED_FORMATS for f in formats) else "csv"
    flat = fmt == "csv" and any(f in NESTED_FORMATS for f in formats)
    if flat:  # the CSV header needs every field of the records first
        for name, item, _error in _picked(ledger, sources, wanted, statuses):
            columns += [c for c in _flatten(name, item) if c not in columns]
    columns = [c for c in columns if c != EXPORT_ERROR_COLUMN]
    writer = _Writer(out, fmt, [*columns, EXPORT_ERROR_COLUMN], escape)
    for name, item, error in _picked(ledger, sources, wanted, statuses):
        if item.cells is not None and fmt == "csv":  # cells that never lined up: as read
            writer.write_cells([*_clean(list(item.cells)), error])
            continue
        fields = _flatten(name, item) if flat else item.fields
        writer.write({**_clean(fields), EXPORT_ERROR_COLUMN: error})
    return writer.count


def _refuse_an_input(
    out: Path, ledger: Ledger, ledger_path: Path, manifest: Path | None, config: Path | None
) -> None:
    """Refuse ``-o`` naming a file export reads: the ledger, a manifest or a config of its runs."""
    inputs = [ledger_path, *(Path(f"{ledger_path}{end}") for end in ("-wal", "-shm", ".lock"))]
    inputs += [path for path in (manifest, config) if path is not None]
    for run in ledger.runs(last=1000):
        inputs += [Path(run[key]) for key in ("manifest_path", "config_path") if run.get(key)]
    target = out.resolve()
    for path in inputs:
        if path.resolve() == target or (
            target.exists() and path.exists() and os.path.samefile(path, target)
        ):
            raise UsageError(
                f"-o {safe_text(str(out))}: that is a file export reads ({safe_text(str(path))}); "
                "write the export to another file"
            )


@contextlib.contextmanager
def _replacing(out: Path) -> Iterator[IO[str]]:
    """Write to a temporary file beside ``out``; put it in place only once it is whole."""
    if not out.parent.is_dir():
        raise UsageError(
            f"-o {safe_text(str(out))}: no such directory {safe_text(str(out.parent))}"
        )
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def export(
    ledger_path: Path,
    statuses: str | None,
    fmt: str | None,
    out: Path | IO[str],
    as_manifest: bool = False,
    manifest: Path | None = None,
    config: Path | None = None,
) -> int:
    """Run ``ae-import export``: check the options, open the ledger, write; return the count."""
    if fmt is not None and fmt not in ("csv", "jsonl"):
        raise UsageError(f"--format: '{fmt}' is not csv or jsonl")
    wanted = parse_statuses(statuses, MANIFEST_STATUSES if as_manifest else STATUSES)
    if not ledger_path.exists():
        raise UsageError(f"{ledger_path}: no such ledger; pass --ledger PATH")
    ledger = Ledger(ledger_path, None, create=False)
    try:
        with contextlib.ExitStack() as stack:
            stream: IO[str]
            if isinstance(out, Path):
                _refuse_an_input(out, ledger, ledger_path, manifest, config)
                stream = stack.enter_context(_replacing(out))
                terminal = False
            else:
                stream = out
                terminal = stream.isatty()
            if as_manifest:
                return export_manifest(
                    ledger,
                    wanted,
                    fmt,
                    stream,
                    manifest=manifest,
                    config=config,
                    escape=terminal,
                )
            return export_rows(ledger, wanted, fmt or "csv", stream)
    finally:
        ledger.close()
