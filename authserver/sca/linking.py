"""Dynamic linking (PSD2 RTS art. 5; issue 13 item 4): a payment approval is bound to the
payment's amount and payee by one hash.

The hash is SHA-256 over a canonical JSON encoding (sorted keys, no spaces, UTF-8) of the
consent id, the amount and currency exactly as stored, and the payee: the creditor
account's scheme, identification and name. Any change to any of them gives another hash,
so an authentication made for the old details no longer matches and the approval is void.
Canonical JSON (rather than joining strings) keeps a value containing a separator from
colliding with two other values.
"""

from __future__ import annotations

import hashlib
import hmac
import json

# Bumped if the encoding ever changes, so an old hash can never equal a new one.
_VERSION = "authserver.payment-link.v1"
DIGEST_BYTES = 32


def payment_digest(consent_id: str, amount: str, currency: str, payee: dict[str, str]) -> str:
    """Hex SHA-256 of the canonical encoding; ``payee`` has ``scheme``, ``identification``
    and ``name`` (missing members count as empty)."""
    document = {
        "v": _VERSION,
        "consent_id": consent_id,
        "amount": amount,
        "currency": currency,
        "payee": {
            "scheme": payee.get("scheme", ""),
            "identification": payee.get("identification", ""),
            "name": payee.get("name", ""),
        },
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def same_digest(a: str | None, b: str | None) -> bool:
    """Constant-time equality; None never matches (no link is not a link)."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
