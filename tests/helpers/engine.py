"""The engine under test: fake time that moves when the code sleeps, a scripted client, rows."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from ae_import.records import Row
from ae_import.sending import Outcome


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        """Start at t=1000 with no sleeps."""
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time instead of waiting."""
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class ScriptedClient:
    """Answers each external_id from a script; records calls, times and concurrency."""

    def __init__(self, time: FakeTime, script: dict[str, list[Outcome]] | None = None) -> None:
        """Answer 201 unless the script says otherwise."""
        self.time = time
        self.script = script or {}
        self.calls: list[tuple[str, float]] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight_per_id = 0
        self.closed = False
        self.opened: list[int] = []  # how many requests had been sent at each open()

    def open(self) -> None:
        """Record that the engine got the client ready, and when."""
        self.opened.append(len(self.calls))

    async def create(self, body: bytes) -> Outcome:
        """Return the next scripted outcome for the body's external_id."""
        external_id = json.loads(body)["external_id"]
        self.calls.append((external_id, self.time.now))
        self.in_flight[external_id] += 1
        self.max_in_flight_per_id = max(self.max_in_flight_per_id, self.in_flight[external_id])
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            queue = self.script.get(external_id)
            if queue:
                return queue.pop(0)
            return Outcome("created", 201, engagement_id=f"eng_{external_id}", request_id="r")
        finally:
            self.in_flight[external_id] -= 1

    @property
    def url(self) -> str:
        """Return where requests would go."""
        return "https://api.example.com/api/v2/engagements"

    async def aclose(self) -> None:
        """Record the close."""
        self.closed = True

    def attempts(self, external_id: str) -> int:
        """Return how many requests were sent for ``external_id``."""
        return sum(1 for e, _ in self.calls if e == external_id)


def row(n: int | str, line: int | None = None, **extra: Any) -> Row:
    """Return a valid checked row for external_id ``n``."""
    body = {
        "type": "CALL",
        "title": f"t{n}",
        "source_system": "s",
        "external_id": str(n),
        "media_url": f"https://cdn.example.com/{n}.mp3?sig=1",
        "run_workflows": False,
        **extra,
    }
    number = line or (int(n) + 1 if str(n).isdigit() else 2)
    return Row(number, {}, external_id=str(n), body=body)


def given(row: Row) -> Row:
    """Check nothing: the test rows come checked."""
    return row


ENGINE_ONLY = ("manifest", "deadline", "deadline_reason", "backoff", "grace", "chunk")


def engine_args(**given: Any) -> dict[str, Any]:
    """Split test settings into the run's ``RunSettings`` and the engine's own keywords."""
    from ae_import.options import RunSettings

    own = {name: value for name, value in given.items() if name in ENGINE_ONLY}
    own.setdefault("manifest", "m.csv")
    run = {name: value for name, value in given.items() if name not in ENGINE_ONLY}
    return {"settings": RunSettings(**run), **own}
