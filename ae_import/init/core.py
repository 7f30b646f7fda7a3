"""The core of ``ae-import init``: a commented mapping file written from a manifest itself.

It reads the first rows (``init_read``), recognises the export by its headers
(``init_exports``), guesses each field and participant (``init_guess``, ``init_people``)
and writes YAML text with a comment on every guess (``init_yaml``); each required field
it could not fill is a commented TODO. It never overwrites a file without ``force``.
Then it validates the first 1,000 rows with the file it wrote, as ``validate`` would,
and prints the summary and the most frequent problems.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ae_import.errors import UsageError
from ae_import.mapping import check_zone
from ae_import.reading import Sample, manifest_stem, read_sample
from ae_import.records import Row
from ae_import.text import safe_text

from .exports import Export, recognise
from .guess import Guesser, Line
from .people import find_people
from .values import Stamps, dst_edge, is_nanp, is_national
from .yaml_text import comment_block, intended, reads_back, render_section

__all__ = ["CHECK_ROWS", "Checked", "check_mapping", "mapping_text", "run_init"]

CHECK_ROWS = 1000
_TOP_PROBLEMS = 5
_ORDER = (
    "external_id",
    "title",
    "type",
    "media_url",
    "start_at",
    "is_private",
    "transcript_text",
)
_ENCODING_NAMES = {
    "cp1252": "Windows-1252, as Excel saves CSV on Windows",
    "latin-1": "Latin-1",
    "utf-16": "as Excel saves Unicode Text",
}


@dataclass
class Written:
    """The text of a mapping file, and the TODOs left in it."""

    text: str
    todos: list[str] = field(default_factory=list)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "source"


def _manifest_lines(sample: Sample) -> list[Line]:
    lines = []
    if sample.encoding not in ("utf-8", "utf-8-sig"):
        name = _ENCODING_NAMES.get(sample.encoding, "")
        why = f"{sample.encoding_reason}: {name}" if name else sample.encoding_reason
        lines.append(Line("encoding", sample.encoding, why))
    default = "\t" if sample.format == "tsv" else ","
    if sample.format != "jsonl" and sample.delimiter not in (None, default):
        lines.append(Line("delimiter", sample.delimiter, sample.delimiter_reason))
    if sample.skip_lines:
        lines.append(Line("skip_lines", sample.skip_lines, "title lines before the header"))
    if sample.sheet is not None:
        lines.append(Line("sheet", sample.sheet, "the workbook's first visible sheet"))
    if sample.records:
        lines.append(Line("records", sample.records, sample.records_note or "the records' array"))
    return lines


def _timezone_line(
    stamps: Stamps | None, column: str | None, timezone: str | None, zone: str | None = None
) -> Line | None:
    naive = stamps is not None and stamps.naive and not stamps.utc
    if naive and zone is not None:
        default = timezone or "UTC"
        why = f"each row's zone is in {zone}; {column} has no UTC offset"
        why += "; rows without one: --timezone" if timezone else "; rows without one are UTC"
        return Line("timezone", {"column": zone, "default": default}, why)
    if timezone is not None:
        why = f"{column} has no UTC offset" if naive else "for timestamps without an offset"
        return Line("timezone", timezone, f"--timezone; {why}")
    if naive:
        return Line(
            "timezone",
            None,
            f"{column} has no UTC offset, so it is read as UTC until you set the zone the "
            "export was written in (timezone: America/New_York), or pass --timezone to init",
            todo=True,
        )
    return None


def _ambiguous_line(
    sample: Sample, column: str | None, stamps: Stamps | None, zone: str
) -> Line | None:
    """Say ``ambiguous: earlier`` when a sampled naive time falls in a DST gap or fold."""
    if column is None or stamps is None:
        return None
    edge = dst_edge(sample.values(column), stamps, zoneinfo.ZoneInfo(zone))
    if edge is None:
        return None
    why = (
        f"{edge} is skipped or repeated by a daylight-saving change in {zone}: read as the earlier"
    )
    return Line("ambiguous", "earlier", why)


def _phone_line(phones: list[str]) -> Line | None:
    national = list(dict.fromkeys(p for p in phones if is_national(p)))
    if not national:
        return None
    if all(is_nanp(p) for p in national):
        if len(national) > 1:
            why = f"{len(national)} numbers such as {national[0]} lack their +1"
        else:
            why = f"the number {national[0]} lacks its +1"
        why += ": North American"
        return Line("phone_region", "US", why)
    return Line(
        "phone_region",
        None,
        f"numbers such as {national[0]} lack their country code; set phone_region: to the "
        "country they were dialled in (GB, DE, FR...), or they are problems",
        todo=True,
    )


def mapping_text(
    sample: Sample,
    *,
    timezone: str | None = None,
    source_system: str | None = None,
    config_name: str = "mapping.yaml",
) -> Written:
    """Return the commented mapping file for ``sample`` and the TODOs left in it."""
    export = recognise(sample.columns)
    guess = Guesser(sample, export)
    guess.media_url()
    stamps = guess.start_at()
    guess.external_id()
    guess.type()
    people = find_people(sample, export)
    guess.title(people.contact_name, people.contact_label)
    guess.is_private()
    guess.transcript_text()

    start = guess.used.get("start_at")
    top = [
        line
        for line in (
            _timezone_line(stamps, start, timezone, guess.start.zone),
            _ambiguous_line(sample, start, stamps, timezone) if timezone else None,
            _phone_line(people.phones),
        )
        if line is not None
    ]
    defaults: list[Line] = []
    if source_system is not None:
        defaults.append(Line("source_system", source_system, "--source-system"))
        prefix = f"{_slug(source_system)}:"
    elif export is not None:
        defaults.append(Line("source_system", export.source_system, "the recognised export"))
        prefix = export.prefix
    else:
        slug = _slug(Path(_config_name(sample.name, None)).stem)
        prefix = f"{slug}:"
        why = (
            "no known export recognised: named after the file; change it to the system "
            "these recordings come from (dialer, crm...), and the prefix with it"
        )
        defaults.append(Line("source_system", slug, why))
    if prefix:
        why = "ids are unique workspace-wide: this keeps the source's apart"
        top.append(Line("external_id_prefix", prefix, why))
    columns = [guess.lines[k] for k in _ORDER if k in guess.lines]
    defaults += [line for line in columns if line.section == "defaults"]
    defaults.append(Line("run_workflows", False, "a historical import: no workflows, no emails"))
    columns = [line for line in columns if line.section == "columns"]

    sections = [
        ("manifest", _manifest_lines(sample)),
        (None, top),
        ("defaults", defaults),
        ("columns", columns),
        ("participants", people.lines),
    ]
    out = _head(sample, export, config_name)
    for name, lines in sections:
        out += render_section(name, lines)
    text = "\n".join(out) + "\n"
    if not reads_back(text, intended(sections)):
        raise UsageError(
            f"{safe_text(sample.name)}: the mapping init wrote does not read back as meant, "
            "so it was not written; please report this file's header (a bug)"
        )
    todos = [line.key for line in (*top, *defaults, *columns) if line.todo]
    return Written(text, todos)


def _head(sample: Sample, export: Export | None, config_name: str) -> list[str]:
    name = Path(sample.name).name
    count = len(sample.rows)
    rows = "row" if count == 1 else "rows"
    kind = sample.format.upper()
    out = comment_block(f"ae-import mapping for {name} ({kind}), written by `ae-import init`.")
    if export is not None:
        out += comment_block(f"Recognised: {export.label}.")
        if export.note:
            out += comment_block(f"Note: {export.note}.")
    if sample.unreadable:
        records = "record" if sample.unreadable == 1 else "records"
        out += comment_block(
            f"{sample.unreadable} sampled {records} could not be read (bad JSON, a wrong "
            "number of fields) and did not count: validate says where."
        )
    out += [
        f"# Guessed from its first {count} {rows}; each guess says why. Check them, then run",
        f"#   ae-import validate {safe_text(shlex.quote(name))} "
        f"--config {safe_text(shlex.quote(config_name))}",
    ]
    return out


def _config_name(manifest: str, output: Path | None) -> str:
    if output is not None:
        return output.name
    return f"{manifest_stem(manifest) or 'mapping'}.yaml"


@dataclass
class Checked:
    """What validating the first rows with the written mapping found."""

    summary: str
    invalid: int
    top: list[str]


def check_mapping(manifest: str, fmt: str, config: Path, limit: int = CHECK_ROWS) -> Checked:
    """Validate the first ``limit`` rows of ``manifest`` with ``config``, as validate does."""
    from ae_import.config import load_config
    from ae_import.operations import ValidationReport, validate_manifest

    report = ValidationReport()
    seen: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}

    def add(row: Row) -> None:
        report.add(row)
        for problem in row.problems:
            where = problem.field or "(row)"
            if problem.column and problem.column != problem.field:
                where += f" ({problem.column})"
            key = (where, problem.code)
            seen[key] += 1
            first.setdefault(key, f"line {row.line}: {problem.message}")

    try:
        validate_manifest(manifest, fmt, load_config(config), add, limit=limit)
    finally:
        report.close()
    top = [
        f"{count:>5}  {safe_text(where)}  {code}, first {safe_text(first[(where, code)])}"
        for (where, code), count in seen.most_common(_TOP_PROBLEMS)
    ]
    return Checked(report.summary(), report.invalid, top)


@contextmanager
def _scratch(text: str) -> Iterator[Path]:
    """Yield a temporary file holding ``text`` (for checking a mapping printed to stdout)."""
    with tempfile.TemporaryDirectory(prefix="ae-import-init-") as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_text(text, encoding="utf-8")
        yield path


def _write(path: Path, text: str, force: bool, manifest: str) -> None:
    """Write ``text`` to ``path``: refused when it exists (without ``force``) or is the manifest."""
    if path.exists() and Path(manifest).exists() and path.resolve() == Path(manifest).resolve():
        raise UsageError(f"{path}: is the manifest itself; choose another -o")
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; pass --force to overwrite it, or another -o")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; -o takes a file name")
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def run_init(
    manifest: str,
    *,
    output: Path | None,
    timezone: str | None,
    source_system: str | None,
    force: bool,
    fmt: str | None,
    out: IO[str],
    err: IO[str],
) -> int:
    """Write the mapping of ``manifest`` (to ``output``, else ``out``), check it; return the exit.

    0: the first 1,000 rows are valid with it; 1: some are not (the file is written).
    """
    if timezone is not None:
        wrong = check_zone(timezone)
        if wrong is not None:
            raise UsageError(f"--timezone: {wrong}")
    if source_system is not None and not 1 <= len(source_system.strip()) <= 100:
        raise UsageError("--source-system: give a name of 1 to 100 characters")
    if output is not None and output.exists() and not force:
        raise UsageError(f"{output}: already exists; pass --force to overwrite it, or another -o")
    sample = read_sample(manifest, fmt)
    written = mapping_text(
        sample,
        timezone=timezone,
        source_system=source_system.strip() if source_system else None,
        config_name=_config_name(manifest, output),
    )
    info = out
    if output is None:
        out.write(written.text)
        out.flush()
        info = err
    else:
        _write(output, written.text, force, manifest)
        info.write(f"ae-import: wrote {output}\n")
    if written.todos:
        info.write(f"ae-import: TODO in the mapping: {', '.join(written.todos)}\n")
    try:
        if output is None:
            with _scratch(written.text) as path:
                checked = check_mapping(manifest, sample.format, path)
        else:
            checked = check_mapping(manifest, sample.format, output)
    except UsageError as exc:  # a TODO left: a required field without a column
        info.write(f"ae-import: the mapping cannot be checked yet: {exc.message}\n")
        return 1
    info.write(f"checked with this mapping (the first {CHECK_ROWS:,} rows): {checked.summary}\n")
    if checked.top:
        info.write("top problems:\n" + "".join(f"{line}\n" for line in checked.top))
    return 0 if checked.invalid == 0 else 1
