"""Fixtures of the webhook tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from authserver.context import Services
from tests.webhooks.kit import EventsCaller
from tests.webhooks.kit import events_caller
from tppkit import Tpp


@pytest.fixture
def caller(client: FlaskClient, services_: Services, tpp: Tpp) -> EventsCaller:
    """``tpp`` with a DPoP-bound client-credentials token for /webhooks/*."""
    return events_caller(client, services_, tpp)
