"""Assertion helpers shared by the suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask


def assert_oauth_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """Status, error code and JSON shape together, the way a strict client reads them."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"] == error, body
    return body


def closed_port() -> int:
    """A loopback port nothing listens on: bind one, note it, close it."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def app_with(settings: Any, clock: Any) -> Iterator[Flask]:
    """A second app with its own settings (e.g. an unreachable store), disposed like ``app``."""
    from authserver import create_app
    from authserver.context import services
    from authserver.db import db

    application = create_app(settings, clock=clock)
    try:
        yield application
    finally:
        services(application).revocation_view.close()
        services(application).client_cache.close()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
