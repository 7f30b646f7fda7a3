"""What ``ae-import init`` learns from a manifest's first rows: encoding, layout, values.

Pure apart from reading the start of one file. The bytes are decoded as the mapping
file's ``manifest: encoding: auto`` would decode them (a byte-order mark, UTF-16, valid
UTF-8, else Windows-1252); an Excel ``sep=X`` first line gives the delimiter, else the
delimiter is sniffed; JSONL objects are flattened to dotted paths (``metaData.id``), a
list of objects kept whole under its path (for ``participants.items``) and its first
item's fields also given as ``path[0].key``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ae_import.errors import ManifestError

from .encoding import utf16_without_bom
from .manifest import detect_format

__all__ = ["SAMPLE_ROWS", "Sample", "decode", "flatten", "read_sample", "sniff_delimiter"]

SAMPLE_ROWS = 200
_READ_BYTES = 4 << 20  # enough for 200 rows of any export; a record may be cut at the end
_DELIMITERS = ",;\t|"
_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class Sample:
    """The first rows of a manifest and how they were read."""

    name: str
    format: str
    encoding: str = "utf-8"
    encoding_reason: str = ""
    delimiter: str | None = None
    delimiter_reason: str = ""
    sep_line: bool = False
    skip_lines: int = 0
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0  # sampled records that could not be read (bad JSON, not an object)
    format_from_content: bool = False  # the file name did not say: validate needs --format

    def values(self, column: str) -> list[Any]:
        """Return the present values of ``column`` in the sampled rows (empty cells left out)."""
        found = []
        for row in self.rows:
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            found.append(value.strip() if isinstance(value, str) else value)
        return found


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def decode(raw: bytes, whole: bool) -> tuple[str, str, str]:
    """Decode the start of a file: return (text, codec, why that codec).

    ``whole`` says ``raw`` is the entire file (else a multi-byte character may be cut at
    its end, and is dropped).
    """
    boms = (
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 (its byte-order mark)"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 (its byte-order mark)"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 (its byte-order mark)"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 (its byte-order mark)"),
    )
    for bom, codec, why in boms:
        if raw.startswith(bom):
            return _decode(raw, codec, whole), codec, why
    bare = utf16_without_bom(raw)
    if bare is not None:
        return _decode(raw, bare, whole), bare, "UTF-16 without a byte-order mark (NUL bytes)"
    try:
        return _decode(raw, "utf-8", whole, strict=True), "utf-8", "valid UTF-8"
    except UnicodeDecodeError as exc:
        byte, line = raw[exc.start], _line_of(raw, exc.start)
    why = f"byte 0x{byte:02X} on line {line} is not UTF-8"
    try:
        return _decode(raw, "cp1252", whole, strict=True), "cp1252", why
    except UnicodeDecodeError:
        return _decode(raw, "latin-1", whole), "latin-1", why + ", nor Windows-1252"


def _decode(raw: bytes, codec: str, whole: bool, strict: bool = False) -> str:
    decoder = codecs.getincrementaldecoder(codec)("strict" if strict else "replace")
    text: str = decoder.decode(raw, final=whole)
    return text


def sniff_delimiter(lines: list[str]) -> tuple[str, str]:
    """Return the delimiter of CSV ``lines`` (header first) and how it was found.

    csv.Sniffer reads the lines first; its answer is kept when it splits the header
    into as many fields as most rows. Otherwise the candidate that does so with the
    most fields wins, and at last the one the header holds most of (as the reader does).
    """
    text = "".join(lines)
    counts = _field_counts(text)
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in counts and counts[sniffed][0]:
        return sniffed, f"csv.Sniffer, {counts[sniffed][1]} fields a row"
    consistent = [(fields, d) for d, (ok, fields) in counts.items() if ok and fields > 1]
    if consistent:
        fields, best = max(consistent)
        return best, f"{fields} fields in every row"
    header = lines[0] if lines else ""
    best = max(_DELIMITERS, key=header.count)
    if not header.count(best):
        return ",", "no delimiter found in the header: one column"
    return best, f"the header holds {header.count(best)} of them"


def _field_counts(text: str) -> dict[str, tuple[bool, int]]:
    """For each candidate, whether most records have the header's field count, and that count."""
    found = {}
    for delimiter in _DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if len(records) < 1:
            continue
        width = len(records[0])
        body = records[1:-1] if len(records) > 2 else records[1:]  # the last may be cut
        same = sum(len(r) == width for r in body)
        found[delimiter] = (width > 1 and (not body or same >= 0.9 * len(body)), width)
    return found


