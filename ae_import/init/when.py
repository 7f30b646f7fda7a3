"""When each engagement started, for ``ae-import init``: the column, a date+time pair, the zone.

Pure. Every column whose sampled values all read as timestamps is a candidate; its header
says what it means: the activity's own start (Start Time, Call Date, Activity Date,
Beginn, Fecha...) is preferred over the record's stamps (Created, Modified), whatever their
formats. A date-only column with a time-of-day column beside it becomes one template with
one format (``{Call Date} {Call Time}``); a column of zone names beside naive times becomes
the per-row ``timezone: {column: ...}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ae_import.mapping import ISO_FORM
from ae_import.reading import Sample

from .cells import is_zone, mostly, time_pattern
from .names import START_NAMES
from .values import Stamps, read_stamps, words

__all__ = ["Start", "find_start"]

_ACTIVITY = frozenset(
    [
        "start",
        "started",
        "starts",
        "begin",
        "began",
        "beginn",
        "beginning",
        "debut",
        "début",
        "inicio",
        "inizio",
        "activity",
        "call",
        "meeting",
        "happened",
        "recorded",
        "dialed",
        "dialled",
        "occurred",
        "session",
        "conversation",
        "anruf",
        "gesprach",
        "appel",
        "llamada",
        "reunion",
        "réunion",
        "besprechung",
        "termin",
        "when",
    ]
)
_PLAIN = frozenset(
    [
        "date",
        "time",
        "datetime",
        "timestamp",
        "datum",
        "fecha",
        "heure",
        "zeit",
        "uhrzeit",
        "hora",
        "data",
        "ora",
        "day",
    ]
)
_CREATED = frozenset(
    [
        "created",
        "create",
        "creation",
        "logged",
        "inserted",
        "added",
        "uploaded",
        "imported",
        "erstellt",
        "cree",
        "créé",
        "creado",
        "creacion",
        "creación",
        "system",
    ]
)
_NOT_START = frozenset(
    [
        "end",
        "ended",
        "ends",
        "finish",
        "finished",
        "answered",
        "modified",
        "updated",
        "last",
        "closed",
        "due",
        "delete",
        "deleted",
        "expire",
        "expires",
        "birth",
        "archived",
        "accessed",
        "access",
        "ende",
        "fin",
        "geandert",
        "geändert",
        "aktualisiert",
        "modifie",
        "modifié",
        "modificado",
        "actualizado",
    ]
)
# Header words of languages that write dates day first (German, French, Spanish, Italian,
# Dutch, Portuguese): with them, a date whose day and month both read is read day first.
_DAY_FIRST_WORDS = frozenset(
    [
        *("fecha", "hora", "asunto", "tipo", "teléfono", "telefono", "grabación", "llamada"),
        *("datum", "uhrzeit", "zeitzone", "betreff", "telefon", "aufnahme", "anruf", "dauer"),
        *("heure", "objet", "téléphone", "enregistrement", "appel", "fuseau", "durée", "début"),
        *("oggetto", "durata", "chiamata", "registrazione", "gesprek", "onderwerp", "duração"),
        *("propietario", "inhaber", "propriétaire", "contacto", "kunde", "zugewiesen"),
    ]
)
_DURATION_WORDS = frozenset(
    ["duration", "talk", "hold", "wait", "length", "dauer", "duur", "durata", "durée", "duración"]
)
_TIME_WORDS = frozenset(["time", "hour", "uhrzeit", "zeit", "heure", "hora", "ora", "clock"])
_ZONE_WORDS = frozenset(["zone", "timezone", "tz", "zeitzone", "fuseau", "zona", "huso"])


@dataclass
class Start:
    """The start guess: its source (a column or a template), the stamps, and what else exists."""

    source: str | None = None
    stamps: Stamps | None = None
    formats: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other timestamp columns, for the comment
    example: str = ""
    columns: tuple[str, ...] = ()  # the columns the source reads
    zone: str | None = None  # a column of zone names for naive times
    dated: str | None = None  # the activity's date-only column a same-day timed one replaced
    day_first: bool = False  # the headers' language writes the day before the month


def _meaning(column: str) -> float:
    """Score a header by what it says: the activity's start high, the record's stamps low."""
    text = words(column)
    found = set(text.split())
    if found & _NOT_START:
        return -4.0
    if text.endswith((" at", " on")) or text in ("at", "on"):  # startedAt, Created On
        found.add("date")
    score = START_NAMES.get(text, 0.0)
    if found & _ACTIVITY:
        score = max(score, 3.0)
    elif found & _PLAIN:
        score = max(score, 2.0)
    else:
        score = max(score, 0.5)
    if found & _CREATED:
        score = min(score, 1.0)
    return score


def _spread(values: Sequence[Any]) -> float:
    return 0.5 if len({str(v) for v in values}) > 1 else 0.0


def _date_time_pairs(sample: Sample, stamps: dict[str, Stamps]) -> list[tuple[str, str, str]]:
    """Return (date column, time column, format) pairs whose joined values all parse."""
    pairs = []
    clocks: dict[str, str | None] = {}  # each column's time-of-day pattern, asked once
    for day, found in stamps.items():
        if found.timed or found.more or found.cells or found.format in ("epoch", "epoch_ms"):
            continue
        day_format = found.format or "%Y-%m-%d"
        named = [c for c in sample.columns if set(words(c).split()) & _TIME_WORDS]
        rest = [c for c in sample.columns if c not in named]
        for clock in named + rest:  # named like a time first; any column of times of day next
            if clock == day or set(words(clock).split()) & _DURATION_WORDS:
                continue
            if clock not in clocks:
                clocks[clock] = time_pattern(sample.values(clock))
            pattern = clocks[clock]
            if pattern is None:
                continue
            fmt = f"{day_format} {pattern}"
            joined = [
                f"{str(row[day]).strip()} {str(row[clock]).strip()}"
                for row in sample.rows
                if row.get(day) and row.get(clock)
            ]
            try:
                for text in joined:
                    datetime.strptime(text, fmt)
            except ValueError:
                continue
            if joined:
                pairs.append((day, clock, fmt))
                break
    return pairs


def _zone_column(sample: Sample) -> str | None:
    """Return a column of zone names (IANA, offsets, Windows names), named like a zone first."""
    found = []
    for index, column in enumerate(sample.columns):
        values = sample.values(column)
        if not mostly(values, is_zone, 0.9):
            continue
        named = bool(set(words(column).split()) & _ZONE_WORDS)
        iana = any(isinstance(v, str) and "/" in v for v in values)
        if named or iana:
            found.append((named, -index, column))
    return max(found)[2] if found else None


def _day_of(value: Any, stamps: Stamps) -> date | None:
    """Return the calendar day a sampled value reads as, or None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if ISO_FORM.match(text):
        return datetime.fromisoformat(text[:10]).date()
    for pattern in stamps.formats or [""]:
        try:
            if pattern in ("", "epoch", "epoch_ms"):
                return datetime.fromisoformat(text[:10]).date() if not pattern else None
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _same_day_timed(
    sample: Sample, day: str, found: Stamps, stamps: dict[str, Stamps]
) -> str | None:
    """Return a timed column on the same day as date-only ``day`` in 90% of rows, else None.

    A CRM's activity date is often a date alone; the record made when the call was logged
    carries the time of day. Same day in nearly every row: the time is the call's.
    """
    for column, other in stamps.items():
        if column == day or not other.timed or _meaning(column) < 0:
            continue
        pairs = [(r.get(day), r.get(column)) for r in sample.rows if r.get(day) and r.get(column)]
        if len(pairs) < 2:
            continue
        same = sum(_day_of(a, found) == _day_of(b, other) is not None for a, b in pairs)
        if same >= 0.9 * len(pairs):
            return column
    return None


