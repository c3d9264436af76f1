"""``OBReadConsent1`` parsing: each rule, its v4.0 code and JSON path, and many at once."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest

from authserver.openbanking.account_access import parse_consent_request
from authserver.openbanking.errors import OBErrorResponse

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASIC = ["ReadAccountsBasic"]


def body(**data: Any) -> dict[str, Any]:
    return {"Data": {"Permissions": BASIC, **data}, "Risk": {}}


def errors_of(value: Any) -> list[tuple[str, str | None]]:
    with pytest.raises(OBErrorResponse) as caught:
        parse_consent_request(value, now=NOW)
    assert caught.value.status == 400
    return [(e.code, e.path) for e in caught.value.errors]


def test_a_minimal_request_parses() -> None:
    parsed = parse_consent_request(body(), now=NOW)
    assert parsed.permissions == ("ReadAccountsBasic",)
    assert (parsed.expiration, parsed.transactions_from, parsed.transactions_to) == (None,) * 3
    assert parsed.risk == {}
    assert parsed.details() == {"Permissions": ["ReadAccountsBasic"]}


def test_dates_become_aware_utc_and_details_keep_them_as_sent() -> None:
    sent = {
        "ExpirationDateTime": "2026-12-31T23:00:00+02:00",
        "TransactionFromDateTime": "2026-01-01T00:00:00Z",
        "TransactionToDateTime": "2026-05-31T00:00:00+00:00",
    }
    parsed = parse_consent_request(body(**sent), now=NOW)
    assert parsed.expiration == datetime(2026, 12, 31, 21, 0, tzinfo=UTC)
    assert parsed.expiration.tzinfo is UTC
    assert parsed.transactions_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed.details() == {"Permissions": BASIC, **sent}


@pytest.mark.parametrize("value", [[], "x", 42, None])
def test_a_body_that_is_no_object_is_u010(value: Any) -> None:
    assert errors_of(value) == [("U010", None)]


@pytest.mark.parametrize("missing", ["Data", "Risk"])
def test_data_and_risk_are_required_u004(missing: str) -> None:
    value = body()
    del value[missing]
    assert errors_of(value) == [("U004", missing)]


@pytest.mark.parametrize("name", ["Data", "Risk"])
def test_data_and_risk_must_be_objects_u002(name: str) -> None:
    value = body()
    value[name] = []
    assert errors_of(value) == [("U002", name)]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({**body(), "Extra": 1}, "Extra"),
        (body(Colour="red"), "Data.Colour"),
        (
            {"Data": {"Permissions": BASIC}, "Risk": {"PaymentContextCode": "x"}},
            "Risk.PaymentContextCode",
        ),
    ],
    ids=["top", "data", "risk"],
)
def test_unknown_fields_anywhere_are_u005_with_their_path(value: Any, path: str) -> None:
    assert errors_of(value) == [("U005", path)]


def test_permissions_are_required_u004() -> None:
    assert errors_of({"Data": {}, "Risk": {}}) == [("U004", "Data.Permissions")]


@pytest.mark.parametrize("value", [[], "ReadAccountsBasic", None, {"a": 1}])
def test_permissions_must_be_a_non_empty_list_u002(value: Any) -> None:
    assert errors_of(body(Permissions=value)) == [("U002", "Data.Permissions")]


def test_each_unknown_permission_is_u002_at_its_index() -> None:
    value = body(Permissions=["ReadAccountsBasic", "ReadEverything", 7, "ReadBalances"])
    assert errors_of(value) == [("U002", "Data.Permissions[1]"), ("U002", "Data.Permissions[2]")]


def test_a_duplicate_permission_is_u002_at_the_repeat() -> None:
    value = body(Permissions=["ReadBalances", "ReadAccountsBasic", "ReadBalances"])
    assert errors_of(value) == [("U002", "Data.Permissions[2]")]


@pytest.mark.parametrize(
    "permissions",
    [
        ["ReadTransactionsCredits"],
        ["ReadTransactionsDebits", "ReadAccountsBasic"],
        ["ReadTransactionsBasic"],
        ["ReadTransactionsDetail", "ReadBalances"],
    ],
)
def test_combination_rules_are_u001(permissions: list[str]) -> None:
    assert errors_of(body(Permissions=permissions)) == [("U001", "Data.Permissions")]


def test_a_coherent_transaction_set_passes() -> None:
    permissions = ["ReadTransactionsBasic", "ReadTransactionsCredits"]
    assert parse_consent_request(body(Permissions=permissions), now=NOW).permissions == tuple(
        permissions
    )


@pytest.mark.parametrize(
    "field", ["ExpirationDateTime", "TransactionFromDateTime", "TransactionToDateTime"]
)
@pytest.mark.parametrize(
    "value",
    ["2026-13-01T00:00:00Z", "2027-01-01T00:00:00", "2027-01-01", "tomorrow", 1767225600, None, ""],
    ids=["bad-month", "naive", "date-only", "words", "number", "null", "empty"],
)
def test_date_times_need_iso_8601_with_a_timezone_u002(field: str, value: Any) -> None:
    assert errors_of(body(**{field: value})) == [("U002", f"Data.{field}")]


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-30)])
def test_expiration_must_be_strictly_in_the_future_u003(offset: timedelta) -> None:
    value = body(ExpirationDateTime=(NOW + offset).isoformat())
    assert errors_of(value) == [("U003", "Data.ExpirationDateTime")]


def test_expiration_one_second_ahead_passes() -> None:
    value = body(ExpirationDateTime=(NOW + timedelta(seconds=1)).isoformat())
    assert parse_consent_request(value, now=NOW).expiration == NOW + timedelta(seconds=1)


def test_from_after_to_is_u003_on_to() -> None:
    value = body(
        TransactionFromDateTime="2026-03-01T00:00:00Z",
        TransactionToDateTime="2026-02-28T23:59:59Z",
    )
    assert errors_of(value) == [("U003", "Data.TransactionToDateTime")]


def test_from_equal_to_passes() -> None:
    same = "2026-03-01T00:00:00Z"
    parse_consent_request(body(TransactionFromDateTime=same, TransactionToDateTime=same), now=NOW)


def test_every_failing_field_is_reported_at_once() -> None:
    value = {
        "Data": {
            "Permissions": ["ReadTransactionsCredits", "Nope", "ReadTransactionsCredits"],
            "ExpirationDateTime": "2020-01-01T00:00:00Z",
            "TransactionFromDateTime": "2026-03-01T00:00:00",
            "TransactionToDateTime": "later",
            "Purpose": "x",
        },
        "Risk": {"Foo": 1},
        "Meta": {},
    }
    assert sorted(errors_of(value)) == sorted(
        [
            ("U005", "Meta"),
            ("U005", "Risk.Foo"),
            ("U005", "Data.Purpose"),
            ("U002", "Data.Permissions[1]"),
            ("U002", "Data.Permissions[2]"),
            ("U001", "Data.Permissions"),
            ("U003", "Data.ExpirationDateTime"),
            ("U002", "Data.TransactionFromDateTime"),
            ("U002", "Data.TransactionToDateTime"),
        ]
    )


def test_messages_never_echo_the_input() -> None:
    secret = "<script>alert(1)</script>"
    value = {"Data": {"Permissions": [secret], secret: 1, "ExpirationDateTime": secret}, "Risk": {}}
    with pytest.raises(OBErrorResponse) as caught:
        parse_consent_request(value, now=NOW)
    for error in caught.value.errors:
        assert secret not in error.message


def test_an_invented_field_name_is_rendered_printable_and_bounded() -> None:
    from authserver.openbanking.errors import OBError

    rendered = OBError("U005", "Unexpected.", "Data." + "\u202e\x00" + "x" * 900).to_json()
    assert rendered["Path"].startswith("Data.??x")
    assert len(rendered["Path"]) == 500
    assert rendered["Path"].isascii()
    assert rendered["Path"].isprintable()
