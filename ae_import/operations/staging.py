"""Staging's parts for a command: which media is staged (``media_sources``), and the stager.

``run`` and ``stage`` build them the same way: the config's ``media.auth`` and the
environment decide which hosts get credentials, ``--stage-to`` where objects go, the
one network (proxies, TLS) fetches credentialed URLs, and the ledger remembers what
each source was staged as.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ae_import.config import Config
from ae_import.media import store_for
from ae_import.options import RunSettings
from ae_import.staging import ByteRate, MediaSources, Stager

if TYPE_CHECKING:
    from ae_import.ledger import Ledger
    from ae_import.net import Network

__all__ = ["media_sources", "open_stager"]

# A sample object under the target: the store is chosen by its scheme.
_SAMPLE = "0" * 64 + ".mp3"


def media_sources(config: Config, settings: RunSettings, env: Mapping[str, str]) -> MediaSources:
    """Return the rule of which rows' media is staged, for the config and settings."""
    return MediaSources(
        config.media_auth, env, target=settings.stage_to, stage_all=settings.stage_all
    )


def open_stager(
    sources: MediaSources,
    config: Config,
    settings: RunSettings,
    env: Mapping[str, str],
    network: Network | None,
    ledger: Ledger | None,
) -> Stager | None:
    """Return the stager of ``--stage-to``, or None; CloudError if the store is unusable."""
    target = settings.stage_to
    if target is None:
        return None
    store = store_for(f"{target}/{_SAMPLE}", config.cloud, env, network)
    client = None
    if network is not None:
        client = network.client(follow_redirects=False, timeout=settings.media_timeout)
    return Stager(
        target,
        store,
        sources,
        cache=ledger,
        client=client,
        concurrency=settings.stage_concurrency,
        rate=ByteRate(settings.stage_bps),
        allow_private=settings.media_allow_private,
        env=env,
    )
