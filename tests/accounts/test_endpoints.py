"""The accounts resource server through real tokens, real DPoP proofs and real consents:
one rule per test (TOK-7 data minimisation, consent status, paging, audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from authserver.accounts.sql import SqlAccountProvider
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.accounts.data import make_account
from tests.accounts.data import make_transactions
from tests.accounts.kit import DETAIL
from tests.accounts.kit import AccountsCaller
from tests.accounts.kit import authorised_consent
from tests.accounts.kit import caller_for
from tests.accounts.kit import error_codes
from tests.lifecycle import client_credentials_token
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

NUMBER = "40123456781234"
OTHER_NUMBER = "40555555550000"
DETAIL_ONLY = {
    "TransactionReference",
    "Balance",
    "MerchantDetails",
    "CreditorAccount",
    "DebtorAccount",
}
ALL_PATHS = [
    "/accounts",
    "/accounts/acc-1",
    "/accounts/acc-1/balances",
    "/accounts/acc-1/transactions",
    "/balances",
    "/transactions",
]


@dataclass
class Bank:
    """alice holds acc-1 (40 daily transactions) and acc-2; bob holds acc-b."""

    user: str
    bob: str
    start: datetime
    window: tuple[datetime, datetime]


@pytest.fixture
def bank(app: Flask, user: str, clock: FrozenClock) -> Bank:
    now = clock.now()
    start = now - timedelta(days=40)
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        bob = experience(app).users.create("bob", "another horse battery", actor="test").user.id
        make_account(provider, user, "acc-1", NUMBER, now)
        make_account(provider, user, "acc-2", OTHER_NUMBER, now, nickname="Saver")
        make_account(provider, bob, "acc-b", "40777777770000", now)
        provider.add_transactions(make_transactions("acc-1", start, 40))
        provider.add_transactions(make_transactions("acc-2", start, 5))
        provider.add_transactions(make_transactions("acc-b", start, 5))
        db.session.commit()
    return Bank(user, bob, start, (now - timedelta(days=30), now - timedelta(days=10)))


@pytest.fixture
def grant(app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, bank: Bank) -> Any:
    """``grant(permissions=..., selected=..., ...)``: an AUTH consent and a caller for it."""

    def _grant(**options: Any) -> tuple[str, AccountsCaller]:
        options.setdefault("selected", ["acc-1"])
        options.setdefault("transactions_from", bank.window[0])
        options.setdefault("transactions_to", bank.window[1])
        consent_id = authorised_consent(app, tpp.client_id, bank.user, **options)
        return consent_id, caller_for(app, client, services_, tpp.client_id, bank.user, consent_id)

    return _grant


def transactions(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    found: list[dict[str, Any]] = response.get_json()["Data"]["Transaction"]
    return found


def assert_refused(response: Any, code: str, path: str | None = None) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)
    assert error_codes(response) == [(code, path)]


# -- accounts -------------------------------------------------------------------------


def test_accounts_list_only_the_selected_accounts_with_identifiers_under_detail(
    grant: Any,
) -> None:
    _, caller = grant(permissions=["ReadAccountsDetail"])

    response = caller.get("/accounts")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["x-fapi-interaction-id"]
    body = response.get_json()
    assert body["Links"]["Self"] == "https://as.example.test/open-banking/v4.0/aisp/accounts"
    assert body["Meta"] == {"TotalPages": 1}
    (account,) = body["Data"]["Account"]
    assert account == {
        "AccountId": "acc-1",
        "Currency": "GBP",
        "AccountCategory": "Personal",
        "AccountTypeCode": "CACC",
        "Nickname": "Everyday Account",
        "OpeningDate": "2020-01-02T00:00:00+00:00",
        "Account": [
            {
                "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                "Identification": NUMBER,
                "Name": "A Person",
            },
            {"SchemeName": "UK.OBIE.IBAN", "Identification": "GB33AUTH" + NUMBER},
        ],
    }
    assert caller.get("/accounts/acc-1").get_json()["Data"]["Account"] == [account]


def test_basic_accounts_omit_the_identifiers(grant: Any) -> None:
    _, caller = grant(permissions=["ReadAccountsBasic"])

    (account,) = caller.get("/accounts/acc-1").get_json()["Data"]["Account"]

    assert "Account" not in account
    assert NUMBER not in caller.get("/accounts").get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/accounts/acc-2", "/accounts/acc-2/balances", "/accounts/acc-2/transactions"]
)
def test_an_account_not_selected_is_refused_not_empty(grant: Any, path: str) -> None:
    _, caller = grant()

    assert_refused(caller.get(path), "U011", "AccountId")


def test_an_account_of_another_user_is_refused_even_when_selected(grant: Any) -> None:
    # The consent page offers only the user's accounts; the server does not rely on it.
    _, caller = grant(selected=["acc-1", "acc-b"])

    for path in ("/accounts/acc-b", "/accounts/acc-b/balances", "/accounts/acc-b/transactions"):
        assert_refused(caller.get(path), "U011", "AccountId")
    listed = caller.get("/accounts").get_json()["Data"]["Account"]
    assert [a["AccountId"] for a in listed] == ["acc-1"]
    assert {b["AccountId"] for b in caller.get("/balances").get_json()["Data"]["Balance"]} == {
        "acc-1"
    }
    assert {t["AccountId"] for t in transactions(caller.get("/transactions"))} == {"acc-1"}


def test_accounts_need_an_accounts_permission(grant: Any) -> None:
    _, caller = grant(permissions=["ReadBalances"])

    assert_refused(caller.get("/accounts"), "U009")
    assert_refused(caller.get("/accounts/acc-1"), "U009")


# -- balances ---------------------------------------------------------------------------


def test_balances_with_read_balances(grant: Any, clock: FrozenClock) -> None:
    _, caller = grant(permissions=["ReadBalances"], selected=["acc-1", "acc-2"])

    (one,) = caller.get("/accounts/acc-1/balances").get_json()["Data"]["Balance"]
    both = caller.get("/balances").get_json()["Data"]["Balance"]

    assert one == {
        "AccountId": "acc-1",
        "CreditDebitIndicator": "Credit",
        "Type": "ITBD",
        "DateTime": clock.now().isoformat(),
        "Amount": {"Amount": "100.00", "Currency": "GBP"},
    }
    assert [b["AccountId"] for b in both] == ["acc-1", "acc-2"]


def test_balances_without_read_balances_are_refused(grant: Any) -> None:
    _, caller = grant(permissions=["ReadAccountsDetail"])

    assert_refused(caller.get("/accounts/acc-1/balances"), "U009")
    assert_refused(caller.get("/balances"), "U009")


# -- transactions -----------------------------------------------------------------------


def test_transactions_stay_inside_the_consent_window(grant: Any, bank: Bank) -> None:
    _, caller = grant()

    found = transactions(caller.get("/accounts/acc-1/transactions"))

    booked = [datetime.fromisoformat(t["BookingDateTime"]) for t in found]
    low, high = bank.window
    # Daily from start: day 10 is the window's first instant, day 30 its last (inclusive).
    assert len(found) == 21
    assert min(booked) == low
    assert max(booked) == high
    assert booked == sorted(booked, reverse=True)


def test_the_query_window_narrows_the_consent_window(grant: Any, bank: Bank) -> None:
    _, caller = grant()
    low, _ = bank.window

    found = transactions(
        caller.get(
            "/accounts/acc-1/transactions",
            fromBookingDateTime=(low - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S"),
            toBookingDateTime=(low + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"),
        )
    )

    booked = sorted(datetime.fromisoformat(t["BookingDateTime"]) for t in found)
    assert booked == [low, low + timedelta(days=1), low + timedelta(days=2)]


def test_a_window_that_does_not_intersect_is_an_empty_page(grant: Any, bank: Bank) -> None:
    _, caller = grant()
    after = bank.window[1] + timedelta(days=1)

    response = caller.get("/transactions", fromBookingDateTime=after.strftime("%Y-%m-%dT%H:%M:%S"))

    assert transactions(response) == []
    assert response.get_json()["Meta"]["TotalPages"] == 1


@pytest.mark.parametrize("name", ["fromBookingDateTime", "toBookingDateTime"])
@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01", "2026-01-01T25:00", "", "2026-01-01T00:00:00\x00"]
)
def test_a_bad_booking_date_time_is_400_u002(grant: Any, name: str, value: str) -> None:
    _, caller = grant()

    response = caller.get("/transactions", **{name: value})

    assert response.status_code == 400
    assert error_codes(response) == [("U002", name)]


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", "99999999"])
def test_a_bad_page_is_400_u002(grant: Any, value: str) -> None:
    _, caller = grant()

    response = caller.get("/accounts/acc-1/transactions", page=value)

    assert response.status_code == 400
    assert error_codes(response) == [("U002", "page")]


def test_a_date_only_filter_means_midnight_and_a_timezone_is_ignored(
    grant: Any, bank: Bank
) -> None:
    _, caller = grant()
    low, _ = bank.window
    day = low + timedelta(days=3)
    midnight = day.replace(hour=0, minute=0, second=0)

    dated = transactions(caller.get("/transactions", toBookingDateTime=day.date().isoformat()))
    zoned = transactions(
        caller.get(
            "/transactions", toBookingDateTime=midnight.strftime("%Y-%m-%dT%H:%M:%S") + "+05:00"
        )
    )

    assert dated == zoned
    assert all(datetime.fromisoformat(t["BookingDateTime"]) <= midnight for t in dated)


def test_credits_only_never_shows_a_debit(grant: Any) -> None:
    _, caller = grant(
        permissions=["ReadTransactionsDetail", "ReadTransactionsCredits"], selected=["acc-1"]
    )

    found = transactions(caller.get("/transactions"))

    assert found
    assert {t["CreditDebitIndicator"] for t in found} == {"Credit"}


def test_debits_only_never_shows_a_credit(grant: Any) -> None:
    _, caller = grant(permissions=["ReadTransactionsBasic", "ReadTransactionsDebits"])

    assert {t["CreditDebitIndicator"] for t in transactions(caller.get("/transactions"))} == {
        "Debit"
    }


def test_basic_transactions_drop_the_detail_only_fields(grant: Any) -> None:
    _, basic = grant(
        permissions=["ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"]
    )
    _, detail = grant()

    plain = transactions(basic.get("/transactions"))
    full = transactions(detail.get("/transactions"))

    assert all(not DETAIL_ONLY & set(t) for t in plain)
    assert "40998877665544" not in basic.get("/transactions").get_data(as_text=True)
    assert {tuple(sorted(t)) for t in plain} <= {
        (
            "AccountId",
            "Amount",
            "BookingDateTime",
            "CreditDebitIndicator",
            "Status",
            "TransactionId",
            "TransactionInformation",
            "ValueDateTime",
        )
    }
    debit = next(t for t in full if t["CreditDebitIndicator"] == "Debit")
    credit = next(t for t in full if t["CreditDebitIndicator"] == "Credit")
    assert debit["CreditorAccount"] == {
        "SchemeName": "UK.OBIE.SortCodeAccountNumber",
        "Identification": "40998877665544",
        "Name": "PAYEE LTD",
    }
    assert debit["MerchantDetails"] == {
        "MerchantName": "TESCO STORES",
        "MerchantCategoryCode": "5411",
    }
    assert credit["DebtorAccount"]["Identification"] == "40998877665544"
    assert debit["TransactionReference"].startswith("REF")
    assert debit["Balance"]["Type"] == "ITBD"
    assert debit["Amount"]["Amount"].count(".") == 1
    assert len(debit["Amount"]["Amount"].split(".")[1]) == 2


def test_transactions_need_a_transactions_permission(grant: Any) -> None:
    _, caller = grant(permissions=["ReadAccountsDetail", "ReadBalances"])

    assert_refused(caller.get("/transactions"), "U009")
    assert_refused(caller.get("/accounts/acc-1/transactions"), "U009")


def test_transactions_are_paged_a_hundred_at_a_time(
    app: Flask, grant: Any, bank: Bank, clock: FrozenClock
) -> None:
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        hourly = make_transactions(
            "acc-1", bank.window[0], 210, step=timedelta(hours=1), prefix="h"
        )
        provider.add_transactions(hourly)
        db.session.commit()
    _, caller = grant()
    base = "https://as.example.test/open-banking/v4.0/aisp/accounts/acc-1/transactions"

    first = caller.get("/accounts/acc-1/transactions").get_json()
    second = caller.get("/accounts/acc-1/transactions", page="2").get_json()
    third = caller.get("/accounts/acc-1/transactions", page="3").get_json()
    beyond = caller.get("/accounts/acc-1/transactions", page="4").get_json()

    # 21 daily + 210 hourly inside the window: 231 transactions, three pages.
    assert [len(p["Data"]["Transaction"]) for p in (first, second, third, beyond)] == [
        100,
        100,
        31,
        0,
    ]
    assert first["Meta"]["TotalPages"] == 3
    assert first["Links"] == {"Self": base, "Next": base + "?page=2"}
    assert second["Links"] == {
        "Self": base + "?page=2",
        "Next": base + "?page=3",
        "Prev": base,
    }
    assert third["Links"] == {"Self": base + "?page=3", "Prev": base + "?page=2"}
    ids = [t["TransactionId"] for p in (first, second, third) for t in p["Data"]["Transaction"]]
    assert len(set(ids)) == 231
    assert first["Meta"]["FirstAvailableDateTime"] == bank.window[0].isoformat()
    assert first["Meta"]["LastAvailableDateTime"] == bank.window[1].isoformat()


def test_paging_links_keep_the_filters(grant: Any, bank: Bank) -> None:
    _, caller = grant()
    low = bank.window[0].strftime("%Y-%m-%dT%H:%M:%S")

    body = caller.get("/transactions", fromBookingDateTime=low, page="2").get_json()

    assert body["Links"]["Prev"].endswith(
        f"/transactions?fromBookingDateTime={low.replace(':', '%3A')}"
    )


# -- the consent and the token ------------------------------------------------------------


def test_a_client_credentials_token_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, bank: Bank
) -> None:
    key = generate_key("ES256")
    token = client_credentials_token(client, services_, tpp, "accounts:read", dpop_key=key)
    caller = AccountsCaller(client, services_, token, key)

    for path in ALL_PATHS:
        assert_refused(caller.get(path), "U009")


def test_another_clients_token_is_refused(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, grant: Any, bank: Bank
) -> None:
    consent_id, _ = grant()
    other = make_tpp("tpp-two")
    caller = caller_for(app, client, services_, other.client_id, bank.user, consent_id)

    for path in ALL_PATHS:
        assert_refused(caller.get(path), "U009")


def test_a_withdrawn_consent_refuses_the_token_everywhere(
    app: Flask, services_: Services, grant: Any
) -> None:
    consent_id, caller = grant()
    assert caller.get("/accounts").status_code == 200

    with app.app_context():
        services_.revocations.revoke_consent(consent_id, actor="user:test", reason="withdrawn")
        db.session.commit()

    for path in ALL_PATHS:
        response = caller.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"] == "invalid_token"


def test_a_withdrawn_consent_refuses_a_token_issued_later(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    grant: Any,
    bank: Bank,
    tpp: Tpp,
    clock: FrozenClock,
) -> None:
    consent_id, _ = grant()
    with app.app_context():
        services_.revocations.revoke_consent(consent_id, actor="user:test", reason="withdrawn")
        db.session.commit()
    clock.advance(5)
    caller = caller_for(app, client, services_, tpp.client_id, bank.user, consent_id)

    for path in ALL_PATHS:
        assert_refused(caller.get(path), "U009")


def test_an_expired_consent_is_refused_and_becomes_expd(
    app: Flask, grant: Any, clock: FrozenClock
) -> None:
    consent_id, caller = grant(expires_at=clock.now() + timedelta(seconds=60))
    assert caller.get("/accounts").status_code == 200

    clock.advance(61)

    for path in ALL_PATHS:
        assert_refused(caller.get(path), "U009")
    with app.app_context():
        view = experience(app).consents.view(consent_id)
        assert view is not None
        assert view.status == "EXPD"


def test_every_read_is_audited_without_account_numbers(
    app: Flask, services_: Services, grant: Any
) -> None:
    consent_id, caller = grant(selected=["acc-1", "acc-2"])
    interaction = "3f1c5a2e-8b7d-4c1e-9a6f-2b3c4d5e6f70"

    response = caller.client.get(
        "/open-banking/v4.0/aisp/balances",
        headers={
            **_auth_headers(caller, "/balances"),
            "x-fapi-interaction-id": interaction,
            "X-Request-ID": "req-accounts-1",
        },
        base_url=services_.settings.issuer,
    )
    assert response.status_code == 200
    caller.get("/accounts/acc-1/transactions")

    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT event_type, actor, resource, changes, request_id FROM audit_events "
                "WHERE event_type = 'account_data.read' ORDER BY id"
            )
        ).all()
        assert services_.audit.verify().ok
    assert len(rows) == 2
    event_type, actor, resource, changes, request_id = rows[0]
    assert actor == "client:tpp-one"
    assert resource == f"consent:{consent_id}"
    assert request_id == "req-accounts-1"
    text = str(changes)
    assert "acc-1" in text
    assert "acc-2" in text
    assert "/open-banking/v4.0/aisp/balances" in text
    assert interaction in text
    assert "/accounts/acc-1/transactions" in str(rows[1][3])
    assert all(NUMBER not in str(row) and OTHER_NUMBER not in str(row) for row in rows)


def _auth_headers(caller: AccountsCaller, path: str) -> dict[str, str]:
    url = caller.svc.settings.issuer + "/open-banking/v4.0/aisp" + path
    proof = dpop_proof(
        caller.key, "GET", url, access_token=caller.token, iat=int(caller.svc.clock.time())
    )
    return {"Authorization": f"DPoP {caller.token}", "DPoP": proof}


def test_the_detail_consent_serves_every_endpoint(grant: Any) -> None:
    _, caller = grant(permissions=DETAIL)

    assert [caller.get(path).status_code for path in ALL_PATHS] == [200] * len(ALL_PATHS)


# -- the per-process grant cache (resources/accounts/access.py) ----------------------------


def test_a_second_read_under_a_consent_reads_neither_the_consent_nor_the_accounts_again(
    app: Flask, grant: Any
) -> None:
    _, caller = grant()
    assert caller.get("/accounts/acc-1/transactions").status_code == 200
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        assert caller.get("/accounts/acc-1/transactions").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)

    assert statements  # the page and the audit event are still read and written
    assert not [s for s in statements if "FROM consents" in s]
    # Ownership is checked inside the page's own query, not by a separate lookup.
    assert not [s for s in statements if s.lstrip().startswith("SELECT accounts.account_id")]


def test_a_cached_grant_is_dropped_as_soon_as_the_consent_is_withdrawn(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    grant: Any,
    tpp: Tpp,
    bank: Bank,
    clock: FrozenClock,
) -> None:
    consent_id, caller = grant()
    assert caller.get("/accounts").status_code == 200  # the grant is now cached
    with app.app_context():
        services_.revocations.revoke_consent(consent_id, actor="user:test", reason="withdrawn")
        db.session.commit()
    clock.advance(5)
    # A token issued after the withdrawal passes the token check: the consent must refuse it.
    later = caller_for(app, client, services_, tpp.client_id, bank.user, consent_id)

    for path in ALL_PATHS:
        assert_refused(later.get(path), "U009")


def test_a_cached_grant_serves_neither_another_client_nor_an_unselected_account(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, grant: Any, bank: Bank
) -> None:
    consent_id, caller = grant()
    assert caller.get("/accounts/acc-1").status_code == 200  # the grant is now cached
    other = make_tpp("tpp-two")
    intruder = caller_for(app, client, services_, other.client_id, bank.user, consent_id)

    for path in ALL_PATHS:
        assert_refused(intruder.get(path), "U009")
    assert_refused(caller.get("/accounts/acc-2"), "U011", "AccountId")
    assert_refused(caller.get("/accounts/acc-b/transactions"), "U011", "AccountId")
