"""Which media a run stages, and where its bytes come from: a local file or a URL to fetch.

A row's ``media_url`` is staged (``--stage-to``) when it is

- a local path: relative to the manifest's folder, absolute, or ``file://``; confined
  like every file a manifest names (``reading.resolve_referenced``: the manifest's
  folder or ``--files-root``, never /proc, /sys, /dev);
- an https URL on a host of ``media.auth``: the server fetches without credentials,
  so such a host is always staged;
- any other https URL with ``--stage-all`` (vendor URLs that expire mid-backfill).

``MediaSources.claim`` is the offline rule ``RowSource.check`` asks for each row: None
when the value is left to the usual URL rules, else the row's ``stage_*`` problems
(none when it can be staged). ``resolve`` gives the ``Media`` to fetch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ae_import.media import SCHEMES, HostAuth, MediaAuth, MissingCredential, content_type_for
from ae_import.reading import FileRefusal, resolve_referenced
from ae_import.redact import redact_url
from ae_import.text import safe_text

__all__ = ["LocalMedia", "MediaSources", "RemoteMedia", "StageProblem", "StageRetry"]


class StageProblem(Exception):
    """The row's media cannot be staged: a row problem (``code`` is a ``stage_*`` code)."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code and the one-line message (never a secret or a URL's query)."""
        super().__init__(message)
        self.code = code
        self.message = message


class StageRetry(Exception):
    """Staging failed for now (a source's 5xx, a network error, a full disk): retry later."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code and the one-line message."""
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LocalMedia:
    """A file on this machine, resolved and confined."""

    path: Path
    name: str  # as the row wrote it, for messages

    @property
    def key(self) -> str:
        """Return the ledger's key for this source: the real path."""
        return f"file:{self.path}"

    @property
    def shown(self) -> str:
        """Return the source as messages show it."""
        return safe_text(self.name)[:120]


@dataclass(frozen=True)
class RemoteMedia:
    """A URL that ae-import fetches itself, with the host's credentials when it has any."""

    url: str
    auth: HostAuth | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Return the ledger's key: the sha256 of the whole URL (a URL may hold a secret)."""
        return "url:" + hashlib.sha256(self.url.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def shown(self) -> str:
        """Return the URL as messages show it: no query, no user-info."""
        return safe_text(redact_url(self.url))[:160]


Media = LocalMedia | RemoteMedia
_REMEMBERED = 4096  # paths resolved and kept (rows in hand between check and staging)


def _is_url(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isascii() and scheme.replace("+", "").isalnum()


def _is_local(text: str) -> bool:
    """Tell whether a media value names a file rather than a URL or a store reference."""
    stripped = text.strip()
    if stripped.lower().startswith("file:"):
        return True
    return bool(stripped) and not _is_url(stripped)


class MediaSources:
    """Decides which rows' media is staged and resolves it; offline, pure but for stat."""

    def __init__(
        self,
        auth: MediaAuth,
        env: Mapping[str, str],
        *,
        target: str | None,
        stage_all: bool = False,
    ) -> None:
        """Stage into ``target`` (``--stage-to``; None: staging is off, staged media is refused)."""
        self.auth = auth
        self.env = env
        self.target = target
        self.stage_all = stage_all
        # The row's check resolves a path, then its staging: the second is remembered.
        self._resolved: dict[tuple[str, Path, tuple[Path, ...]], LocalMedia] = {}

    def wanted(self, media: str) -> bool:
        """Tell whether ``media`` is staged (a local path, a credentialed host, --stage-all)."""
        if media.startswith("https://"):
            # Most runs stage no https URL (no media.auth hosts, no --stage-all): at once.
            if not self.auth.hosts and not (self.target is not None and self.stage_all):
                return False
        elif _is_local(media):
            return True
        if self.auth.for_url(media) is not None:
            return True
        return self.target is not None and self.stage_all and media.strip().startswith("https://")

    def claim(self, media: str, base: Path, roots: Sequence[Path]) -> list[tuple[str, str]] | None:
        """Return None when ``media`` is not staged, else its (code, message) problems."""
        if not self.wanted(media):
            return None
        local = _is_local(media)
        if self.target is None:
            if local and media.strip().partition(":")[0].lower() in SCHEMES:
                return None  # "s3:bucket" is a malformed reference: the URL rules say so
            if local:
                try:
                    self.resolve(media, base, roots)
                except StageProblem:
                    return None  # no such file: not a URL either, as the URL rules say
            what = "a local file" if local else "on a host that needs credentials (media.auth)"
            return [
                (
                    "stage_no_target",
                    f"the media is {what}, which the server cannot fetch; pass "
                    "--stage-to s3://bucket/prefix to stage it in your bucket first",
                )
            ]
        try:
            found = self.resolve(media, base, roots)
        except StageProblem as problem:
            return [(problem.code, problem.message)]
        if isinstance(found, LocalMedia):
            if content_type_for(found.path.name) is None:
                return [
                    (
                        "stage_not_media",
                        f"'{found.shown}' has no audio or video extension (mp3, wav, m4a, "
                        "mp4...); rename the file",
                    )
                ]
            if not found.path.is_file():
                return [("stage_missing", f"'{found.shown}' is not a regular file")]
        return []

    def resolve(self, media: str, base: Path, roots: Sequence[Path]) -> Media:
        """Return where ``media``'s bytes come from; raise StageProblem when it cannot be read."""
        if _is_local(media):
            key = (media, base, tuple(roots))
            found = self._resolved.get(key)
            if found is None:
                try:
                    found = LocalMedia(resolve_referenced(media, base, roots), media)
                except FileRefusal as refusal:
                    raise StageProblem("stage_missing", str(refusal)) from None
                if len(self._resolved) >= _REMEMBERED:
                    self._resolved.pop(next(iter(self._resolved)))
                self._resolved[key] = found
            return found
        url = media.strip()
        entry = self.auth.for_url(url)
        if entry is not None:
            try:
                entry.headers(self.env)
            except MissingCredential as missing:
                raise StageProblem("stage_auth", str(missing)) from None
        return RemoteMedia(url, entry)
