"""Masking of secrets and PII before anything reaches a log line or the audit trail (DATA-2).

One list of sensitive field names serves both, so a field masked in logs is masked in audit too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_FIELDS = frozenset(
    {
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "client_assertion",
        "assertion",
        "authorization",
        "cookie",
        "set-cookie",
        "private_key",
        "d",
        "master_key",
        "totp_secret",
        "otp",
        "dpop",
        "request",
    }
)
PII_FIELDS = frozenset(
    {
        "email",
        "username",
        "full_name",
        "phone",
        "iban",
        "account_number",
        "national_id",
        "address",
        "ip",
        "remote_addr",
    }
)
REDACTED = "***"


def mask_value(value: str) -> str:
    """Keep just enough to correlate (first and last character), hide the rest."""
    if len(value) <= 4:
        return REDACTED
    return f"{value[0]}{REDACTED}{value[-1]}"


def mask(data: Any, *, key: str | None = None) -> Any:
    """Return a copy of ``data`` with secret fields redacted and PII fields partly masked."""
    lowered = key.lower() if key else None
    if lowered in SECRET_FIELDS:
        return REDACTED if data not in (None, "") else data
    if lowered in PII_FIELDS and isinstance(data, str):
        return mask_value(data)
    if isinstance(data, Mapping):
        return {k: mask(v, key=str(k)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask(item, key=key) for item in data]
    return data
