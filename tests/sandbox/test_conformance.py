"""Property-based conformance: schemathesis drives the sandbox from its OpenAPI document.

schemathesis's own pytest plugin does not run on this pytest (it reads a private
attribute pytest 9 removed), so its strategies are used directly with Hypothesis.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import SANDBOX_TOKEN, Sandboxes

# Heavy: schemathesis drives every sandbox answer.
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow


def test_every_answer_conforms_to_the_document(sandboxes: Sandboxes) -> None:
    """Whatever is sent, every answer has a documented status, content type and body schema."""
    server = sandboxes.start()
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert [(op.method.upper(), op.path) for op in operations] == [("POST", "/v2/engagements")]
    statuses: set[int] = set()
    for operation in operations:

        @given(operation.as_strategy())
        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # Excluded: "schema-valid data is accepted". The vendor's schema omits rules its
            # docs state elsewhere (lengths 1-500, https only, no private addresses), and its
            # 422 description says such bodies are refused; the sandbox refuses them too.
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
                excluded_checks=[positive_data_acceptance],
            )
            statuses.add(response.status_code)

        check()
    assert statuses >= {201, 422}
