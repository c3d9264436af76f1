"""Account-access permissions (``OBInternalPermissions1Code``): the list, the
combination rules, and the words a bank's customer reads on the consent page.

The rules, from the v4.0 Account and Transaction API specification:
- a Credits or Debits permission needs ReadTransactionsBasic or ReadTransactionsDetail,
  and Basic or Detail needs Credits or Debits (which direction of money the TPP sees);
- a Detail permission includes what its Basic sibling shows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

READ_ACCOUNTS_BASIC = "ReadAccountsBasic"
READ_ACCOUNTS_DETAIL = "ReadAccountsDetail"
READ_BALANCES = "ReadBalances"
READ_TRANSACTIONS_BASIC = "ReadTransactionsBasic"
READ_TRANSACTIONS_DETAIL = "ReadTransactionsDetail"
READ_TRANSACTIONS_CREDITS = "ReadTransactionsCredits"
READ_TRANSACTIONS_DEBITS = "ReadTransactionsDebits"

# The standard's full list, in its order (OBReadConsent1.Data.Permissions enum).
PERMISSIONS: tuple[str, ...] = (
    READ_ACCOUNTS_BASIC,
    READ_ACCOUNTS_DETAIL,
    READ_BALANCES,
    "ReadBeneficiariesBasic",
    "ReadBeneficiariesDetail",
    "ReadDirectDebits",
    "ReadOffers",
    "ReadPAN",
    "ReadParty",
    "ReadPartyPSU",
    "ReadProducts",
    "ReadScheduledPaymentsBasic",
    "ReadScheduledPaymentsDetail",
    "ReadStandingOrdersBasic",
    "ReadStandingOrdersDetail",
    "ReadStatementsBasic",
    "ReadStatementsDetail",
    READ_TRANSACTIONS_BASIC,
    READ_TRANSACTIONS_CREDITS,
    READ_TRANSACTIONS_DEBITS,
    READ_TRANSACTIONS_DETAIL,
)

TRANSACTION_LEVELS = frozenset({READ_TRANSACTIONS_BASIC, READ_TRANSACTIONS_DETAIL})
TRANSACTION_DIRECTIONS = frozenset({READ_TRANSACTIONS_CREDITS, READ_TRANSACTIONS_DEBITS})


@dataclass(frozen=True)
class CombinationProblem:
    """A permission set the standard does not allow; ``missing`` is what would fix it."""

    permission: str
    message: str


def combination_problems(permissions: Collection[str]) -> list[CombinationProblem]:
    """Every combination rule the set breaks (empty when it is coherent)."""
    chosen = set(permissions)
    problems: list[CombinationProblem] = []
    if chosen & TRANSACTION_DIRECTIONS and not chosen & TRANSACTION_LEVELS:
        for permission in sorted(chosen & TRANSACTION_DIRECTIONS):
            problems.append(
                CombinationProblem(
                    permission,
                    f"{permission} needs ReadTransactionsBasic or ReadTransactionsDetail.",
                )
            )
    if chosen & TRANSACTION_LEVELS and not chosen & TRANSACTION_DIRECTIONS:
        for permission in sorted(chosen & TRANSACTION_LEVELS):
            problems.append(
                CombinationProblem(
                    permission,
                    f"{permission} needs ReadTransactionsCredits or ReadTransactionsDebits.",
                )
            )
    return problems


@dataclass(frozen=True)
class AccessScope:
    """What a set of permissions lets a TPP read, as the resource server asks it."""

    accounts: bool
    account_details: bool
    balances: bool
    transactions: bool
    transaction_details: bool
    credits: bool
    debits: bool


def access_scope(permissions: Collection[str]) -> AccessScope:
    chosen = set(permissions)
    transactions = bool(chosen & TRANSACTION_LEVELS) and bool(chosen & TRANSACTION_DIRECTIONS)
    return AccessScope(
        accounts=bool(chosen & {READ_ACCOUNTS_BASIC, READ_ACCOUNTS_DETAIL}),
        account_details=READ_ACCOUNTS_DETAIL in chosen,
        balances=READ_BALANCES in chosen,
        transactions=transactions,
        transaction_details=transactions and READ_TRANSACTIONS_DETAIL in chosen,
        credits=transactions and READ_TRANSACTIONS_CREDITS in chosen,
        debits=transactions and READ_TRANSACTIONS_DEBITS in chosen,
    )


# What the other data clusters show, in a customer's words.
_OTHER_WORDS: dict[str, tuple[str, str]] = {
    "ReadBeneficiariesBasic": ("Your payees", "The people and businesses you pay"),
    "ReadBeneficiariesDetail": (
        "Your payees",
        "The people and businesses you pay, with their account details",
    ),
    "ReadDirectDebits": ("Your regular payments", "Your Direct Debits"),
    "ReadStandingOrdersBasic": ("Your regular payments", "Your standing orders"),
    "ReadStandingOrdersDetail": (
        "Your regular payments",
        "Your standing orders, with the payees' account details",
    ),
    "ReadScheduledPaymentsBasic": ("Your regular payments", "Your scheduled payments"),
    "ReadScheduledPaymentsDetail": (
        "Your regular payments",
        "Your scheduled payments, with the payees' account details",
    ),
    "ReadStatementsBasic": ("Your statements", "Your statements"),
    "ReadStatementsDetail": ("Your statements", "Your statements, with amounts"),
    "ReadProducts": ("Your products", "The products your accounts are"),
    "ReadOffers": ("Your offers", "Offers the bank has made you"),
    "ReadParty": ("Your contact details", "The account holders' names and addresses"),
    "ReadPartyPSU": ("Your contact details", "Your name and address"),
    "ReadPAN": ("Your card numbers", "Your full card numbers"),
}


def _day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def describe(
    permissions: Collection[str],
    transactions_from: datetime | None = None,
    transactions_to: datetime | None = None,
) -> list[tuple[str, list[str]]]:
    """``[(heading, [line, ...]), ...]`` in the order a customer reads them."""
    chosen = set(permissions)
    scope = access_scope(chosen)
    groups: dict[str, list[str]] = {}
    if scope.accounts:
        groups["Your account details"] = [
            "Account names, types and currencies"
            + (", with sort codes and account numbers" if scope.account_details else "")
        ]
    if scope.balances:
        groups["Your balances"] = ["The balance of each account"]
    if scope.transactions:
        if transactions_from and transactions_to:
            heading = f"Your transactions from {_day(transactions_from)} to {_day(transactions_to)}"
        elif transactions_from:
            heading = f"Your transactions from {_day(transactions_from)}"
        elif transactions_to:
            heading = f"Your transactions up to {_day(transactions_to)}"
        else:
            heading = "Your transactions"
        direction = (
            "Money in and money out"
            if scope.credits and scope.debits
            else "Money in only (credits)"
            if scope.credits
            else "Money out only (debits)"
        )
        detail = (
            "with payee and payer details and references"
            if scope.transaction_details
            else "amounts, dates and descriptions"
        )
        groups[heading] = [f"{direction}: {detail}"]
    for permission in PERMISSIONS:
        if permission in chosen and permission in _OTHER_WORDS:
            heading, line = _OTHER_WORDS[permission]
            groups.setdefault(heading, []).append(line)
    return list(groups.items())
