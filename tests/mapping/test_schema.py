"""The vendor's spec judges our requests: samples validate against its request schema."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ae_import.config import load_config
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.rowsource import check_rows
from ae_import.mapping.validation import PARTICIPANT_FIELDS, REQUEST_FIELDS, REQUIRED_FIELDS, TYPES
from ae_import.reading import open_manifest
from tests.helpers import ROOT, SAMPLES, SPEC_DIR

SCHEMA_PATH = ROOT / "ae_import" / "schema" / "create_request.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALID_SAMPLES = [
    ("salesforce-calls.csv", "salesforce.yaml"),
    ("meetings.jsonl", None),
    ("broken.csv", "salesforce.yaml"),
]


def sample_bodies(manifest: str, config: str | None) -> list[dict[str, Any]]:
    """Return the request bodies of the valid rows of a sample."""
    mapping = load_config(SAMPLES / config if config else None).mapping
    with open_manifest(str(SAMPLES / manifest)) as source:
        mapper = Mapper(mapping, strip_cells=source.format != "jsonl")
        return [row.body for row in check_rows(source, mapper) if row.body is not None]


@pytest.mark.parametrize(("manifest", "config"), VALID_SAMPLES)
def test_sample_requests_match_the_vendor_request_schema(manifest: str, config: str | None) -> None:
    """Every request built from samples/ validates against the spec's request schema."""
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    bodies = sample_bodies(manifest, config)
    assert bodies
    for body in bodies:
        errors = [e.message for e in validator.iter_errors(body)]
        assert errors == [], body["external_id"]
        assert set(body) <= set(SCHEMA["properties"]), "a field the spec does not define"
        for person in body.get("participants", []):
            assert set(person) <= set(SCHEMA["properties"]["participants"]["items"]["properties"])


def test_our_field_lists_match_the_schema() -> None:
    """The field lists validation uses are the schema's, in full."""
    props = SCHEMA["properties"]
    assert set(REQUEST_FIELDS) == set(props)
    assert set(REQUIRED_FIELDS) == set(SCHEMA["required"])
    assert list(TYPES) == props["type"]["enum"]
    assert set(PARTICIPANT_FIELDS) == set(props["participants"]["items"]["properties"])


def _derive_module() -> Any:
    path = ROOT / "scripts" / "derive_schema.py"
    spec = importlib.util.spec_from_file_location("derive_schema", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (SPEC_DIR / "openapi.yaml").exists(), reason="../shared/spec/ is not beside this clone"
)
def test_schema_still_matches_the_vendor_spec() -> None:
    """The repo's request schema equals the one derived from ../shared/spec/openapi.yaml."""
    openapi = yaml.safe_load(Path(SPEC_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    assert _derive_module().derive(openapi) == SCHEMA


@pytest.mark.skipif(
    not (SPEC_DIR / "openapi.yaml").exists(), reason="../shared/spec/ is not beside this clone"
)
def test_sandbox_document_still_matches_the_vendor_spec() -> None:
    """The sandbox's OpenAPI document is the vendor's, prose removed, plus 201 and 503."""
    vendor = yaml.safe_load(Path(SPEC_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    ours = json.loads((ROOT / "ae_import" / "sandbox" / "openapi.json").read_text("utf-8"))
    assert _derive_module().derive_openapi(vendor) == ours
    assert set(ours["components"]["schemas"]) == set(vendor["components"]["schemas"])
    vendor_codes = set(vendor["paths"]["/v2/engagements"]["post"]["responses"])
    assert set(ours["paths"]["/v2/engagements"]["post"]["responses"]) == vendor_codes | {
        "201",
        "503",
    }
