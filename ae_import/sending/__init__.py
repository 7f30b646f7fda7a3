"""Sending: checked rows to answers, through a bounded pool of workers.

``Engine`` decides each row against the ledger (``decision``), sends the rest through
one ``EngagementClient`` at the pace the throttle allows, asks the retry policy what an
answer means, and records each row's end (``recorder``) in the ledger, the ``Summary``
and the run log.
"""

from __future__ import annotations

from .client import ANSWER_CAP, Client, EngagementClient, Outcome
from .decision import Decider, decide, encode, fields_fingerprint, fingerprint
from .engine import Engine, EngineSettings
from .mediagate import MediaGate
from .runlog import RunLog
from .summary import Events, Progress, RowEvent, Summary, no_events, no_progress
from .throttle import Clock, Sleep, TokenBucket

__all__ = [
    "ANSWER_CAP",
    "Client",
    "Clock",
    "Decider",
    "EngagementClient",
    "Engine",
    "EngineSettings",
    "Events",
    "MediaGate",
    "Outcome",
    "Progress",
    "RowEvent",
    "RunLog",
    "Sleep",
    "Summary",
    "TokenBucket",
    "decide",
    "encode",
    "fields_fingerprint",
    "fingerprint",
    "no_events",
    "no_progress",
]
