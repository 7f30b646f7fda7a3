"""Fill a ledger as if a manifest had been fully imported (for the resume benchmark)."""

from __future__ import annotations

from pathlib import Path

from ae_import.ledger.db import Ledger
from ae_import.mapping import EMPTY_MAPPING, MappingConfig
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.rowsource import RowSource
from ae_import.reading import open_manifest
from ae_import.sending.decision import encode

__all__ = ["prefill"]


def prefill(
    manifest: Path, ledger_path: Path, target: str, mapping: MappingConfig = EMPTY_MAPPING
) -> int:
    """Record every valid row of ``manifest`` as created in the ledger; return the count."""
    count = 0
    ledger = Ledger(ledger_path, target)
    with open_manifest(str(manifest)) as source, ledger.transaction():
        mapper = Mapper(mapping, strip_cells=source.format != "jsonl")
        rows = RowSource(source, mapper)
        for row in rows:
            rows.check(row)
            if not row.valid or row.external_id is None:
                continue
            ledger.mark_pending([encode(row)], source.name)
            ledger.finish(
                row.external_id,
                "created",
                attempts=1,
                http_status=201,
                engagement_id=f"eng_{count}",
            )
            count += 1
    ledger.close()
    return count
