"""Which column holds the media, for ``ae-import init``: by extension, by name, by path.

Pure. The column whose URLs (80% or more) end in an audio or video extension; else a
column of URLs named like a recording; else one whose URL paths name a recording or a
media download (``/Recordings/RE1``, ``/rec/download/``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ae_import.reading import Sample

from .cells import media_path, share
from .names import MEDIA_NAMES, pick, score
from .values import is_url, media_extension, words

__all__ = ["media_column"]


def media_column(sample: Sample, prefer: Sequence[str] = ()) -> tuple[str | None, str]:
    """Return the media URL column of ``sample`` and why, or (None, "")."""

    def media_share(column: str) -> tuple[int, int]:
        values = sample.values(column)
        return sum(media_extension(v) is not None for v in values), len(values)

    candidates = []
    for index, column in enumerate(sample.columns):
        hits, have = media_share(column)
        if hits and hits * 10 >= have * 8:
            preferred = words(column) in prefer
            candidates.append((hits, preferred, score(column, MEDIA_NAMES), -index, column))
    if candidates:
        hits, _p, _s, _i, column = max(candidates)
        exts = sorted({str(media_extension(v)) for v in sample.values(column)} - {"None"})
        return column, f"{hits} of {len(sample.rows)} values are URLs ending in {'/'.join(exts)}"

    def urls(column: str) -> bool:
        values = sample.values(column)
        return bool(values) and all(is_url(v) for v in values)

    found = pick(sample.columns, MEDIA_NAMES, urls, prefer)
    if found is not None:
        reason = "URLs without an audio or video extension, named like recordings: the server "
        return found, reason + "checks their content type"
    for column in sample.columns:
        values = sample.values(column)
        if urls(column) and share(values, media_path) >= 0.8:
            reason = "URLs whose paths name a recording or media download: the server "
            return column, reason + "checks their content type"
    return None, ""
