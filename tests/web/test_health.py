"""Liveness, readiness, and failing closed when SQL or the store is unreachable (OPS-6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask import jsonify
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import services
from authserver.settings import Settings
from tests.helpers import app_with as built_app
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port as _closed_port

UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:{port}/none"


def test_healthz_is_200_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_200_when_database_and_store_answer(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "store": "ok"},
    }


def test_readyz_is_503_when_the_store_is_unreachable(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_app(settings, clock) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "store": "unavailable"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_stays_200_when_the_store_is_unreachable(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    # Liveness must not restart a healthy process because a dependency is down.
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_app(settings, clock) as app:
        assert app.test_client().get("/healthz").status_code == 200


def test_store_write_with_unreachable_store_is_503_not_500_nor_silent_success(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    reached_after_write: list[bool] = []
    with built_app(settings, clock) as app:
        app.config["PROPAGATE_EXCEPTIONS"] = False

        @app.post("/test/remember")
        def remember() -> Any:
            services().store.set("par:abc", b"payload", ttl=60)
            reached_after_write.append(True)
            return jsonify({"stored": True})

        response = app.test_client().post("/test/remember", headers={"X-Request-ID": "req-503"})

    body = assert_oauth_error(response, 503, "temporarily_unavailable")
    assert body == {"error": "temporarily_unavailable", "request_id": "req-503"}
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert reached_after_write == []


def test_unreachable_store_does_not_fall_back_to_memory(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_app(settings, clock) as app:

        @app.get("/test/first-use")
        def first_use() -> Any:
            return jsonify({"first": services().store.first_use("jti:1", ttl=60)})

        client = app.test_client()
        responses = [client.get("/test/first-use") for _ in range(2)]

    for response in responses:
        assert_oauth_error(response, 503, "temporarily_unavailable")


def test_create_app_does_not_connect_to_an_unreachable_database(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(database_url=UNREACHABLE_DATABASE.format(port=_closed_port()))
    with built_app(settings, clock) as app:
        assert isinstance(app, Flask)


def test_readyz_is_503_when_the_database_is_unreachable(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(database_url=UNREACHABLE_DATABASE.format(port=_closed_port()))
    with built_app(settings, clock) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "store": "ok"},
    }


def test_readyz_reports_both_checks_when_everything_is_down(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(
        database_url=UNREACHABLE_DATABASE.format(port=_closed_port()),
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
    )
    with built_app(settings, clock) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unavailable", "store": "unavailable"}
