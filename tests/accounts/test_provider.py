"""SqlAccountProvider: exact, user-scoped answers; identifiers sealed at rest; seeding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.provider import TransactionQuery
from authserver.accounts.seed import iban_check_digits
from authserver.accounts.seed import seed_demo_accounts
from authserver.accounts.sql import SqlAccountProvider
from authserver.clock import FrozenClock
from authserver.crypto.envelope import DecryptionError
from authserver.db import db
from authserver.experience import experience
from tests.accounts.data import make_account
from tests.accounts.data import make_transactions
from tests.accounts.data import store

NUMBER = "40123456781234"


@pytest.fixture
def provider(app: Flask) -> Iterator[SqlAccountProvider]:
    with app.app_context():
        found = experience(app).accounts
        assert isinstance(found, SqlAccountProvider)
        yield found
        db.session.rollback()


@pytest.fixture
def bob(app: Flask, provider: SqlAccountProvider) -> str:
    return experience(app).users.create("bob", "another horse battery", actor="test").user.id


def test_accounts_are_scoped_to_their_user(
    provider: SqlAccountProvider, user: str, bob: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    make_account(provider, bob, "acc-b", "40999999990000", clock.now())
    db.session.commit()

    assert [a.account_id for a in provider.accounts_of(user)] == ["acc-a"]
    assert [a.account_id for a in provider.accounts(user, ["acc-a", "acc-b"])] == ["acc-a"]
    assert provider.accounts(user, ["acc-b"]) == []
    assert [b.account_id for b in provider.balances(user, ["acc-a", "acc-b"])] == ["acc-a"]
    store(provider, make_transactions("acc-b", clock.now() - timedelta(days=5), 3))
    page = provider.transactions(
        user, TransactionQuery(["acc-b"], None, None, credits=True, debits=True)
    )
    assert page.transactions == ()


def test_account_round_trips_with_identifiers(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    made = make_account(provider, user, "acc-a", NUMBER, clock.now(), balance="12.30")
    db.session.commit()
    db.session.expunge_all()

    (found,) = provider.accounts(user, ["acc-a"])
    assert found == made
    (balance,) = provider.balances(user, ["acc-a"])
    assert str(balance.amount) == "12.30"
    assert balance.at == clock.now()


def test_identifiers_are_stored_sealed(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    store(provider, make_transactions("acc-a", clock.now() - timedelta(days=3), 2))

    raw = db.session.execute(sa.text("SELECT * FROM accounts")).mappings().one()
    assert all(NUMBER not in str(value) and "GB33" not in str(value) for value in raw.values())
    assert raw["masked"] == "••••1234"
    for row in db.session.execute(sa.text("SELECT * FROM account_transactions")).mappings():
        assert all("40998877665544" not in str(value) for value in row.values())
    # Bound to its row: account B's row holding A's sealed identifiers does not open.
    make_account(provider, user, "acc-b", "40999999990000", clock.now())
    db.session.commit()
    db.session.execute(
        sa.text(
            "UPDATE accounts SET identifiers_sealed = "
            "(SELECT identifiers_sealed FROM accounts WHERE account_id = :a) "
            "WHERE account_id = :b"
        ),
        {"a": "acc-a", "b": "acc-b"},
    )
    with pytest.raises(DecryptionError):
        provider.accounts(user, ["acc-b"])


def test_transaction_window_is_inclusive_and_newest_first(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    start = clock.now() - timedelta(days=30)
    made = make_transactions("acc-a", start, 10)
    store(provider, made)

    page = provider.transactions(
        user,
        TransactionQuery(
            ["acc-a"], made[2].booked_at, made[6].booked_at, credits=True, debits=True
        ),
    )
    assert [t.transaction_id for t in page.transactions] == [
        made[i].transaction_id for i in (6, 5, 4, 3, 2)
    ]
    assert page.first_available == made[2].booked_at
    assert page.last_available == made[6].booked_at
    assert page.transactions[0] == made[6]  # counterparty opened, amounts exact


def test_credits_only_and_debits_only(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    store(provider, make_transactions("acc-a", clock.now() - timedelta(days=30), 10))

    def directions(credits: bool, debits: bool) -> set[str]:
        query = TransactionQuery(["acc-a"], None, None, credits=credits, debits=debits)
        return {t.credit_debit for t in provider.transactions(user, query).transactions}

    assert directions(True, False) == {CREDIT}
    assert directions(False, True) == {DEBIT}
    assert directions(True, True) == {CREDIT, DEBIT}
    assert directions(False, False) == set()


def test_paging_is_stable_and_counts_pages(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    # Every transaction at the same instant: only the tie-break orders them.
    made = make_transactions("acc-a", clock.now() - timedelta(days=1), 25, step=timedelta(0))
    store(provider, made)

    def page(number: int) -> list[str]:
        query = TransactionQuery(["acc-a"], None, None, True, True, page=number, page_size=10)
        result = provider.transactions(user, query)
        assert result.total_pages == 3
        return [t.transaction_id for t in result.transactions]

    seen = page(1) + page(2) + page(3)
    assert len(seen) == 25
    assert seen == sorted({t.transaction_id for t in made}, reverse=True)
    assert page(4) == []
    full = provider.transactions(user, TransactionQuery(["acc-a"], None, None, True, True))
    assert (full.first_available, full.last_available) == (made[0].booked_at, made[0].booked_at)


def test_holds_names_only_the_users_accounts(
    provider: SqlAccountProvider, user: str, bob: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    make_account(provider, bob, "acc-b", "40999999990000", clock.now())
    db.session.commit()
    assert provider.holds(user, ["acc-a", "acc-b", "acc-x"]) == {"acc-a"}
    assert provider.holds(bob, []) == frozenset()


def test_a_basic_query_never_opens_the_counterparty_account(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    make_account(provider, user, "acc-a", NUMBER, clock.now())
    store(provider, make_transactions("acc-a", clock.now() - timedelta(days=3), 2))
    basic = TransactionQuery(["acc-a"], None, None, True, True, counterparty_details=False)
    detail = TransactionQuery(["acc-a"], None, None, True, True)
    assert {
        t.counterparty_identification for t in provider.transactions(user, basic).transactions
    } == {None}
    assert {
        t.counterparty_identification for t in provider.transactions(user, detail).transactions
    } == {"40998877665544"}


def test_seeding_is_deterministic_and_idempotent(
    provider: SqlAccountProvider, user: str, clock: FrozenClock
) -> None:
    assert seed_demo_accounts(provider, user, clock.now()) is True
    db.session.commit()
    assert seed_demo_accounts(provider, user, clock.now()) is False
    db.session.commit()

    accounts = provider.accounts_of(user)
    assert len(accounts) >= 2
    assert all(a.currency == "GBP" for a in accounts)
    assert {a.type_code for a in accounts} >= {"CACC", "SVGS"}
    for account in accounts:
        schemes = {i.scheme_name: i.identification for i in account.identifiers}
        assert len(schemes["UK.OBIE.SortCodeAccountNumber"]) == 14
        iban = schemes["UK.OBIE.IBAN"]
        assert iban.startswith("GB")
        assert len(iban) == 22
        assert mod97(iban[4:] + iban[:4]) == 1
    ids = [a.account_id for a in accounts]
    everything = provider.transactions(
        user, TransactionQuery(ids, None, None, True, True, page_size=10_000)
    )
    count = db.session.scalar(sa.text("SELECT COUNT(*) FROM account_transactions"))
    assert count == len(everything.transactions) > 300
    assert everything.first_available is not None
    assert everything.last_available is not None
    assert everything.last_available - everything.first_available > timedelta(days=350)
    assert everything.last_available <= clock.now()
    informations = {t.information for t in everything.transactions}
    assert "ACME WIDGETS LTD SALARY" in informations
    assert "INTEREST PAID" in informations
    assert any(t.merchant_category_code == "5411" for t in everything.transactions)
    salaries = [t for t in everything.transactions if t.information.endswith("SALARY")]
    assert 11 <= len(salaries) <= 13
    assert all(t.credit_debit == CREDIT for t in salaries)
    assert len(provider.balances(user, ids)) == 2 * len(ids)


def mod97(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text)) % 97


def test_iban_check_digits_match_a_published_example() -> None:
    # The IBAN registry's UK example: GB29 NWBK 6016 1331 9268 19.
    assert iban_check_digits("GB", "NWBK60161331926819") == "29"
