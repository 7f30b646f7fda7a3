"""The header check names what the config lacks, with "did you mean" for the first few only."""

from __future__ import annotations

from typing import Any

import pytest

from ae_import.errors import ManifestError
from ae_import.mapping import Mapper, parse_mapping
from ae_import.mapping import headers as headers_module
from ae_import.mapping.headers import check_header


def test_did_you_mean_is_bounded_by_the_misses_asked_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 missing template columns against 1,000 columns: five suggestions, a short message."""
    calls: list[str] = []

    def counting(name: str, candidates: Any) -> str | None:
        calls.append(name)
        return None

    monkeypatch.setattr(headers_module, "suggest", counting)
    template = " ".join(f"{{missing {n}}}" for n in range(1000))
    mapping = parse_mapping(
        "c.yaml",
        {"defaults": {"type": "CALL", "source_system": "s"}, "columns": {"title": template}},
    )
    columns = ("external_id", "media_url", *(f"column {n}" for n in range(1000)))
    with pytest.raises(ManifestError) as refused:
        check_header(Mapper(mapping), "m.csv", columns)
    assert len(calls) == headers_module.SUGGESTED
    assert "and 980 more" in refused.value.message
    assert len(refused.value.message) < 4000
