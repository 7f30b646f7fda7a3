"""Media: what the server will fetch, judged before it does.

URL rules as the server parses them (``check_media_url``), object-store references
signed just in time (``cloud``), presigned-URL expiry (``expires_at``, ``Forecast``), and
the media check that asks each URL as the server would (``Prober``, ``MediaCheck``).
"""

from __future__ import annotations

from .auth import ENV_NAME, HostAuth, MediaAuth, MissingCredential
from .check import (
    CACHE_TTL_S,
    SEND_SLACK_S,
    Found,
    MediaCache,
    MediaCheck,
    check_all,
    judge,
    refuse,
)
from .cloud import (
    CLOUD_FIXES,
    MEDIA_TYPES,
    SCHEMES,
    AzureConfig,
    CloudConfig,
    GcsConfig,
    Reference,
    S3Config,
    Signer,
    StagedObject,
    Store,
    check_reference,
    content_type_for,
    parse_reference,
    store_for,
    validity,
)
from .presigned import RUN_EVERY_S, Forecast, expired, expires_at
from .probe import MAX_REDIRECTS, Probe, Prober, Resolve, blocked, getaddrinfo
from .urls import MAX_URL_LENGTH, check_media_url

__all__ = [
    "CACHE_TTL_S",
    "CLOUD_FIXES",
    "ENV_NAME",
    "MAX_REDIRECTS",
    "MAX_URL_LENGTH",
    "MEDIA_TYPES",
    "RUN_EVERY_S",
    "SCHEMES",
    "SEND_SLACK_S",
    "AzureConfig",
    "CloudConfig",
    "Forecast",
    "Found",
    "GcsConfig",
    "HostAuth",
    "MediaAuth",
    "MediaCache",
    "MediaCheck",
    "MissingCredential",
    "Probe",
    "Prober",
    "Reference",
    "Resolve",
    "S3Config",
    "Signer",
    "StagedObject",
    "Store",
    "blocked",
    "check_all",
    "check_media_url",
    "check_reference",
    "content_type_for",
    "expired",
    "expires_at",
    "getaddrinfo",
    "judge",
    "parse_reference",
    "refuse",
    "store_for",
    "validity",
]
