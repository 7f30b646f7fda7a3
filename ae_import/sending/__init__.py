"""Sending: checked rows to answers, through a bounded pool of workers.

``Engine`` decides each row against the ledger (``decision``), sends the rest through
one ``EngagementClient`` at the pace the throttle allows, asks the retry policy what an
answer means, and records each row's end (``recorder``) in the ledger, the ``Summary``
and the run log.
"""

from __future__ import annotations

from .client import ANSWER_CAP, Client, EngagementClient
from .decision import Decider, decide, encode, fields_fingerprint, fingerprint
from .engine import Engine
from .mediagate import MediaGate
from .meter import RunMeter
from .pacing import Clock, Sleep, TokenBucket
from .policy import Backoff, Outcome, RetryPolicy, Step
from .runlog import RunLog
from .stagegate import StageGate
from .summary import Events, Progress, RowEvent, Summary, no_events, no_progress

__all__ = [
    "ANSWER_CAP",
    "Backoff",
    "Client",
    "Clock",
    "Decider",
    "EngagementClient",
    "Engine",
    "Events",
    "MediaGate",
    "Outcome",
    "Progress",
    "RetryPolicy",
    "RowEvent",
    "RunLog",
    "RunMeter",
    "Sleep",
    "StageGate",
    "Step",
    "Summary",
    "TokenBucket",
    "decide",
    "encode",
    "fields_fingerprint",
    "fingerprint",
    "no_events",
    "no_progress",
]
