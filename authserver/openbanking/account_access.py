"""``OBReadConsent1``: the body of ``POST /account-access-consents`` (UK OB v4.0 Account
and Transaction API), checked field by field.

Every failing field is collected and reported at once (``OBErrorResponse1`` lists them
all), each with a v4.0 code, a fixed message that never echoes the input, and the
field's JSON path (``Data.Permissions[2]``). ``OBRisk2`` defines no properties and
forbids others, so ``Risk`` must be an empty object.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from authserver.openbanking.errors import FIELD_EXPECTED
from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.errors import FIELD_INVALID_DATE
from authserver.openbanking.errors import FIELD_MISSING
from authserver.openbanking.errors import FIELD_UNEXPECTED
from authserver.openbanking.errors import INVALID_FORMAT
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request
from authserver.openbanking.permissions import PERMISSIONS
from authserver.openbanking.permissions import combination_problems

KIND = "account_access"
"""The consent kind these requests create (``consent.models.ACCOUNT_ACCESS``)."""

EXPIRATION = "ExpirationDateTime"
TRANSACTIONS_FROM = "TransactionFromDateTime"
TRANSACTIONS_TO = "TransactionToDateTime"
DATE_FIELDS = (EXPIRATION, TRANSACTIONS_FROM, TRANSACTIONS_TO)
DATA_FIELDS = frozenset({"Permissions", *DATE_FIELDS})
TOP_FIELDS = frozenset({"Data", "Risk"})
# Longer than any ISO 8601 date-time with nanoseconds and an offset: refused unparsed.
_MAX_DATE_LENGTH = 40


@dataclass(frozen=True)
class AccountAccessRequest:
    """A valid ``OBReadConsent1``; the datetimes are aware and in UTC."""

    permissions: tuple[str, ...]
    expiration: datetime | None
    transactions_from: datetime | None
    transactions_to: datetime | None
    risk: dict[str, Any] = field(default_factory=dict)
    dates_as_sent: tuple[tuple[str, str], ...] = ()
    """The date fields exactly as the TPP wrote them (echoed back in responses)."""

    def details(self) -> dict[str, Any]:
        """The ``Data`` fields as sent, for the consent's stored details."""
        return {"Permissions": list(self.permissions), **dict(self.dates_as_sent)}


def parse_consent_request(body: Any, *, now: datetime) -> AccountAccessRequest:
    """The request, or ``OBErrorResponse`` (400) listing every failing field."""
    if not isinstance(body, dict):
        raise bad_request(OBError(INVALID_FORMAT, "The body must be a JSON object."))
    errors: list[OBError] = _unexpected(body, TOP_FIELDS, "")
    data = _object(body, "Data", errors)
    risk = _object(body, "Risk", errors)
    if risk is not None:
        errors += _unexpected(risk, frozenset(), "Risk.")
    permissions: tuple[str, ...] = ()
    dates: dict[str, datetime | None] = dict.fromkeys(DATE_FIELDS)
    sent: list[tuple[str, str]] = []
    if data is not None:
        errors += _unexpected(data, DATA_FIELDS, "Data.")
        permissions = _permissions(data, errors)
        for name in DATE_FIELDS:
            if name in data:
                dates[name] = _datetime(data[name], f"Data.{name}", errors)
                if dates[name] is not None:
                    sent.append((name, data[name]))
        errors += _date_rules(dates, now)
    if errors:
        raise bad_request(*errors)
    return AccountAccessRequest(
        permissions=permissions,
        expiration=dates[EXPIRATION],
        transactions_from=dates[TRANSACTIONS_FROM],
        transactions_to=dates[TRANSACTIONS_TO],
        risk={},
        dates_as_sent=tuple(sent),
    )


def _unexpected(value: dict[str, Any], allowed: frozenset[str], prefix: str) -> list[OBError]:
    return [
        OBError(FIELD_UNEXPECTED, "This field is not part of the request.", f"{prefix}{name}")
        for name in value
        if name not in allowed
    ]


def _object(body: dict[str, Any], name: str, errors: list[OBError]) -> dict[str, Any] | None:
    if name not in body:
        errors.append(OBError(FIELD_MISSING, "This field is required.", name))
        return None
    value = body[name]
    if not isinstance(value, dict):
        errors.append(OBError(FIELD_INVALID, "This field must be an object.", name))
        return None
    return value


def _permissions(data: dict[str, Any], errors: list[OBError]) -> tuple[str, ...]:
    path = "Data.Permissions"
    if "Permissions" not in data:
        errors.append(OBError(FIELD_MISSING, "Permissions are required.", path))
        return ()
    value = data["Permissions"]
    if not isinstance(value, list) or not value:
        errors.append(OBError(FIELD_INVALID, "Permissions must be a non-empty list.", path))
        return ()
    chosen: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or item not in PERMISSIONS:
            message = "Not a permission of the standard."
            errors.append(OBError(FIELD_INVALID, message, f"{path}[{index}]"))
        elif item in chosen:
            message = "This permission is listed more than once."
            errors.append(OBError(FIELD_INVALID, message, f"{path}[{index}]"))
        else:
            chosen.append(item)
    # The standard's combination rules; messages name only permissions of its list.
    errors += [OBError(FIELD_EXPECTED, p.message, path) for p in combination_problems(chosen)]
    return tuple(chosen)


def _datetime(value: Any, path: str, errors: list[OBError]) -> datetime | None:
    """An ISO 8601 date-time with a timezone, in UTC; None (and an error) otherwise."""
    parsed: datetime | None = None
    if isinstance(value, str) and "T" in value.upper() and len(value) <= _MAX_DATE_LENGTH:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        message = "Must be an ISO 8601 date-time with a timezone."
        errors.append(OBError(FIELD_INVALID, message, path))
        return None
    return parsed.astimezone(UTC)


def _date_rules(dates: dict[str, datetime | None], now: datetime) -> list[OBError]:
    errors: list[OBError] = []
    expiration = dates[EXPIRATION]
    if expiration is not None and expiration <= now:
        message = "ExpirationDateTime must be in the future."
        errors.append(OBError(FIELD_INVALID_DATE, message, f"Data.{EXPIRATION}"))
    start, end = dates[TRANSACTIONS_FROM], dates[TRANSACTIONS_TO]
    if start is not None and end is not None and start > end:
        message = "TransactionToDateTime must not be before TransactionFromDateTime."
        errors.append(OBError(FIELD_INVALID_DATE, message, f"Data.{TRANSACTIONS_TO}"))
    return errors
