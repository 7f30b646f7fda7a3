"""A local, spec-faithful emulator of Create engagement (``ae-import sandbox``)."""

from __future__ import annotations

from .app import DEFAULT_REJECT_MEDIA, SandboxSettings, create_app
from .faults import FAULTS, FaultPlan, FaultProxy, parse_fault
from .server import SandboxServer, serve
from .state import MemoryStore, SqliteStore, Store, open_store

__all__ = [
    "DEFAULT_REJECT_MEDIA",
    "FAULTS",
    "FaultPlan",
    "FaultProxy",
    "MemoryStore",
    "SandboxServer",
    "SandboxSettings",
    "SqliteStore",
    "Store",
    "create_app",
    "open_store",
    "parse_fault",
    "serve",
]
