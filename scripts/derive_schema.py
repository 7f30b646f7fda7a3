#!/usr/bin/env python3
"""Derive the create request's JSON Schema from the vendor's openapi.yaml.

Keeps the facts (properties, types, formats, enums, items, ``required``) and drops the
prose (descriptions, titles). Writes ae_import/schema/create_request.schema.json.

Usage: python scripts/derive_schema.py [path/to/openapi.yaml]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "spec" / "openapi.yaml"
OUT = ROOT / "ae_import" / "schema" / "create_request.schema.json"
PROSE = frozenset({"description", "title", "summary", "example", "examples"})


def _resolve(node: Any, schemas: dict[str, Any]) -> Any:
    """Inline every $ref and drop prose keys, recursively."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(schemas[name], schemas)
        out = {k: _resolve(v, schemas) for k, v in node.items() if k not in PROSE}
        if isinstance(node.get("properties"), dict):  # property names are never prose
            out["properties"] = {k: _resolve(v, schemas) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [_resolve(item, schemas) for item in node]
    return node


def derive(openapi: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema of the create-engagement request body found in ``openapi``."""
    schemas = openapi["components"]["schemas"]
    body = _resolve(schemas["engagement_create_request"], schemas)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def main() -> None:
    """Write the derived schema next to the package."""
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    schema = derive(yaml.safe_load(spec.read_text(encoding="utf-8")))
    OUT.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
