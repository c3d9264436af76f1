"""Deterministic demo account data: a current account and a savings account with a
year of ordinary-looking transactions, for the demo user and the tests.

``random.Random`` seeded from the user id (no network, no clock but ``now``): the same
user always gets the same accounts, numbers and transactions, and seeding a user who
already has accounts changes nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal

from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.provider import Account
from authserver.accounts.provider import AccountIdentifier
from authserver.accounts.provider import Balance
from authserver.accounts.provider import Transaction
from authserver.accounts.sql import SqlAccountProvider

SORT_CODE_NUMBER = "UK.OBIE.SortCodeAccountNumber"
IBAN = "UK.OBIE.IBAN"
BANK_CODE = "AUTH"
"""The IBAN bank code of this demo bank (four letters, as in ``GBkk BBBB SSSSSS AAAAAAAA``)."""
DAYS = 365

# (merchant, MCC, lowest, highest amount in pounds, visits per week)
_CARD_SPENDS: tuple[tuple[str, str, int, int, float], ...] = (
    ("TESCO STORES", "5411", 12, 85, 1.5),
    ("SAINSBURYS", "5411", 8, 60, 1.0),
    ("PRET A MANGER", "5814", 3, 9, 2.0),
    ("TFL TRAVEL CH", "4111", 3, 12, 3.0),
    ("AMAZON UK MARKETPLACE", "5942", 7, 60, 0.6),
    ("SHELL PETROL", "5541", 35, 70, 0.3),
    ("DISHOOM", "5812", 25, 80, 0.2),
    ("BOOTS", "5912", 4, 25, 0.4),
)
# (payee, reference, pounds, day of month)
_DIRECT_DEBITS: tuple[tuple[str, str, str, int], ...] = (
    ("BRITISH GAS", "GAS AND ELECTRIC", "86.40", 5),
    ("THAMES WATER", "WATER", "38.12", 8),
    ("LONDON BOROUGH COUNCIL", "COUNCIL TAX", "142.00", 1),
    ("VIRGIN MEDIA", "BROADBAND", "45.00", 12),
    ("VODAFONE", "MOBILE", "22.00", 15),
)


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 mod-97: the two digits that make the IBAN's remainder 1."""
    digits = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _identifiers(rng: random.Random) -> tuple[AccountIdentifier, ...]:
    sort_code = "40" + "".join(str(rng.randrange(10)) for _ in range(4))
    number = "".join(str(rng.randrange(10)) for _ in range(8))
    bban = BANK_CODE + sort_code + number
    return (
        AccountIdentifier(SORT_CODE_NUMBER, sort_code + number),
        AccountIdentifier(IBAN, "GB" + iban_check_digits("GB", bban) + bban),
    )


@dataclass
class _Ledger:
    """One account's transactions: a day's postings are booked in time order at the end
    of the day, each with the running balance after it."""

    account_id: str
    rng: random.Random
    balance: Decimal
    entries: list[Transaction] = field(default_factory=list)
    pending: list[Transaction] = field(default_factory=list)

    def post(
        self,
        at: datetime,
        direction: str,
        amount: Decimal,
        information: str,
        *,
        reference: str | None = None,
        counterparty_name: str | None = None,
        counterparty_scheme: str | None = None,
        counterparty_identification: str | None = None,
        merchant_name: str | None = None,
        merchant_category_code: str | None = None,
    ) -> None:
        self.pending.append(
            Transaction(
                transaction_id=_uuid(self.rng),
                account_id=self.account_id,
                credit_debit=direction,
                status="BOOK",
                booked_at=at,
                value_at=at,
                amount=amount,
                currency="GBP",
                information=information,
                reference=reference,
                counterparty_name=counterparty_name,
                counterparty_scheme=counterparty_scheme,
                counterparty_identification=counterparty_identification,
                merchant_name=merchant_name,
                merchant_category_code=merchant_category_code,
            )
        )

    def close_day(self, now: datetime) -> None:
        for entry in sorted(self.pending, key=lambda e: e.booked_at):
            if entry.booked_at > now:
                continue
            self.balance += entry.amount if entry.credit_debit == CREDIT else -entry.amount
            self.entries.append(replace(entry, balance_after=self.balance))
        self.pending.clear()


def _at(day: date, rng: random.Random, earliest: int = 7, latest: int = 21) -> datetime:
    moment = time(rng.randrange(earliest, latest), rng.randrange(60), rng.randrange(60))
    return datetime.combine(day, moment, tzinfo=UTC)


def _pounds(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100 + 1)).scaleb(-2)


