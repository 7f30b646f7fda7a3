"""The guesses of ``ae-import init``: which column feeds which API field, and why.

Pure. A guess is made from the recognised export's preferred headers first, then from
header names, then from the sampled values; each ``Line`` carries the comment that
explains it. A required field nothing fills becomes a TODO line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ae_import.reading import Sample

from .cells import credential_host, id_shaped, joined_form, mostly
from .exports import Export
from .media import media_column
from .names import (
    BOOLEAN_WORDS,
    ID_NAMES,
    NOT_OWN_ID,
    PRIVATE_NAMES,
    TITLE_NAMES,
    TYPE_NAMES,
    pick,
)
from .values import call_or_meeting, is_url, media_extension, words
from .when import Start, find_start

__all__ = ["Guesser", "Line"]

_NOT_TEXT = frozenset(["id", "uuid", "url", "uri", "link", "language", "status", "ready", "count"])
_TRANSCRIPT_WORDS = frozenset(
    [
        "transcript",
        "transcription",
        "transcripts",
        "sentences",
        "utterances",
        "monologues",
        "segments",
        "captions",
        "subtitles",
        "transkript",
        "transkription",
        "transcripcion",
        "trascrizione",
    ]
)


@dataclass
class Line:
    """One key of the mapping file: its value (None for a TODO) and the comment that says why."""

    key: str
    value: Any
    comment: str = ""
    todo: bool = False
    section: str = "columns"


_TYPE_WORDS = frozenset(
    ["type", "kind", "channel", "medium", "tipo", "typ", "art", "soort", "canal", "categoria"]
)


def _typed(column: str) -> bool:
    """Tell whether a header names a kind of engagement (Type, Kind, Tipo, Channel...)."""
    return bool(set(words(column).split()) & _TYPE_WORDS)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass
class Guesser:
    """Guesses the column of each API field from a sample and a recognised export."""

    sample: Sample
    export: Export | None
    lines: dict[str, Line] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)  # API field -> column
    start: Start = field(default_factory=Start)

    @property
    def count(self) -> int:
        """Return how many rows were sampled."""
        return len(self.sample.rows)

    def prefer(self, key: str) -> tuple[str, ...]:
        """Return the recognised export's preferred headers for ``key``."""
        return tuple(self.export.prefer.get(key, ())) if self.export else ()

    def scalar(self, column: str) -> bool:
        """Tell whether every sampled value of ``column`` is a string or a number."""
        values = self.sample.values(column)
        return bool(values) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
        )

    def present_everywhere(self, column: str) -> bool:
        """Tell whether ``column`` has a value in every sampled row."""
        return len(self.sample.values(column)) == self.count

    # --- the fields ---------------------------------------------------------------

    def distinct_rows(self) -> list[dict[str, Any]]:
        """Return the sampled rows with exact duplicates (a row exported twice) left out."""
        seen: dict[str, dict[str, Any]] = {}
        for row in self.sample.rows:
            seen.setdefault(repr(sorted((k, repr(v)) for k, v in row.items())), row)
        return list(seen.values())

    def external_id(self) -> None:
        """Pick an id-shaped column unique in at least 95% of the (distinct) sampled rows.

        A row exported twice does not count against a column; a few repeats left are
        validate's to report (duplicate_external_id), not a reason to refuse the column.
        """
        rows = self.distinct_rows()

        @cache
        def values(column: str) -> list[Any]:
            return [
                v.strip() if isinstance(v, str) else v
                for r in rows
                if (v := r.get(column)) is not None and (not isinstance(v, str) or v.strip())
            ]

        def repeats(column: str) -> int:
            found = values(column)
            return len(found) - len({str(v) for v in found})

        @cache
        def unique(column: str) -> bool:
            found = values(column)
            return (
                len(found) >= 0.95 * len(rows)
                and len({str(v) for v in found}) >= 0.95 * len(rows)
                and self.scalar(column)
                and mostly(found, id_shaped, 0.95)
            )

        def wholly(column: str) -> bool:
            return unique(column) and repeats(column) == 0 and len(values(column)) == len(rows)

        names = dict(ID_NAMES)
        id_words = ("id", "sid", "uuid", "guid", "key", "nr", "no", "number", "ref")
        for index, column in enumerate(self.sample.columns):
            text = words(column)
            found_words = text.split()
            if any(w in NOT_OWN_ID for w in found_words):
                continue
            if found_words and found_words[-1] in id_words:
                names.setdefault(text, 2.0 if found_words[-1] != "number" else 1.0)
            elif set(found_words) & {"id", "sid", "uuid", "guid"}:
                names.setdefault(text, 1.5)
            else:  # no header says id: the leftmost unique column of digit-bearing tokens
                names.setdefault(text, 0.5 - index / 1000)
        prefer = self.prefer("external_id")

        def named(column: str) -> bool:
            return names.get(words(column), 0.0) >= 1.0

        def keyed(column: str) -> bool:
            return all(any(c.isdigit() for c in str(v)) for v in values(column))

        found = None
        for test in (
            lambda c: wholly(c) and named(c),
            lambda c: unique(c) and named(c),
            lambda c: wholly(c) and keyed(c),
            lambda c: unique(c) and keyed(c),
        ):
            found = found or pick(self.sample.columns, names, test, prefer)
        if found is None:
            self.repeated_id(names)
            return
        column = found
        dropped = self.count - len(rows)
        twice = f" ({_plural(dropped, 'row')} exported twice left out)" if dropped else ""
        count = repeats(column)
        if count:
            reason = (
                f"unique in {len(rows) - count} of the {len(rows)} distinct sampled rows{twice}; "
                "validate reports the repeats"
            )
        elif dropped:
            reason = f"present and unique in each of the {len(rows)} distinct sampled rows{twice}"
        else:
            reason = f"present and unique in each of the {self.count} sampled rows"
        if any(isinstance(v, int | float) for v in self.sample.values(column)):
            reason += "; numbers are sent as text"
        self.set("external_id", column, reason)

    def repeated_id(self, names: Mapping[str, float]) -> None:
        """Join a repeating id to the start time if the pair is unique; else leave a TODO.

        Zoom's recurring meetings share one meeting ID, for instance.
        """

        def everywhere(column: str) -> bool:
            return self.scalar(column) and self.present_everywhere(column)

        found = pick(self.sample.columns, names, everywhere, self.prefer("external_id"))
        start = self.used.get("start_at")
        if found is not None and start is not None and "{" not in found + start:
            column = found
            pairs = {(str(r.get(column)), str(r.get(start))) for r in self.sample.rows}
            if len(pairs) == self.count:
                repeats = self.count - len({str(v) for v in self.sample.values(column)})
                reason = f"{column} repeats in {repeats} of {self.count} sampled rows; with "
                reason += f"{start} it is unique"
                self.set("external_id", f"{{{column}}}-{{{start}}}", reason)
                return
        repeat = f" ({found} repeats)" if found is not None else ""
        self.lines["external_id"] = Line(
            "external_id",
            None,
            f"no column holds a value unique to each row{repeat}; set columns.external_id: "
            'COLUMN, or a template ("{Call ID}-{Start Time}"); it takes no default: each row '
            "needs its own",
            todo=True,
        )

    def title(self, contact_name: str | None, contact_label: str | None = None) -> None:
        """Pick a subject or topic column; add the contact's name when every row has one.

        Without a title column, "Call with {contact}" names the contact by ``contact_label``
        (its name, else its email or phone column) when every sampled row has one.
        """

        def texty(column: str) -> bool:
            values = self.sample.values(column)
            return bool(values) and all(isinstance(v, str) and not is_url(v) for v in values)

        found = pick(self.sample.columns, TITLE_NAMES, texty, self.prefer("title"))
        kind = "Meeting" if self.type_default() == "MEETING" else "Call"
        named = contact_name is not None and self.present_everywhere(contact_name)
        if found is None:
            label = contact_label
            if label is not None and self.present_everywhere(label) and "{" not in label:
                template = f"{kind} with {{{label}}}"
                self.set("title", template, f"no title column: a template with {label}")
                return
            when = self.used.get("start_at")
            start = self.lines.get("start_at")
            if start is not None and isinstance(start.value, dict) and "template" in start.value:
                when = str(start.value["template"])
            elif when is not None and "{" not in when:
                when = f"{{{when}}}"
            if when is not None:
                template = f"{kind} on {when}"
                self.set("title", template, "no title column nor contact: who and when")
                return
            self.lines["title"] = Line(
                "title",
                None,
                "no column looks like a title (Title, Subject, Topic); set columns.title: COLUMN "
                'or a template ("Call with {Contact Name}"), or defaults.title: "Imported call"',
                todo=True,
            )
            return
        column = found
        have = len(self.sample.values(column))
        reason = f"filled in {have} of {self.count} sampled rows"
        if have < self.count:
            reason += ": the others will lack their required title"
        elif named and contact_name is not None and "{" not in column + contact_name:
            template = f"{{{column}}} with {{{contact_name}}}"
            reason = f"{column} and {contact_name} filled in each of the {self.count} sampled rows"
            self.set("title", template, reason)
            return
        else:
            reason = f"filled in each of the {self.count} sampled rows"
        self.set("title", column, reason)

    def type_default(self) -> str | None:
        """Return the type the recognised export's rows are when no column says it."""
        return self.export.type_default if self.export else None

    def type(self) -> None:
        """Pick a column whose few values say call or meeting, with a value map; else a default."""

        def says(column: str) -> bool:
            values = self.sample.values(column)
            distinct = {str(v) for v in values if isinstance(v, str)}
            if not distinct or len(distinct) > 12:
                return False
            loose = _typed(column)
            known = [v for v in distinct if call_or_meeting(v, loose) is not None]
            if words(column) not in TYPE_NAMES and not loose:  # any header: every value says it
                return len(known) == len(distinct)
            return len(known) * 2 >= len(distinct)

        names = dict(TYPE_NAMES)
        for column in self.sample.columns:  # any header, when its values say it
            names.setdefault(words(column), 0.5)
        found = pick(self.sample.columns, names, says, self.prefer("type"))
        if found is not None:
            self.type_from(found)
            return
        default, reason = self.type_default(), ""
        if default is not None and self.export is not None:
            reason = f"{self.export.label}: its recordings are {default.lower()}s"
        else:
            default, reason = self.type_from_media()
        if default is None:
            self.lines["type"] = Line(
                "type",
                None,
                "no column says call or meeting; set columns.type: COLUMN (with a map: of its "
                "values), or defaults.type: CALL or MEETING",
                todo=True,
            )
            return
        self.lines["type"] = Line("type", default, reason, section="defaults")

    def type_from(self, column: str) -> None:
        """Map ``column``'s values to CALL and MEETING (plain when they already are)."""
        values = sorted({str(v) for v in self.sample.values(column)})
        mapped = {v: call_or_meeting(v, _typed(column)) for v in values}
        if all(words(v) in ("call", "meeting") for v in values):
            self.set("type", column, "its values are CALL and MEETING")
            return
        targets = Counter(t for t in mapped.values() if t is not None)
        default = self.type_default() or targets.most_common(1)[0][0]
        value_map = {v: t for v, t in mapped.items() if t is not None}
        unknown = [v for v, t in mapped.items() if t is None]
        reason = f"{_plural(len(values), 'value')} in the sample; any other is sent as {default}"
        if unknown:
            reason = f"{', '.join(unknown)} not understood: sent as {default}"
        form = {"column": column, "map": value_map, "default": default}
        self.set("type", form, reason, column=column)

    def type_from_media(self) -> tuple[str | None, str]:
        """Guess CALL from audio-only media, MEETING from video; None when there is no media."""
        column = self.used.get("media_url")
        if column is None:
            return None, ""
        exts = {media_extension(v) for v in self.sample.values(column)} - {None}
        if not exts:
            return None, ""
        video = {".mp4", ".webm", ".mov", ".m4v", ".mkv", ".avi", ".3gp"}
        kind = "MEETING" if exts & video else "CALL"
        shown = ", ".join(sorted(str(e) for e in exts))
        return kind, f"no column says it; the media are {shown}: change it if that is wrong"

    def media_url(self) -> None:
        """Pick the column of media URLs: an audio or video extension, else named or shaped so."""
        column, reason = self.media_column()
        if column is None:
            note = self.export.note if self.export else ""
            extra = f"; {note}" if "URL" in note else ""
            self.lines["media_url"] = Line(
                "media_url",
                None,
                f"no column holds https links to audio or video files{extra}. Set "
                "columns.media_url: COLUMN, or defaults.media_url: URL",
                todo=True,
            )
            return
        needs = credential_host(self.sample.values(column))
        if needs is not None:
            host, what = needs
            reason += (
                f"; {host} ({what}) needs your account's credentials, so the server cannot "
                "fetch them: stage them with run --stage-to (docs/cloud.md)"
            )
        self.set("media_url", column, reason)

    def media_column(self) -> tuple[str | None, str]:
        """Return the media URL column and why, or (None, "")."""
        return media_column(self.sample, self.prefer("media_url"))

    def start_at(self) -> Any:
        """Pick the start (a column, or a date+time template); return its Stamps or None."""
        found = find_start(self.sample, self.prefer("start_at"))
        self.start = found
        if found.source is None or found.stamps is None:
            return None
        stamps = found.stamps
        others = ""
        if found.dated is not None:
            others = (
                f"; {found.dated} holds the activity's date alone, and {found.source} is on "
                "that same day with its time"
            )
            found.others = [c for c in found.others if c != found.dated]
        if found.others:
            shown = ", ".join(found.others[:3]) + ("..." if len(found.others) > 3 else "")
            others += f"; other dates: {shown}"
        if len(found.columns) == 2:
            day, clock = found.columns
            form: dict[str, Any] = {"template": found.source, "format": found.formats[0]}
            reason = f"the date in {day} and the time of day in {clock}, such as {found.example}"
            self.set("start_at", form, reason + others, column=day)
            return stamps
        chosen = found.source
        have = len(self.sample.values(chosen))
        if not found.formats:
            kind = "date cells" if stamps.cells else "timestamps in ISO 8601"
            reason = f"{have} {kind}"
            reason += ", without an offset" if stamps.naive else ", with their offsets"
            self.set("start_at", chosen, reason + others)
            return stamps
        fmt: Any = found.formats[0] if len(found.formats) == 1 else found.formats
        form = {"column": chosen, "format": fmt}
        if found.formats[0].endswith(" UTC"):
            form["timezone"] = "UTC"
        reason = f"parses each of the {have} sampled values, such as {found.example}"
        if len(found.formats) > 1:
            reason = f"{len(found.formats)} formats read each of the {have} sampled values"
        if stamps.ambiguous and found.day_first:
            reason += "; read day first, as the headers' language writes dates: check one "
            reason += "whose day is over 12"
        elif stamps.ambiguous:
            reason += "; day/month would too: check one whose day is over 12"
        self.set("start_at", form, reason + others, column=chosen)
        return stamps

    def is_private(self) -> None:
        """Pick a column of booleans named like private."""

        def booleans(column: str) -> bool:
            values = self.sample.values(column)
            return bool(values) and all(
                isinstance(v, bool) or (isinstance(v, str) and v.lower() in BOOLEAN_WORDS)
                for v in values
            )

        found = pick(self.sample.columns, PRIVATE_NAMES, booleans, self.prefer("is_private"))
        if found is not None:
            column = found
            self.set("is_private", column, "true/false values")

    def transcript_text(self) -> None:
        """Pick a transcript: its text, files (.txt, .vtt, .srt) it names, or an array to join."""
        for column in self.sample.columns:
            if "[" in column or not set(words(column).split()) & _TRANSCRIPT_WORDS:
                continue
            values = self.sample.values(column)
            if values and all(isinstance(v, list) for v in values):
                form = joined_form(column, values)
                if form is not None:
                    count = sum(len(v) for v in values)
                    reason = f"arrays of {count} sentences in the sample, joined one a line"
                    self.set("transcript_text", form, reason, column=column)
                    return
                continue
            if not values or not all(isinstance(v, str) for v in values):
                continue
            if all(v.lower().endswith((".txt", ".vtt", ".srt")) and not is_url(v) for v in values):
                reason = "file names: read relative to the manifest (.vtt, .srt as Speaker: text)"
                self.set("transcript_text", {"file": column}, reason, column=column)
                return
            if set(words(column).split()) & _NOT_TEXT:
                continue
            prose = sum(len(v) for v in values) >= 10 * len(values) and any(
                " " in v for v in values
            )
            if prose and not any(is_url(v) for v in values):
                self.set("transcript_text", column, "named like a transcript, and holds text")
                return
        self.spoken_arrays()

    def spoken_arrays(self) -> None:
        """Pick, under any header, arrays of objects that each say who spoke and what."""
        for column in self.sample.columns:
            values = self.sample.values(column)
            if "[" in column or not values or not all(isinstance(v, list) for v in values):
                continue
            form = joined_form(column, values)
            if form is None or ": " not in str(form.get("item", "")):
                continue  # without a speaker, an array of texts may be anything
            key = str(form["item"]).rsplit(": {", 1)[1].rstrip("}")
            said = [i.get(key) for v in values for i in v if isinstance(i, dict)]
            texts = [t for t in said if isinstance(t, str)]
            if len(texts) < 0.8 * len(said) or sum(len(t.split()) for t in texts) < 3 * len(said):
                continue  # what was said runs to sentences; emails, ids and names do not
            count = sum(len(v) for v in values)
            reason = f"arrays of {count} objects saying who spoke and what, joined one a line"
            self.set("transcript_text", form, reason, column=column)
            return

    def set(self, key: str, value: Any, comment: str, column: str | None = None) -> None:
        """Record a guess for API field ``key``."""
        self.lines[key] = Line(key, value, comment)
        if column is not None or isinstance(value, str):
            self.used[key] = column if column is not None else str(value)
