"""Real endpoints that need the store answer 503 JSON when Redis is down: never a 500,
never a silent in-memory fallback (OPS-6)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask

from authserver.clock import FrozenClock
from tests.helpers import app_with as built_app
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port as _closed_port
from tppkit import Tpp
from tppkit.registration import register_tpp

REDIRECT_URI = "https://tpp.example.test/cb"


def _registered_tpp(app: Flask) -> Tpp:
    tpp = register_tpp(app, "outage-tpp", redirect_uri=REDIRECT_URI, scopes=["accounts:read"])
    return dataclasses.replace(tpp, scope="accounts:read")


def test_par_with_unreachable_redis_is_503_temporarily_unavailable(
    make_settings: Any, clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_app(settings, clock) as app:
        tpp = _registered_tpp(app)
        params, _ = tpp.authorization_params()
        response = app.test_client().post("/par", data={**params, **tpp.auth_form()})
        body = assert_oauth_error(response, 503, "temporarily_unavailable")
        assert "Traceback" not in response.get_data(as_text=True)
        assert response.headers["Retry-After"]
        assert set(body) == {"error", "request_id"}


def test_token_with_unreachable_redis_is_503_temporarily_unavailable(
    make_settings: Any, clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_app(settings, clock) as app:
        tpp = _registered_tpp(app)
        form = {"grant_type": "client_credentials", **tpp.auth_form()}
        response = app.test_client().post("/token", data=form)
        assert_oauth_error(response, 503, "temporarily_unavailable")
