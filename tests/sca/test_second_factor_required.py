"""``AUTHSERVER_SCA__SECOND_FACTOR=required``: a user without one is sent to enrol first."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.settings import Settings
from conformance.tpp import Tpp
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import authorize_path
from tests.par import page
from tests.par import push
from tests.sca.helpers import password_step


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    result: Settings = make_settings(sca={"second_factor": "required"})
    return result


def test_a_password_only_user_is_sent_to_enrol_before_consenting(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    page(client, services_, authorize_path(tpp.client_id, pushed.request_uri))
    assert password_step(client, services_, USERNAME, PASSWORD).headers["Location"] == "/consent"
    refused = page(client, services_, "/consent")
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "Set up a second factor first" in text
    assert 'href="/account/security"' in text
