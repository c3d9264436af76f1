"""JSON log lines with the request id on each, and secrets/PII masked before rendering (DATA-2)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog
from flask import Flask
from flask import jsonify

from authserver.masking import REDACTED
from authserver.masking import mask
from authserver.masking import mask_value
from authserver.settings import Settings

# -- mask() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["password", "client_assertion", "refresh_token", "access_token", "client_secret", "code"],
)
def test_secret_fields_are_fully_redacted(field: str) -> None:
    assert mask({field: "s3cr3t-value-long-enough"}) == {field: REDACTED}


def test_secret_field_names_match_case_insensitively() -> None:
    assert mask({"Password": "hunter22", "AUTHORIZATION": "Bearer abc"}) == {
        "Password": REDACTED,
        "AUTHORIZATION": REDACTED,
    }


def test_email_is_partially_masked() -> None:
    assert mask({"email": "alice@example.com"}) == {"email": "a***m"}


def test_iban_is_partially_masked() -> None:
    masked = mask({"iban": "DE89370400440532013000"})
    assert masked == {"iban": "D***0"}
    assert "370400" not in masked["iban"]


def test_short_pii_is_fully_redacted() -> None:
    assert mask_value("abcd") == REDACTED
    assert mask({"phone": "123"}) == {"phone": REDACTED}


def test_nested_dicts_and_lists_are_masked() -> None:
    data = {
        "client": {"client_assertion": "eyJ.header.sig", "client_id": "tpp-1"},
        "users": [
            {"email": "bob@example.com", "password": "pw-123456"},
            {"email": "carol@example.com", "refresh_token": "rt-abcdef"},
        ],
        "ibans": {"iban": ["GB33BUKB20201555555555", "FR1420041010050500013M02606"]},
        "event": "login",
    }
    assert mask(data) == {
        "client": {"client_assertion": REDACTED, "client_id": "tpp-1"},
        "users": [
            {"email": "b***m", "password": REDACTED},
            {"email": "c***m", "refresh_token": REDACTED},
        ],
        "ibans": {"iban": ["G***5", "F***6"]},
        "event": "login",
    }


def test_secret_key_redacts_a_whole_nested_value() -> None:
    assert mask({"token": {"value": "abc", "kind": "refresh"}}) == {"token": REDACTED}
    assert mask({"code": ["c1", "c2"]}) == {"code": REDACTED}


def test_empty_secrets_stay_empty_so_absence_is_visible() -> None:
    assert mask({"password": "", "refresh_token": None}) == {"password": "", "refresh_token": None}


def test_mask_returns_a_copy_and_leaves_the_input_alone() -> None:
    original = {"password": "hunter22", "nested": {"email": "alice@example.com"}}
    mask(original)
    assert original == {"password": "hunter22", "nested": {"email": "alice@example.com"}}


def test_non_sensitive_values_pass_through() -> None:
    data = {"client_id": "tpp-1", "status": 200, "scopes": ["openid", "accounts"], "ok": True}
    assert mask(data) == data


# -- log lines during a request ------------------------------------------------------


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # INFO so the per-request access line is emitted too.
    result: Settings = make_settings(log_level="INFO")
    return result


def _json_lines(caplog: pytest.LogCaptureFixture, logger_prefix: str = "") -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if not record.name.startswith(logger_prefix):
            continue
        message = record.getMessage()
        assert "\n" not in message, message
        lines.append(json.loads(message))
    return lines


def test_access_log_line_is_json_with_the_request_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/healthz?code=abc", headers={"X-Request-ID": "req-log-1"})
    assert response.status_code == 200

    lines = _json_lines(caplog, "authserver.access")
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "request"
    assert line["request_id"] == "req-log-1"
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["status"] == 200
    # Path only: a query string can carry codes and tokens.
    assert line["path"] == "/healthz"
    assert "timestamp" in line
    assert "code=abc" not in caplog.text


def test_application_log_line_in_a_request_is_masked_and_carries_the_request_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    @app.post("/test/log")
    def log_something() -> Any:
        structlog.get_logger("authserver.test").warning(
            "sign_in_attempt",
            password="hunter2-long",
            client_assertion="eyJhbGciOi.payload.signature",
            refresh_token="rt-0123456789",
            email="alice@example.com",
            details={"iban": "DE89370400440532013000", "users": [{"password": "pw-987654"}]},
        )
        return jsonify({})

    app.test_client().post("/test/log", headers={"X-Request-ID": "req-log-2"})

    lines = [line for line in _json_lines(caplog) if line.get("event") == "sign_in_attempt"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "req-log-2"
    assert line["level"] == "warning"
    assert line["password"] == REDACTED
    assert line["client_assertion"] == REDACTED
    assert line["refresh_token"] == REDACTED
    assert line["email"] == "a***m"
    assert line["details"] == {"iban": "D***0", "users": [{"password": REDACTED}]}
    for secret in ("hunter2-long", "payload.signature", "rt-0123456789", "alice@", "370400"):
        assert secret not in caplog.text


def test_each_request_logs_its_own_request_id(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = app.test_client()
    client.get("/healthz", headers={"X-Request-ID": "req-a"})
    client.get("/healthz", headers={"X-Request-ID": "req-b"})
    client.get("/healthz")

    ids = [line["request_id"] for line in _json_lines(caplog, "authserver.access")]
    assert ids[:2] == ["req-a", "req-b"]
    assert len(ids) == 3
    assert ids[2] not in ("req-a", "req-b")


def test_unhandled_error_is_logged_as_json_with_the_request_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    caplog.set_level(logging.INFO)

    @app.get("/test/boom")
    def boom() -> Any:
        raise RuntimeError("kaboom")

    app.test_client().get("/test/boom", headers={"X-Request-ID": "req-log-500"})

    lines = _json_lines(caplog, "authserver.errors")
    assert [line["event"] for line in lines] == ["unhandled_error"]
    assert lines[0]["request_id"] == "req-log-500"
    assert lines[0]["level"] == "error"
    assert "RuntimeError: kaboom" in lines[0]["exception"]


def test_unhandled_error_produces_only_json_log_lines(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    caplog.set_level(logging.INFO)

    @app.get("/test/boom")
    def boom() -> Any:
        raise RuntimeError("kaboom")

    app.test_client().get("/test/boom", headers={"X-Request-ID": "req-log-500"})

    assert caplog.records
    for record in caplog.records:
        # A stdlib formatter would append a multi-line traceback for exc_info.
        assert record.exc_info is None, record.getMessage()
        line = json.loads(record.getMessage())
        assert line["request_id"] == "req-log-500"
