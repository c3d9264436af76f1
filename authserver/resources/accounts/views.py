"""The accounts resource server (UK OB v4.0 AISP): accounts, balances and transactions.

Each endpoint: parse the query, ``account_access`` (token → consent → permission →
selected account, the one access check), one provider read, an audit event, render.
Transactions are narrowed to the consent's TransactionFromDateTime..TransactionToDateTime
intersected with the query's ``fromBookingDateTime``/``toBookingDateTime`` (a window
that does not intersect is an empty page) and to the consent's credits/debits, and
are paged ``PAGE_SIZE`` at a time, newest first.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import request

from authserver.accounts.provider import TransactionPage
from authserver.accounts.provider import TransactionQuery
from authserver.checks.identifiers import has_control_characters
from authserver.openbanking.envelope import AISP_PREFIX
from authserver.openbanking.envelope import ob_response
from authserver.openbanking.envelope import self_url
from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request
from authserver.resources.accounts import render
from authserver.resources.accounts.access import AccountAccess
from authserver.resources.accounts.access import account_access
from authserver.resources.accounts.access import record_read
from authserver.resources.guard import require_token

ACCOUNTS_READ = "accounts:read"
PAGE_SIZE = 100
MAX_PAGE = 1_000_000
FROM_PARAM = "fromBookingDateTime"
TO_PARAM = "toBookingDateTime"
PAGE_PARAM = "page"
_PAGE = re.compile(r"[0-9]{1,7}")

bp = Blueprint("accounts_api", __name__, url_prefix=AISP_PREFIX)


# -- parsing ------------------------------------------------------------------------------


def _booking(name: str) -> datetime | None:
    """A booking date-time filter. v4.0: the time is optional (midnight) and a timezone,
    if given, is ignored: the value is read as UTC."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        # fromisoformat stops reading at a NUL: refuse control characters first.
        if has_control_characters(raw):
            raise ValueError(name)
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise bad_request(
            OBError(FIELD_INVALID, f"{name} must be an ISO 8601 date-time.", name)
        ) from None
    return value.replace(tzinfo=UTC)


def _page() -> int:
    raw = request.args.get(PAGE_PARAM)
    if raw is None:
        return 1
    if not _PAGE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise bad_request(OBError(FIELD_INVALID, "page must be a whole number from 1.", PAGE_PARAM))
    return int(raw)


def _later(*values: datetime | None) -> datetime | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def _earlier(*values: datetime | None) -> datetime | None:
    known = [value for value in values if value is not None]
    return min(known) if known else None


# -- rendering ----------------------------------------------------------------------------


def _page_url(page: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != PAGE_PARAM]
    if page > 1:
        args.append((PAGE_PARAM, str(page)))
    query = urlencode(args)
    return self_url(request.path + ("?" + query if query else ""))


def _transactions_response(access: AccountAccess, page: int, found: TransactionPage) -> Response:
    links = {"Self": _page_url(page)}
    if page < found.total_pages:
        links["Next"] = _page_url(page + 1)
    if page > 1:
        links["Prev"] = _page_url(min(page - 1, found.total_pages))
    meta: dict[str, object] = {"TotalPages": found.total_pages}
    if found.first_available is not None:
        meta["FirstAvailableDateTime"] = render.instant(found.first_available)
    if found.last_available is not None:
        meta["LastAvailableDateTime"] = render.instant(found.last_available)
    return ob_response(
        {"Transaction": [render.transaction(item, access.scope) for item in found.transactions]},
        links=links,
        meta=meta,
    )


# -- endpoints ----------------------------------------------------------------------------


def _accounts(account_id: str | None) -> Response:
    access = account_access("accounts", account_id)
    found = access.provider.accounts(access.user_id, access.account_ids)
    record_read(access, [item.account_id for item in found])
    return ob_response(
        {"Account": [render.account(item, access.scope) for item in found]},
        meta={"TotalPages": 1},
    )


def _balances(account_id: str | None) -> Response:
    access = account_access("balances", account_id)
    found = access.provider.balances(access.user_id, access.account_ids)
    record_read(access, sorted({item.account_id for item in found}))
    return ob_response(
        {"Balance": [render.balance(item) for item in found]}, meta={"TotalPages": 1}
    )


def _transactions(account_id: str | None) -> Response:
    page = _page()
    asked_from, asked_to = _booking(FROM_PARAM), _booking(TO_PARAM)
    access = account_access("transactions", account_id)
    found = access.provider.transactions(
        access.user_id,
        TransactionQuery(
            account_ids=access.account_ids,
            booked_from=_later(access.transactions_from, asked_from),
            booked_to=_earlier(access.transactions_to, asked_to),
            credits=access.scope.credits,
            debits=access.scope.debits,
            page=page,
            page_size=PAGE_SIZE,
            counterparty_details=access.scope.transaction_details,
        ),
    )
    record_read(access, list(access.account_ids))
    return _transactions_response(access, page, found)


@bp.get("/accounts")
@require_token(ACCOUNTS_READ)
def list_accounts() -> Response:
    return _accounts(None)


@bp.get("/accounts/<account_id>")
@require_token(ACCOUNTS_READ)
def get_account(account_id: str) -> Response:
    return _accounts(account_id)


@bp.get("/accounts/<account_id>/balances")
@require_token(ACCOUNTS_READ)
def account_balances(account_id: str) -> Response:
    return _balances(account_id)


@bp.get("/balances")
@require_token(ACCOUNTS_READ)
def all_balances() -> Response:
    return _balances(None)


@bp.get("/accounts/<account_id>/transactions")
@require_token(ACCOUNTS_READ)
def account_transactions(account_id: str) -> Response:
    return _transactions(account_id)


@bp.get("/transactions")
@require_token(ACCOUNTS_READ)
def all_transactions() -> Response:
    return _transactions(None)
