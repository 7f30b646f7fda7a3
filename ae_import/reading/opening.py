"""Opening a manifest: its format (by name, else by its first bytes), and the stream to read.

One door for every command. CSV, TSV and JSONL are read as a stream of text; JSON
arrays as a stream too; a workbook or a Parquet file needs a file it can seek in, so
one that arrives from stdin, inside a ``.gz`` or inside a ``.zip`` is first copied to a
temporary file (removed on close). A ``.zip`` holds one manifest (``archive``).
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ae_import.errors import ManifestError

from .archive import MAX_UNPACKED, check_zip, zip_member
from .manifest import Manifest, ReadingConfig

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "NESTED_FORMATS",
    "detect_format",
    "manifest_stem",
    "open_manifest",
]

FORMATS = ("csv", "tsv", "jsonl", "json", "excel", "parquet")
NESTED_FORMATS = ("jsonl", "json", "parquet")  # records are objects, not rows of text cells
FORMAT_NAMES = {
    "csv": "CSV",
    "tsv": "TSV",
    "jsonl": "JSONL",
    "json": "JSON",
    "excel": "Excel",
    "parquet": "Parquet",
}
_ALIASES = {"ndjson": "jsonl", "xlsx": "excel", "xls": "excel", "ods": "excel"}
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SNIFF_BYTES = 512  # bytes looked at to tell the format when the name does not
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and other old Office files)
_ZIP = b"PK\x03\x04"
_SEEKING = ("excel", "parquet")
_USE = "csv, tsv, jsonl, json, excel or parquet"


def sniff_format(head: bytes) -> str:
    """Tell a manifest's format from its first bytes.

    A workbook (zip or OLE2 signature) is excel, ``PAR1`` parquet, another zip ``zip``; text
    starting with ``[`` is a JSON array, with ``{`` JSONL (or JSON when the first line
    holds ``{`` alone: a pretty-printed object); anything else CSV. Byte-order marks, NUL
    bytes (UTF-16) and blank space before the first character are passed over.
    """
    if head.startswith(_OLE2):
        return "excel"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(_ZIP):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0].replace(b"\x00", b"").strip()
        return "json" if first == b"{" else "jsonl"
    return "csv"


def _binary_kind(head: bytes) -> str | None:
    """Name what a file that is not text is (a workbook, Parquet, a zip), from its first bytes."""
    if head.startswith(_OLE2):
        return "an Excel workbook (.xls)"
    if head.startswith(_ZIP):
        return "a zip (an .xlsx or .ods workbook, or a .zip)"
    if head.startswith(b"PAR1"):
        return "a Parquet file"
    return None


def detect_format(name: str, forced: str | None, head: bytes | None = None) -> str:
    """Return the format of manifest ``name``: ``forced`` when given, else from the extension.

    With ``head`` (the file's first bytes), a name that does not say is read by content,
    and a text format forced on a binary file is refused. ``zip`` is returned for a zip
    that is not a workbook (the manifest inside it decides).
    """
    if forced is not None:
        fmt = forced.lower()
        fmt = _ALIASES.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ManifestError(f"unknown --format '{forced}'; use {_USE}")
        kind = _binary_kind(head or b"")
        if fmt in ("csv", "tsv", "jsonl", "json") and kind is not None:
            raise ManifestError(
                f"{name}: --format {fmt}, but the file is {kind}, not text; "
                "leave --format out, or pass the format the file has"
            )
        return fmt
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] == ".zip":
        return "zip"
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    if head is not None:
        return sniff_format(head)
    raise ManifestError(f"{name}: cannot tell the format from the file name; pass --format {_USE}")


def manifest_stem(name: str) -> str:
    """Return a manifest's file name without its format and packing suffixes (``a.csv.gz``: a)."""
    stem = Path(name).name
    suffixes = (*_EXTENSIONS, ".gz", ".zip", ".txt")
    while cut := next((s for s in suffixes if stem.lower().endswith(s)), ""):
        stem = stem[: -len(cut)]
    return stem


def _spool(stream: IO[bytes], suffix: str) -> Path:
    """Copy ``stream`` to a new temporary file (at most ``MAX_UNPACKED`` bytes); return its path."""
    handle, where = tempfile.mkstemp(prefix="ae-import-", suffix=suffix)
    path = Path(where)
    try:
        with os.fdopen(handle, "wb") as out:
            copied = 0
            while chunk := stream.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_UNPACKED:
                    raise ManifestError(
                        f"more than {MAX_UNPACKED >> 30} GiB unpacked; refused as a possible "
                        "bomb: unpack it yourself if you trust it"
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _removing(path: Path) -> Callable[[], None]:
    return lambda: path.unlink(missing_ok=True)


def _zip_kind(path_or_stream: Path | IO[bytes]) -> str:
    """Tell a workbook zip (xlsx, ods) from a zip that holds a manifest."""
    try:
        with zipfile.ZipFile(path_or_stream) as archive:
            names = set(archive.namelist()[:10_000])
    except (zipfile.BadZipFile, OSError, EOFError):
        return "excel"  # a cut workbook: the Excel reader says it cannot be read
    if "xl/workbook.xml" in names or "content.xml" in names or "xl/workbook.bin" in names:
        return "excel"
    return "zip"


def _open_file(name: str) -> IO[bytes]:
    path = Path(name)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ManifestError(f"{name}: no such file; check the manifest path") from None
    except IsADirectoryError:
        raise ManifestError(f"{name}: is a directory; pass a manifest file") from None
    except OSError as exc:
        raise ManifestError(f"{name}: cannot read the manifest: {exc.strerror}") from None


def _from_zip(
    name: str,
    path: Path,
    forced: str | None,
    max_record: int | None,
    reading: ReadingConfig | None,
    cleanup: list[Callable[[], None]],
) -> Manifest:
    """Open the one manifest inside the zip at ``path``."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ManifestError(
            f"{name}: zip: cannot read it ({exc}); is it whole? Download or zip it again"
        ) from None
    cleanup.append(archive.close)
    member = zip_member(name, archive)
    inner = member.filename
    packed = inner.lower().endswith(".gz")

    def member_stream() -> IO[bytes]:
        stream: IO[bytes] = archive.open(member)
        if packed:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        return stream

    try:
        stream = member_stream()
        head = stream.read(_SNIFF_BYTES)
        stream.close()
        fmt = detect_format(inner, forced, head)
        if fmt == "zip":
            raise ManifestError(f"{name}: zip: holds another zip ('{inner}'); unzip it first")
        if fmt in _SEEKING:
            with member_stream() as source:
                spooled = _spool(source, Path(inner.removesuffix(".gz")).suffix)
            cleanup.append(_removing(spooled))
            return Manifest(
                name,
                fmt,
                spooled.open("rb"),
                True,
                max_record,
                reading,
                path=spooled,
                cleanup=cleanup,
            )
        return Manifest(
            name,
            fmt,
            member_stream(),
            True,
            max_record,
            reading,
            reopen=member_stream,
            cleanup=cleanup,
        )
    except (OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise ManifestError(f"{name}: zip: cannot read '{inner}' ({exc})") from None


def open_manifest(
    name: str,
    forced_format: str | None = None,
    *,
    max_record: int | None = None,
    reading: ReadingConfig | None = None,
) -> Manifest:
    """Open the manifest ``name`` (``-`` for stdin; ``.gz`` through gzip; ``.zip`` holding one).

    ``max_record`` is the most bytes one record may hold (``MAX_RECORD_BYTES``);
    ``reading`` is the mapping's ``manifest:`` section (else ``RowSource`` gives it, or
    the file is read with the defaults: encoding auto, delimiter detected).
    """
    cleanup: list[Callable[[], None]] = []
    try:
        return _open(name, forced_format, max_record, reading, cleanup)
    except BaseException:
        for step in reversed(cleanup):
            step()
        raise


def _open(
    name: str,
    forced: str | None,
    max_record: int | None,
    reading: ReadingConfig | None,
    cleanup: list[Callable[[], None]],
) -> Manifest:
    if name == "-":
        stdin: IO[bytes] = sys.stdin.buffer
        peek = getattr(stdin, "peek", None)
        head = peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if peek is not None else b""
        fmt = detect_format("-", forced, head)
        if fmt not in (*_SEEKING, "zip", "json"):
            return Manifest("<stdin>", fmt, stdin, False, max_record, reading)
        spooled = _spool(stdin, ".zip" if fmt == "zip" else "")
        cleanup.append(_removing(spooled))
        return _open_path("<stdin>", spooled, fmt, forced, max_record, reading, cleanup)
    raw = _open_file(name)
    cleanup.append(raw.close)
    try:
        if name.lower().endswith(".gz"):
            packed: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            head = packed.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
            fmt = detect_format(name, forced, head)
            if fmt in (*_SEEKING, "zip"):
                spooled = _spool(packed, "")
                cleanup.append(_removing(spooled))
                return _open_path(name, spooled, fmt, forced, max_record, reading, cleanup)

            def reopen() -> IO[bytes]:
                return gzip.GzipFile(fileobj=Path(name).open("rb"), mode="rb")  # type: ignore[return-value]

            cleanup.remove(raw.close)
            return Manifest(name, fmt, packed, True, max_record, reading, reopen=reopen)
        head = raw.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
        fmt = detect_format(name, forced, head)
    except (OSError, EOFError) as exc:
        raise ManifestError(f"{name}: cannot read the manifest: {exc}") from None
    if fmt in (*_SEEKING, "zip"):
        return _open_path(name, Path(name), fmt, forced, max_record, reading, cleanup, raw)
    cleanup.remove(raw.close)
    return Manifest(name, fmt, raw, True, max_record, reading, reopen=lambda: Path(name).open("rb"))


def _open_path(
    name: str,
    path: Path,
    fmt: str,
    forced: str | None,
    max_record: int | None,
    reading: ReadingConfig | None,
    cleanup: list[Callable[[], None]],
    raw: IO[bytes] | None = None,
) -> Manifest:
    """Open a manifest held in a file one can seek in: a workbook, Parquet, a zip, spooled JSON."""
    named_zip = name.lower().removesuffix(".gz").endswith(".zip")
    if fmt == "zip" and forced is None and not named_zip:
        fmt = _zip_kind(path)  # found by its bytes: a workbook, or a zip of manifests
    if fmt == "zip":
        return _from_zip(name, path, forced, max_record, reading, cleanup)
    if fmt == "excel":
        try:
            with zipfile.ZipFile(path) as book:
                check_zip(name, book, "Excel")
        except (zipfile.BadZipFile, OSError, EOFError):
            pass  # .xls (OLE2), or a cut workbook: the Excel reader says so
    stream = raw if raw is not None else path.open("rb")
    if raw is None:
        cleanup.append(stream.close)
    return Manifest(
        name,
        fmt,
        stream,
        True,
        max_record,
        reading,
        path=path,
        reopen=lambda: path.open("rb"),
        cleanup=cleanup,
    )
