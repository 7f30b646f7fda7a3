"""The core of ``ae-import validate``: every row checked locally, and with --check-media its media.

``ValidationReport`` collects the checked rows: counts, every problem (spooled to disk
past a megabyte, so a million bad rows take no memory), and the first request bodies
as they would be sent, their media URL's query redacted. The command renders it.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any

from ae_import.config import Config
from ae_import.ledger import Ledger
from ae_import.mapping import Mapper, check_rows
from ae_import.media import CloudConfig, Forecast, MediaAuth, MediaCheck, Signer, check_all
from ae_import.net import network_for
from ae_import.options import RunSettings
from ae_import.reading import NESTED_FORMATS, open_manifest
from ae_import.records import Row
from ae_import.redact import redact_url
from ae_import.staging import MediaSources
from ae_import.text import json_text

__all__ = [
    "MAX_TABLE_ROWS",
    "VALIDATE_OPTIONS",
    "ValidationReport",
    "check_manifest",
    "shown_body",
    "validate_manifest",
]

MAX_TABLE_ROWS = 1000
# The options of run that validate takes too (flags, env and config, resolved as run does).
VALIDATE_OPTIONS = (
    *("check_media", "rate", "media_concurrency", "media_timeout", "media_allow_private"),
    *("max_rows", "limit", "max_duration", "files_root"),
    *("proxy", "no_proxy", "ca_bundle", "system_certs"),
    *("stage_to", "stage_all"),
)


def shown_body(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` as it may be shown: the media URL's query string redacted."""
    url = body.get("media_url")
    if isinstance(url, str):
        return {**body, "media_url": redact_url(url)}
    return body


@dataclass
class ValidationReport:
    """What validate found: counts, every problem (spooled), the first request bodies."""

    show_requests: int = 0
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    problem_count: int = 0
    table_rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _spool: IO[str] | None = None

    def __post_init__(self) -> None:
        """Open the spool that holds problems beyond memory's comfort, for --json."""
        self._spool = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8")

    def add(self, row: Row) -> None:
        """Count one checked row and keep what the report shows of it."""
        self.rows += 1
        if row.valid:
            self.valid += 1
            if len(self.requests) < self.show_requests and row.body is not None:
                self.requests.append(shown_body(row.body))
            return
        self.invalid += 1
        assert self._spool is not None
        for problem in row.problems:
            self.problem_count += 1
            item = {
                "line": row.line,
                "row": row.line if row.sheet_row is None else row.sheet_row,
                "external_id": row.external_id,
                "field": problem.field or None,
                "column": problem.column,
                "code": problem.code,
                "message": problem.message,
            }
            self._spool.write(json_text(item))
            self._spool.write("\n")
            if len(self.table_rows) < MAX_TABLE_ROWS:
                where = problem.field or "(row)"
                if problem.column and problem.column != problem.field:
                    where += f" ({problem.column})"
                line = str(row.line)
                if row.sheet_row is not None:  # where a spreadsheet user finds it
                    line += f" (row {row.sheet_row})"
                self.table_rows.append((line, row.external_id or "", where, problem.message))

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
        out.write(json_text(head)[:-1] + ', "problems": [')
        assert self._spool is not None
        self._spool.seek(0)
        for index, line in enumerate(self._spool):
            out.write(("" if index == 0 else ", ") + line.rstrip("\n"))
        out.write("]")
        if self.show_requests:
            out.write(', "requests": ' + json_text(self.requests))
        out.write("}\n")

    def problems(self) -> Iterator[dict[str, Any]]:
        """Yield every problem found, as ``--json`` lists them (line, external_id, field...)."""
        assert self._spool is not None
        self._spool.seek(0)
        for line in self._spool:
            yield json.loads(line)
        self._spool.seek(0, os.SEEK_END)

    def close(self) -> None:
        """Drop the spool."""
        if self._spool is not None:
            self._spool.close()


def check_manifest(
    rows: Iterable[Row],
    add: Callable[[Row], None],
    settings: RunSettings,
    cloud: CloudConfig,
    env: Mapping[str, str],
    column: str | None = None,
    auth: MediaAuth | None = None,
) -> None:
    """``validate --check-media``: check every valid row's media, caching in run's ledger.

    The ledger is the one ``run`` would use with the same settings (created if need be,
    bound to no target). The forecast starts now, at ``settings.rate``, with the budgets
    of ``--max-rows``/``--limit`` and ``--max-duration``.
    """
    budget = settings.row_budget
    forecast = Forecast(
        datetime.now(UTC),
        settings.rate,
        budget[0] if budget else None,
        settings.max_duration,
    )
    network = network_for(settings, env)
    ledger = Ledger(settings.ledger_path, None)

    async def go() -> None:
        check = MediaCheck(
            concurrency=settings.media_concurrency,
            timeout_s=settings.media_timeout,
            allow_private=settings.media_allow_private,
            ledger=ledger,
            signer=Signer(cloud, env, network=network),
            network=network,
            auth=auth,
            env=env,
        )
        try:
            await check_all(rows, check, forecast, add, column)
        finally:
            await check.aclose()

    try:
        asyncio.run(go())
    finally:
        ledger.close()


def validate_manifest(
    manifest: str,
    fmt: str | None,
    config: Config,
    add: Callable[[Row], None],
    *,
    run_workflows: bool = False,
    settings: RunSettings | None = None,
    env: Mapping[str, str] = os.environ,
    limit: int | None = None,
) -> str | None:
    """Check every row of ``manifest`` (the first ``limit``) and hand each to ``add``, in order.

    ``settings`` give ``--files-root``, and with ``check_media`` on, each valid row's media
    is checked too, as ``run --check-media`` would. Return the note on the encoding that
    ``auto`` chose, if it was not plain UTF-8.
    """
    with open_manifest(manifest, fmt) as source:
        mapper = Mapper(
            config.mapping,
            run_workflows=run_workflows,
            strip_cells=source.format not in NESTED_FORMATS,
            files_root=settings.files_root if settings is not None else None,
        )
        target = settings.stage_to if settings is not None else None
        everything = settings.stage_all if settings is not None else False
        sources = MediaSources(config.media_auth, env, target=target, stage_all=everything)
        rows: Iterable[Row] = check_rows(source, mapper, media_rule=sources.claim)
        if limit is not None:
            rows = islice(rows, limit)
        if settings is not None and settings.check_media:
            column = mapper.column_of("media_url")
            check_manifest(rows, add, settings, config.cloud, env, column, config.media_auth)
        else:
            for row in rows:
                add(row)
        return source.encoding_note
