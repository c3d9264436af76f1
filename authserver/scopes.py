"""The scopes this server knows, with the plain words a consent screen shows for each."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "openid": "Confirm who you are (your user identifier)",
    "accounts:read": "See your accounts, balances and transactions",
    "payments:write": "Make payments from your accounts",
}


# Operator scopes: only through client_credentials, never on a consent screen or in
# discovery (an end user cannot grant them).
ADMIN_REVOCATION = "authserver:revoke"
ADMIN_SCOPES: dict[str, str] = {
    ADMIN_REVOCATION: "Revoke every token of a client, user or consent (operators)",
}


def unknown_scopes(requested: list[str]) -> list[str]:
    return [scope for scope in requested if scope not in SCOPES and scope not in ADMIN_SCOPES]
