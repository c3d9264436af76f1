"""Assertion helpers shared by the suite."""

from __future__ import annotations

from typing import Any


def assert_oauth_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """Status, error code and JSON shape together, the way a strict client reads them."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"] == error, body
    return body
