"""The core of ``ae-import stage``: a manifest's media into the bucket, nothing sent to the API.

Uploading terabytes is the slow part of a backfill; ``stage`` runs it on its own
schedule (a night, a week, a machine near the files). Each valid row whose media is
staged (a local file, a credentialed host, any https URL with ``--stage-all``) goes
through the same stager as ``run --stage-to``, with the same ledger: ``run`` then finds
every object already staged (the ledger's ``staged`` table, checked by HEAD) and
uploads nothing. Rows are read as a stream; at most ``4 x --stage-concurrency`` are
in hand at once, so memory stays flat for any manifest.

Exit codes: 0 every staged row's media is in the bucket; 1 some rows could not be
staged (their problems are listed) or failed for now; 2 usage, or the store refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ae_import.config import Config
from ae_import.errors import CloudError, UsageError
from ae_import.ledger import Ledger, RunLock
from ae_import.mapping import Mapper, RowSource
from ae_import.net import network_for
from ae_import.options import RunSettings
from ae_import.reading import NESTED_FORMATS, open_manifest
from ae_import.records import Row
from ae_import.staging import LOOKUPS, StageCounts, StageProblem, StageRetry

from .staging import media_sources, open_stager

__all__ = ["STAGE_OPTIONS", "StageReport", "StagedRow", "stage_manifest"]

# The options of run that stage takes too (flags, env and config, resolved as run does).
STAGE_OPTIONS = (
    *("stage_to", "stage_all", "stage_concurrency", "stage_bps", "files_root"),
    *("media_allow_private", "media_timeout", "proxy", "no_proxy", "ca_bundle", "system_certs"),
    *("json", "quiet"),
)
MAX_LISTED = 1000  # problems kept to show; the counts go on


@dataclass(frozen=True)
class StagedRow:
    """A row that could not be staged: where, which id, its code and what to do."""

    line: int
    external_id: str | None
    code: str
    message: str


@dataclass
class StageReport:
    """What ``stage`` did: rows read, staged, not staged (and why), and the stager's counts."""

    rows: int = 0
    staged: int = 0  # rows whose media is in the bucket now
    not_staged: int = 0  # rows whose media is not staged (a URL the server fetches itself)
    invalid: int = 0
    retryable: int = 0
    problems: list[StagedRow] = field(default_factory=list)
    counts: StageCounts = field(default_factory=StageCounts)
    error: str | None = None  # the store refused: the rest was not staged

    @property
    def exit_code(self) -> int:
        """Return 0 when every staged row is in the bucket, 2 if the store refused, else 1."""
        if self.error is not None:
            return 2
        return 1 if self.invalid or self.retryable else 0

    def as_json(self) -> dict[str, object]:
        """Return the report as the JSON object ``--json`` prints."""
        return {
            "rows": self.rows,
            "staged": self.staged,
            "uploaded_files": self.counts.files,
            "uploaded_bytes": self.counts.bytes,
            "already_staged": self.counts.found,
            "not_staged": self.not_staged,
            "invalid": self.invalid,
            "retryable": self.retryable,
            "problems": [vars(p) for p in self.problems],
            **({"error": self.error} if self.error else {}),
        }

    def _problem(self, row: Row, code: str, message: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(StagedRow(row.line, row.external_id, code, message))


def stage_manifest(
    manifest_name: str,
    fmt: str | None,
    config: Config,
    settings: RunSettings,
    env: Mapping[str, str],
    progress: Callable[[StageReport], None] = lambda report: None,
) -> StageReport:
    """Stage the media of every valid row of ``manifest_name``; return what happened."""
    if settings.stage_to is None:
        raise UsageError("stage needs --stage-to s3://bucket/prefix (or run.stage_to)")
    network = network_for(settings, env)
    report = StageReport()
    with contextlib.ExitStack() as stack:
        stack.enter_context(RunLock(settings.ledger_path))
        manifest = stack.enter_context(open_manifest(manifest_name, fmt))
        mapper = Mapper(
            config.mapping,
            strip_cells=manifest.format not in NESTED_FORMATS,
            files_root=settings.files_root,
        )
        sources = media_sources(config, settings, env)
        rows = RowSource(manifest, mapper, fingerprints=False, media_rule=sources.claim)
        ledger = Ledger(settings.ledger_path, None)
        stack.callback(ledger.close)
        stager = open_stager(sources, config, settings, env, network, ledger)
        assert stager is not None
        stack.callback(stager.close)
        report.counts = stager.counts

        async def one(row: Row, media: str, window: asyncio.Semaphore) -> None:
            try:
                await stager.stage(media, mapper.base, mapper.roots)
                report.staged += 1
            except StageProblem as problem:
                report.invalid += 1
                report._problem(row, problem.code, problem.message)
            except StageRetry as later:
                report.retryable += 1
                report._problem(row, later.code, later.message)
            except CloudError as exc:
                if exc.transient:
                    report.retryable += 1
                    report._problem(row, "stage_store", exc.message)
                elif report.error is None:
                    report.error = exc.message
            finally:
                window.release()
                progress(report)

        async def go() -> None:
            window = asyncio.Semaphore(4 * settings.stage_concurrency + LOOKUPS)
            tasks: set[asyncio.Task[None]] = set()
            for row in rows:
                if report.error is not None:
                    break
                rows.check(row)
                report.rows += 1
                if not row.valid:
                    report.invalid += 1
                    first = row.problems[0]
                    report._problem(row, first.code, f"{first.field}: {first.message}")
                    continue
                media = row.media_url
                if media is None or not sources.wanted(media):
                    report.not_staged += 1
                    continue
                await window.acquire()
                task = asyncio.ensure_future(one(row, media, window))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)

        asyncio.run(go())
    return report
