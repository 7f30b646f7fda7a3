"""The ``sandbox`` command: a local emulator of Create engagement (``sandbox/``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import app, guard

__all__ = ["sandbox"]


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8765,
    token: Annotated[
        str | None, typer.Option(help="The token clients must send; default: a random one.")
    ] = None,
    readonly_token: Annotated[
        str | None, typer.Option(help="A token without the engagements:write scope (gets 403).")
    ] = None,
    latency: Annotated[
        float, typer.Option(min=0, metavar="MS", help="Answer after MS ms (the media download).")
    ] = 0.0,
    jitter: Annotated[float, typer.Option(min=0, metavar="MS", help="Vary latency by +-MS.")] = 0.0,
    rate: Annotated[
        str | None, typer.Option(metavar="R", help="Answer 429 past R requests (5/s, 300/m).")
    ] = None,
    burst: Annotated[
        float | None, typer.Option(min=1, help="Token bucket size; default one second of R.")
    ] = None,
    limiter: Annotated[
        str,
        typer.Option(
            metavar="SHAPE",
            help="How --rate is counted: token-bucket (with --burst), fixed-window (N per "
            "period of R, reset on its edge: 1200/m resets on the minute) or sliding-window "
            "(N in any period of R).",
        ),
    ] = "token-bucket",
    max_in_flight: Annotated[
        int | None,
        typer.Option(min=1, metavar="K", help="Answer 429 past K requests in flight."),
    ] = None,
    fail_rate: Annotated[
        float, typer.Option(min=0, max=1, metavar="P", help="Answer 500/503 with probability P.")
    ] = 0.0,
    retry_after: Annotated[
        str,
        typer.Option(
            metavar="seconds|date|0|none",
            help="Retry-After on 429: whole seconds (at least 1), an HTTP-date, 0, or none.",
        ),
    ] = "seconds",
    reject_media: Annotated[
        str | None,
        typer.Option(metavar="REGEX", help="Media URL paths answered 422 'not audio/video'."),
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="SQLite file: idempotency survives a restart.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for faults and jitter.")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=P",
            help="Inject a network fault with probability P (repeat): 500, 503, 429, 429-date, "
            "reset-before, reset-after, slow, non-json, truncated, create-500.",
        ),
    ] = None,
    fetch_media: Annotated[
        bool,
        typer.Option(
            "--fetch-media",
            help="Fetch each new media URL as the server does (HEAD, then a ranged GET); "
            "answer 422 when it is unreachable, not audio/video, private or too slow.",
        ),
    ] = False,
    media_allow_private: Annotated[
        bool,
        typer.Option(
            "--media-allow-private",
            help="With --fetch-media: also fetch from private and loopback addresses, over "
            "http too (a local store such as moto or MinIO).",
        ),
    ] = False,
    media_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, metavar="SECONDS", help="With --fetch-media: the download's time limit."
        ),
    ] = 30.0,
    media_digest: Annotated[
        bool,
        typer.Option(
            "--media-digest",
            help="With --fetch-media: download each recording whole and keep its sha256, "
            "size and type, served at /_sandbox/media (to check what staging uploaded).",
        ),
    ] = False,
) -> None:
    """Serve a local emulator of Create engagement at http://HOST:PORT/api. Ctrl-C stops it."""
    import os
    import re

    from ae_import.errors import UsageError
    from ae_import.options import parse_rate_period
    from ae_import.sandbox import (
        DEFAULT_REJECT_MEDIA,
        LIMITERS,
        RETRY_AFTER_FORMS,
        SandboxSettings,
        parse_fault,
        serve,
    )

    def work() -> int:
        if retry_after not in RETRY_AFTER_FORMS:
            raise UsageError(f"--retry-after takes one of {', '.join(RETRY_AFTER_FORMS)}")
        if limiter not in LIMITERS[:3]:
            raise UsageError(f"--limiter takes one of {', '.join(LIMITERS[:3])}")
        if media_allow_private and not fetch_media:
            raise UsageError("--media-allow-private works with --fetch-media; add it")
        if media_digest and not fetch_media:
            raise UsageError("--media-digest works with --fetch-media; add it")
        pattern = DEFAULT_REJECT_MEDIA if reject_media is None else reject_media
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--reject-media: not a regular expression: {exc}") from None
        try:
            count, period = parse_rate_period(rate) if rate is not None else (0.0, 1.0)
        except ValueError as exc:
            raise UsageError(f"--rate: {exc}") from None
        per_second = count / period if rate is not None else None
        chosen: dict[str, float] = {}
        for text in fault or []:
            try:
                name, probability = parse_fault(text)
            except ValueError as exc:
                raise UsageError(f"--fault: {exc}") from None
            chosen[name] = probability
        if sum(chosen.values()) > 1:
            raise UsageError("--fault: the probabilities add up to more than 1")
        settings = SandboxSettings(
            token=token or "sk-sandbox-" + os.urandom(12).hex(),
            readonly_token=readonly_token,
            latency_ms=latency,
            jitter_ms=jitter,
            rate=per_second,
            burst=burst,
            fail_rate=fail_rate,
            reject_media=pattern,
            retry_after=retry_after,
            seed=seed,
            fetch_media=fetch_media,
            media_allow_private=media_allow_private,
            media_timeout_s=media_timeout,
            media_digest=media_digest,
            limiter=limiter,
            window=period,
            max_in_flight=max_in_flight,
        )

        def announce(url: str) -> None:
            typer.echo(f"sandbox listening on {url}")
            typer.echo(f"token: {settings.token}")
            if chosen:
                shown = ", ".join(f"{name}={p:g}" for name, p in chosen.items())
                typer.echo(f"injecting faults: {shown}", err=True)
            if fetch_media:
                where = "any address" if media_allow_private else "public addresses only"
                typer.echo(f"fetching media before answering ({where})", err=True)
            typer.echo(f"POST {url}/v2/engagements; Ctrl-C stops", err=True)

        serve(
            settings,
            host=host,
            port=port,
            state=state,
            faults=chosen,
            log=lambda line: print(line, file=sys.stderr, flush=True),
            announce=announce,
        )
        typer.echo("sandbox stopped", err=True)
        return 0

    raise typer.Exit(guard(work))
