"""The header names ``ae-import init`` looks for, per API field, with how much each says.

Pure data. A header is compared as ``init_values.words`` writes it (``CallType`` is
``call type``); a score of 5 is a sure name, lower ones give way to a surer column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ae_import.options import FALSE_WORDS, TRUE_WORDS

from .values import words

__all__ = [
    "BOOLEAN_WORDS",
    "ID_NAMES",
    "MEDIA_NAMES",
    "NOT_OWN_ID",
    "PRIVATE_NAMES",
    "START_NAMES",
    "TITLE_NAMES",
    "TYPE_NAMES",
    "pick",
    "score",
]

BOOLEAN_WORDS = TRUE_WORDS | FALSE_WORDS  # the words options.parse_bool reads
ID_NAMES = {
    "external id": 6.0,
    "id": 5.0,
    "uuid": 5.0,
    "call id": 5.0,
    "call uuid": 5.0,
    "engagement id": 5.0,
    "conversation id": 4.5,
    "interaction id": 4.5,
    "recording id": 4.5,
    "meeting id": 4.0,
    "record id": 4.0,
    "activity id": 4.0,
    "task id": 4.0,
    "session id": 3.5,
}
NOT_OWN_ID = [
    "owner",
    "user",
    "host",
    "account",
    "contact",
    "who",
    "what",
    "lead",
    "opportunity",
    "workspace",
    "primary",
    "speaker",
    "calendar",
    "parent",
    "created",
    "deal",
    "company",
    "team",
    "org",
    "party",
    "parties",
    "participant",
]
TITLE_NAMES = {
    "title": 5.0,
    "subject": 5.0,
    "topic": 5.0,
    "call title": 5.0,
    "meeting title": 5.0,
    "meeting topic": 5.0,
    "call subject": 5.0,
    "meeting name": 4.0,
    "call name": 4.0,
    "betreff": 5.0,
    "titel": 5.0,
    "thema": 4.0,
    "objet": 5.0,
    "titre": 5.0,
    "sujet": 4.5,
    "asunto": 5.0,
    "titulo": 5.0,
    "título": 5.0,
    "tema": 4.0,
    "oggetto": 5.0,
    "titolo": 5.0,
    "onderwerp": 5.0,
    "assunto": 5.0,
}
TYPE_NAMES = {
    "type": 5.0,
    "call type": 5.0,
    "engagement type": 5.0,
    "activity type": 4.0,
    "meeting type": 4.0,
    "kind": 4.0,
    "direction": 4.0,
    "call direction": 4.0,
    "media": 2.0,
}
MEDIA_NAMES = {
    "media url": 5.0,
    "recording url": 5.0,
    "recording": 4.5,
    "recording link": 4.5,
    "audio url": 4.5,
    "video url": 4.0,
    "download url": 4.0,
    "recording content uri": 4.0,
    "content uri": 3.5,
    "asset": 2.0,
    "recording uri": 4.0,
    "recording content url": 4.0,
    "recording file": 4.0,
    "recording download url": 4.5,
    "recordings": 3.5,
    "record": 2.0,
    "media": 3.0,
    "audio": 3.0,
    "video": 3.0,
    "mp3": 3.0,
    "file url": 3.0,
    "aufnahme": 4.0,
    "aufzeichnung": 4.0,
    "enregistrement": 4.0,
    "grabacion": 4.0,
}
START_NAMES = {
    "start time": 5.0,
    "start": 5.0,
    "started": 5.0,
    "started at": 5.0,
    "start date time": 5.0,
    "date started": 5.0,
    "call start": 5.0,
    "call start time": 5.0,
    "meeting start": 5.0,
    "start date": 4.5,
    "recording start": 4.5,
    "date time": 4.0,
    "datetime": 4.0,
    "call date": 4.0,
    "date": 3.5,
    "timestamp": 3.5,
    "activity date": 3.0,
    "time": 3.0,
    "created": 2.5,
    "created at": 2.5,
    "created date": 2.5,
    "create date": 2.5,
    "scheduled": 2.0,
}
PRIVATE_NAMES = {"is private": 5.0, "private": 5.0, "confidential": 3.0}


def score(column: str, names: Mapping[str, float]) -> float:
    """Return a header's score in a table of names: the whole header, else its last segment."""
    whole = words(column)
    last = words(column.rsplit(".", 1)[-1])
    points = max(names.get(whole, 0.0), names.get(last, 0.0) * 0.9)
    return points * (0.8 if "[" in column else 1.0)


def pick(
    columns: Sequence[str],
    names: Mapping[str, float],
    accept: Callable[[str], bool],
    prefer: Sequence[str] = (),
) -> str | None:
    """Return the first accepted column of ``prefer``, else the best-named accepted one."""
    by_words: dict[str, str] = {}
    for column in columns:
        by_words.setdefault(words(column), column)
    for wanted in prefer:
        found = by_words.get(wanted)
        if found is not None and accept(found):
            return found
    scored = [(score(c, names), -i, c) for i, c in enumerate(columns)]
    for points, _i, column in sorted(scored, reverse=True):
        if points <= 0:
            break
        if accept(column):
            return column
    return None
