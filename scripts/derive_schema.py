#!/usr/bin/env python3
"""Derive, from the vendor's openapi.yaml, the files the repo keeps of it.

Keeps the facts (paths, properties, types, formats, enums, items, ``required``) and
drops the prose (descriptions, titles). Writes:

- ae_import/schema/create_request.schema.json: the create request's JSON Schema;
- ae_import/sandbox/openapi.json: the OpenAPI document the sandbox serves, with the
  statuses it adds (201 on create, 503 from --fail-rate) and its /api server.

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
SANDBOX_OUT = ROOT / "ae_import" / "sandbox" / "openapi.json"
REASONS = {
    "200": "OK (existing)",
    "201": "Created",
    "400": "Bad Request",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "Not Found",
    "409": "Conflict",
    "422": "Unprocessable Content",
    "429": "Too Many Requests",
    "500": "Internal Server Error",
    "503": "Service Unavailable",
}
PROSE = frozenset({"description", "title", "summary", "example", "examples"})


def _strip(node: Any, schemas: dict[str, Any] | None = None) -> Any:
    """Drop prose keys recursively (never property names); inline $refs when given schemas."""
    if isinstance(node, dict):
        if schemas is not None and "$ref" in node:
            return _strip(schemas[node["$ref"].rsplit("/", 1)[-1]], schemas)
        out = {k: _strip(v, schemas) for k, v in node.items() if k not in PROSE}
        if isinstance(node.get("properties"), dict):  # property names are never prose
            out["properties"] = {k: _strip(v, schemas) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [_strip(item, schemas) for item in node]
    return node


def derive(openapi: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema of the create-engagement request body found in ``openapi``."""
    schemas = openapi["components"]["schemas"]
    body = _strip(schemas["engagement_create_request"], schemas)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def _described(responses: dict[str, Any]) -> dict[str, Any]:
    """Give each response the short description OpenAPI requires (ours, not the vendor's)."""
    return {
        code: {"description": REASONS.get(code, code), **body} for code, body in responses.items()
    }


def derive_openapi(openapi: dict[str, Any]) -> dict[str, Any]:
    """Return the sandbox's OpenAPI document: the vendor's structure and schemas, no prose."""
    schemas = openapi["components"]["schemas"]
    stripped = {name: _strip(node) for name, node in schemas.items()}
    operation = _strip(openapi["paths"]["/v2/engagements"]["post"])
    responses = dict(operation["responses"])
    responses["201"] = responses["200"]  # the create status the vendor leaves unstated (NOTES.md)
    responses["503"] = responses["500"]  # the sandbox's --fail-rate also answers 503
    operation["responses"] = _described(dict(sorted(responses.items())))
    return {
        "openapi": openapi["openapi"],
        "info": {
            "title": "ae-import sandbox: Create engagement",
            "version": openapi["info"]["version"],
        },
        "servers": [{"url": "/api"}],
        "paths": {"/v2/engagements": {"post": operation}},
        "components": {
            "schemas": stripped,
            "securitySchemes": openapi["components"]["securitySchemes"],
        },
    }


def main() -> None:
    """Write the derived files into the package."""
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    vendor = yaml.safe_load(spec.read_text(encoding="utf-8"))
    for path, document in ((OUT, derive(vendor)), (SANDBOX_OUT, derive_openapi(vendor))):
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