def day_first(columns: Sequence[str]) -> bool:
    """Tell whether the headers are in a language that writes the day before the month."""
    found = {w for c in columns for w in words(c).split()}
    return bool(found & _DAY_FIRST_WORDS)


def find_start(sample: Sample, prefer: Sequence[str] = ()) -> Start:
    """Guess the start: the recognised export's column, else the best-meaning timestamps."""
    stamps: dict[str, Stamps] = {}
    dmy = day_first(sample.columns)
    for column in sample.columns:
        found = read_stamps(sample.values(column), day_first=dmy)
        if found is None:
            continue
        if found.format in ("epoch", "epoch_ms") and _meaning(column) < 2.0:
            continue  # numbers in the epoch range, named like nothing dated: ids, counts
        stamps[column] = found
    start = Start(zone=_zone_column(sample), day_first=dmy)
    candidates: list[tuple[float, int, str, tuple[str, ...], Stamps, list[str]]] = []
    for index, (column, found) in enumerate(stamps.items()):
        score = _meaning(column) + (1.0 if found.timed else 0.0)
        score += _spread(sample.values(column))
        if words(column) in prefer:
            score += 10.0 - list(prefer).index(words(column))
        candidates.append((score, -index, column, (column,), found, found.formats))
    for day, clock, fmt in _date_time_pairs(sample, stamps):
        found = stamps[day]
        score = _meaning(day) + 1.0 + _spread(sample.values(day)) + 0.1
        if words(day) in prefer:
            score += 10.0 - list(prefer).index(words(day))
        timed = Stamps(fmt, naive=True, timed=True)
        candidates.append((score, 0, f"{{{day}}} {{{clock}}}", (day, clock), timed, [fmt]))
    candidates = [c for c in candidates if c[0] > 0]
    if not candidates:
        return start
    _score, _i, source, columns, found, formats = max(candidates)
    if len(columns) == 1 and not found.timed:
        better = _same_day_timed(sample, columns[0], found, stamps)
        if better is not None:
            start.dated = columns[0]
            source, columns, found = better, (better,), stamps[better]
            formats = found.formats
    start.source, start.stamps, start.formats, start.columns = source, found, formats, columns
    start.others = [c for c in stamps if c not in columns]
    first = next((r for r in sample.rows if all(r.get(c) for c in columns)), None)
    if first is not None:
        start.example = " ".join(str(first[c]).strip() for c in columns)
    return start
