"""Property-based API tests with schemathesis: every operation of /openapi.json, generated inputs.

Each operation runs a bounded number of examples with a real merchant's token, checking
that the server never fails (5xx), answers only with documented status codes and
content types, and that every response matches its schema. The positive-data check is
left out on purpose: some rules cannot be written in a schema (a signature must decode
as a PNG, an effective date must not be in the past), so schema-valid input can still
be refused with 400/409, as documented.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance


@pytest.fixture(scope="session")
def api_schema(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="session")
def cafe_token(token_for: Any) -> str:
    return str(token_for("cafe"))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, cafe_token: str) -> None:
    """Generated requests never crash the API and every response matches the published contract."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {cafe_token}"},
        excluded_checks=[positive_data_acceptance],
    )
