"""Fixtures shared by the refresh-token tests of this package."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from authserver.context import Services
from tests.dpop.test_token_endpoint import code_form
from tests.dpop.test_token_endpoint import proof_for
from tests.dpop.test_token_endpoint import token
from tests.par import authorize
from tppkit import Browser
from tppkit import Tpp


@pytest.fixture
def issued(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> dict[str, Any]:
    """Tokens of ``tpp`` redeemed with a proof by ``tpp.key`` (a DPoP family)."""
    flow = authorize(client, browser, services_, tpp)
    response = token(client, services_, tpp, code_form(tpp, flow), proof_for(services_, tpp.key))
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body
