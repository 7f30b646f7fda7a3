"""Operations: the core of each command, without a command line (what the Python API calls).

``run_import`` (run), ``check_manifest`` (validate --check-media), ``gather_status``,
``export``, ``dismiss`` and ``run_checks`` (doctor) take settings and return results;
they print nothing.
"""

from __future__ import annotations

from .dismiss import DISMISSABLE, dismiss, parse_age
from .doctor import Check, run_checks
from .export import MANIFEST_STATUSES, export, parse_statuses
from .run import RunResult, format_duration, run_import, sandbox_state_path, seconds_until
from .stage import STAGE_OPTIONS, StagedRow, StageReport, stage_manifest
from .status import LedgerStatus, StatusReport, gather_status
from .validate import VALIDATE_OPTIONS, ValidationReport, check_manifest, validate_manifest

__all__ = [
    "DISMISSABLE",
    "MANIFEST_STATUSES",
    "STAGE_OPTIONS",
    "VALIDATE_OPTIONS",
    "Check",
    "LedgerStatus",
    "RunResult",
    "StageReport",
    "StagedRow",
    "StatusReport",
    "ValidationReport",
    "check_manifest",
    "dismiss",
    "export",
    "format_duration",
    "gather_status",
    "parse_age",
    "parse_statuses",
    "run_checks",
    "run_import",
    "sandbox_state_path",
    "seconds_until",
    "stage_manifest",
    "validate_manifest",
]