def flatten(
    value: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Flatten a JSON object to dotted paths; lists of objects stay whole, plus ``[0]`` paths."""
    flat: dict[str, Any] = {} if out is None else out
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict):
            flatten(item, path + ".", flat)
        elif isinstance(item, list):
            flat[path] = item
            if item and isinstance(item[0], dict):
                flatten(item[0], path + "[0].", flat)
            elif item and not isinstance(item[0], list):
                flat[path + "[0]"] = item[0]
        else:
            flat[path] = item
    return flat


def _open_bytes(path: Path) -> tuple[bytes, bool]:
    """Return the first bytes of ``path`` (through gzip for .gz) and whether that is all of it."""
    try:
        with path.open("rb") as handle:
            if path.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=handle) as unzipped:
                    raw = unzipped.read(_READ_BYTES + 1)
            else:
                raw = handle.read(_READ_BYTES + 1)
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file; check the manifest path") from None
    except IsADirectoryError:
        raise ManifestError(f"{path}: is a directory; pass a CSV or JSONL file") from None
    except (OSError, EOFError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc}") from None
    return raw[:_READ_BYTES], len(raw) <= _READ_BYTES


def _format(name: str, forced: str | None, text: str) -> tuple[str, bool]:
    """Return the format from --format, the extension, or else the content (and True then)."""
    try:
        return detect_format(name, forced), False
    except ManifestError:
        if forced is not None:
            raise
    start = text.lstrip("\ufeff \t\r\n")[:1]
    return ("jsonl" if start == "{" else "csv"), True


def read_sample(name: str, forced_format: str | None = None, limit: int = SAMPLE_ROWS) -> Sample:
    """Read the first ``limit`` records of manifest ``name`` and say how they were read."""
    raw, whole = _open_bytes(Path(name))
    if not raw.strip():
        raise ManifestError(f"{name}: the file is empty; init needs a header row or a record")
    text, codec, why = decode(raw, whole)
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise ManifestError(f"{name}: holds NUL bytes: this is not a text manifest")
    fmt, from_content = _format(name, forced_format, text)
    sample = Sample(name=name, format=fmt, format_from_content=from_content)
    sample.encoding, sample.encoding_reason = codec, why
    lines = text.splitlines(keepends=True)
    if not whole and lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut by the read: not a whole line
    if sample.format == "jsonl":
        _read_jsonl(sample, lines, limit)
    else:
        _read_csv(sample, lines, limit)
    return sample


def _read_jsonl(sample: Sample, lines: list[str], limit: int) -> None:
    seen: dict[str, None] = {}
    for line in lines:
        if not line.strip():
            continue
        if len(sample.rows) >= limit:
            break
        try:
            value = json.loads(line)
        except ValueError:
            sample.unreadable += 1
            continue
        if not isinstance(value, dict):
            sample.unreadable += 1
            continue
        flat = flatten(value)
        seen.update(dict.fromkeys(flat))
        sample.rows.append(flat)
    if not sample.rows:
        raise ManifestError(f"{sample.name}: no JSON object in its first lines; is it JSONL?")
    sample.columns = list(seen)


def _read_csv(sample: Sample, lines: list[str], limit: int) -> None:
    if lines and (match := _SEP_LINE.match(lines[0])):
        sample.sep_line = True
        sample.delimiter = match.group(1)
        sample.delimiter_reason = f"the first line, sep={match.group(1)}, as Excel writes it"
        lines = lines[1:]
    if sample.delimiter is None:
        if sample.format == "tsv":
            sample.delimiter, sample.delimiter_reason = "\t", "a .tsv file"
        else:
            head = [line for line in lines[:50] if line.strip()]
            sample.delimiter, how = sniff_delimiter(_after_preamble(head))
            sample.delimiter_reason = f"{_NAMES.get(sample.delimiter, sample.delimiter)}: {how}"
    sample.skip_lines = _preamble(lines, sample.delimiter)
    body = lines[sample.skip_lines :]
    records: Iterator[list[str]] = csv.reader(body, delimiter=sample.delimiter)
    try:
        header = next(records)
    except (StopIteration, csv.Error):
        raise ManifestError(
            f"{sample.name}: no header row; a CSV manifest starts with one"
        ) from None
    sample.columns = [h.strip() for h in header]
    width = len(header)
    try:
        for record in records:
            if len(sample.rows) >= limit:
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != width:
                sample.unreadable += 1
                continue
            sample.rows.append(dict(zip(sample.columns, record, strict=True)))
    except csv.Error:
        sample.unreadable += 1


def _preamble(lines: list[str], delimiter: str) -> int:
    """Count the lines before the header: the first ones, up to 10, without the delimiter."""
    for index, line in enumerate(lines[:10]):
        if delimiter in line:
            return index
    return 0


def _after_preamble(lines: list[str]) -> list[str]:
    """Drop title lines that hold none of the candidate delimiters (report exports)."""
    for index, line in enumerate(lines[:10]):
        if any(d in line for d in _DELIMITERS):
            return lines[index:]
    return lines
