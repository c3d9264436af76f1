"""The error path's own safety nets: a description with characters RFC 6749 forbids, or
input the database refuses, is still a 4xx and never a 500; other database errors stay
a bare 500 (real bugs are not hidden)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from authserver.errors import InvalidRequestError
from tests.helpers import assert_oauth_error


def _route(app: Flask, raiser: Callable[[], None]) -> None:
    def view() -> str:
        raiser()
        return "unreachable"

    app.add_url_rule("/test/raise", view_func=view)


@pytest.mark.parametrize("text", ['name "x" is repeated', "é is repeated", "a\\b", "nul \u0000"])
def test_forbidden_characters_in_a_description_fall_back_to_the_fixed_one(
    app: Flask, text: str
) -> None:
    def raiser() -> None:
        raise InvalidRequestError(text)

    _route(app, raiser)

    body = assert_oauth_error(app.test_client().get("/test/raise"), 400, "invalid_request")
    assert body["error_description"] == InvalidRequestError.description


def test_input_the_database_refuses_is_invalid_request(app: Flask) -> None:
    def raiser() -> None:
        raise sa.exc.DataError("SELECT", {}, ValueError("invalid input syntax"))

    _route(app, raiser)

    assert_oauth_error(app.test_client().get("/test/raise"), 400, "invalid_request")


def test_other_database_errors_stay_a_bare_500(app: Flask) -> None:
    def raiser() -> None:
        raise sa.exc.ProgrammingError("SELECT", {}, ValueError("no such column"))

    _route(app, raiser)

    body = assert_oauth_error(app.test_client().get("/test/raise"), 500, "server_error")
    assert set(body) == {"error", "request_id"}
