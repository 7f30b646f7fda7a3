"""Mapping: each ``Row``'s fields to a create request, checked against the API's contract.

The mapping part of the config (``parse_mapping``: columns, defaults, participants, value
forms), the ``Mapper`` that builds each body, ``validate_body`` (the contract, shared with
the sandbox), and ``RowSource``: a manifest's rows with their external_ids, repeats and
shard, checked on demand.
"""

from __future__ import annotations

from .config import (
    EMPTY_MAPPING,
    FieldSpec,
    ItemsConfig,
    MappingConfig,
    OwnerColumns,
    ParticipantsConfig,
    check_keys,
    mapping_of,
    parse_mapping,
    string_of,
)
from .mapper import Mapper, encode_body
from .rowsource import MediaRule, RowSource, check_rows, shard_of
from .timestamps import ISO_FORM, TIMESTAMP_PATTERNS, check_zone
from .validation import (
    PARTICIPANT_FIELDS,
    REQUEST_FIELDS,
    REQUIRED_FIELDS,
    TYPES,
    validate_body,
)

__all__ = [
    "EMPTY_MAPPING",
    "ISO_FORM",
    "PARTICIPANT_FIELDS",
    "REQUEST_FIELDS",
    "REQUIRED_FIELDS",
    "TIMESTAMP_PATTERNS",
    "TYPES",
    "FieldSpec",
    "ItemsConfig",
    "Mapper",
    "MappingConfig",
    "MediaRule",
    "OwnerColumns",
    "ParticipantsConfig",
    "RowSource",
    "check_keys",
    "check_rows",
    "check_zone",
    "encode_body",
    "mapping_of",
    "parse_mapping",
    "shard_of",
    "string_of",
    "validate_body",
]
