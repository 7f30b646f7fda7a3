"""A local, spec-faithful emulator of Create engagement (``ae-import sandbox``)."""

from __future__ import annotations

from .app import DEFAULT_REJECT_MEDIA, SandboxSettings, create_app
from .faults import FAULTS, FaultPlan, FaultProxy, parse_fault
from .limits import LIMITERS, RETRY_AFTER_FORMS, LimiterSpec, make_limiter, retry_after_value
from .server import SandboxServer, serve
from .state import MemoryStore, SqliteStore, Store, open_store

__all__ = [
    "DEFAULT_REJECT_MEDIA",
    "FAULTS",
    "LIMITERS",
    "RETRY_AFTER_FORMS",
    "FaultPlan",
    "FaultProxy",
    "LimiterSpec",
    "MemoryStore",
    "SandboxServer",
    "SandboxSettings",
    "SqliteStore",
    "Store",
    "create_app",
    "make_limiter",
    "open_store",
    "parse_fault",
    "retry_after_value",
    "serve",
]