def seed_demo_accounts(provider: SqlAccountProvider, user_id: str, now: datetime) -> bool:
    """Give ``user_id`` a current and a savings account (GBP) with a year of history up
    to ``now``; False (and nothing written) when the user already holds accounts. The
    caller commits."""
    if provider.has_accounts(user_id):
        return False
    # Demo data, not secrets: a seeded PRNG keeps it the same for the same user.
    rng = random.Random(f"authserver-demo:{user_id}")  # noqa: S311
    start = (now - timedelta(days=DAYS)).date()
    current_ids, savings_ids = _identifiers(rng), _identifiers(rng)
    current = Account(
        account_id=_uuid(rng),
        user_id=user_id,
        currency="GBP",
        category="Personal",
        type_code="CACC",
        nickname="Everyday Account",
        opening_date=start - timedelta(days=rng.randrange(400, 3000)),
        identifiers=current_ids,
    )
    savings = Account(
        account_id=_uuid(rng),
        user_id=user_id,
        currency="GBP",
        category="Personal",
        type_code="SVGS",
        nickname="Rainy Day Saver",
        opening_date=start - timedelta(days=rng.randrange(100, 400)),
        identifiers=savings_ids,
    )
    spending = _Ledger(current.account_id, rng, Decimal("1250.00"))
    saving = _Ledger(savings.account_id, rng, Decimal("3400.00"))
    landlord = "".join(str(rng.randrange(10)) for _ in range(14))
    employer = "".join(str(rng.randrange(10)) for _ in range(14))
    for offset in range(DAYS + 1):
        day = start + timedelta(days=offset)
        _one_day(day, rng, spending, saving, current, savings, landlord, employer)
        spending.close_day(now)
        saving.close_day(now)
    for account, ledger in ((current, spending), (savings, saving)):
        provider.add_account(account, _balances(account, ledger.balance, now), now)
    provider.add_transactions(spending.entries + saving.entries)
    return True


def _one_day(
    day: date,
    rng: random.Random,
    spending: _Ledger,
    saving: _Ledger,
    current: Account,
    savings: Account,
    landlord: str,
    employer: str,
) -> None:
    if day.day == 1:
        spending.post(
            _at(day, rng, 6, 8),
            DEBIT,
            Decimal("1150.00"),
            "RENT FLAT 2 - STANDING ORDER",
            reference="RENT",
            counterparty_name="M HOLLOWAY LETTINGS",
            counterparty_scheme=SORT_CODE_NUMBER,
            counterparty_identification=landlord,
        )
    for payee, reference, amount, day_of_month in _DIRECT_DEBITS:
        if day.day == day_of_month:
            spending.post(
                _at(day, rng, 5, 7),
                DEBIT,
                Decimal(amount),
                f"{payee} DIRECT DEBIT",
                reference=reference,
                counterparty_name=payee,
            )
    if day.day == 25:
        spending.post(
            _at(day, rng, 0, 2),
            CREDIT,
            Decimal("2850.00") + _pounds(rng, 0, 40),
            "ACME WIDGETS LTD SALARY",
            reference="SALARY",
            counterparty_name="ACME WIDGETS LTD",
            counterparty_scheme=SORT_CODE_NUMBER,
            counterparty_identification=employer,
        )
    if day.day == 26:
        moment = _at(day, rng, 9, 10)
        transfer = Decimal("300.00")
        spending.post(
            moment,
            DEBIT,
            transfer,
            "TRANSFER TO RAINY DAY SAVER",
            reference="SAVINGS",
            counterparty_name=savings.nickname,
            counterparty_scheme=SORT_CODE_NUMBER,
            counterparty_identification=savings.identifiers[0].identification,
        )
        saving.post(
            moment,
            CREDIT,
            transfer,
            "TRANSFER FROM EVERYDAY ACCOUNT",
            reference="SAVINGS",
            counterparty_name=current.nickname,
            counterparty_scheme=SORT_CODE_NUMBER,
            counterparty_identification=current.identifiers[0].identification,
        )
    if day.day == 28:
        interest = (saving.balance * Decimal("0.035") / 12).quantize(Decimal("0.01"))
        saving.post(_at(day, rng, 1, 3), CREDIT, interest, "INTEREST PAID")
    for merchant, mcc, low, high, per_week in _CARD_SPENDS:
        visits = int(per_week / 7) + (1 if rng.random() < (per_week / 7) % 1 else 0)
        for _ in range(visits):
            spending.post(
                _at(day, rng),
                DEBIT,
                _pounds(rng, low, high),
                f"CARD PAYMENT TO {merchant}",
                merchant_name=merchant,
                merchant_category_code=mcc,
            )
    if rng.random() < 0.02:
        spending.post(
            _at(day, rng),
            CREDIT,
            _pounds(rng, 5, 40),
            "REFUND FROM AMAZON UK MARKETPLACE",
            merchant_name="AMAZON UK MARKETPLACE",
            merchant_category_code="5942",
        )


def _balances(account: Account, booked: Decimal, now: datetime) -> list[Balance]:
    direction = CREDIT if booked >= 0 else DEBIT
    return [
        Balance(account.account_id, direction, kind, now, abs(booked), "GBP")
        for kind in ("ITBD", "ITAV")
    ]
