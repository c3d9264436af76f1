"""The scopes this server knows, with the plain words a consent screen shows for each."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "openid": "Confirm who you are (your user identifier)",
    "accounts:read": "See your accounts, balances and transactions",
    "payments:write": "Make payments from your accounts",
}


def unknown_scopes(requested: list[str]) -> list[str]:
    return [scope for scope in requested if scope not in SCOPES]
