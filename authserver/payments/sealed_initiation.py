"""A payment consent's ``Initiation`` at rest: account numbers sealed (DATA-1).

The consent keeps the checked ``Initiation`` in its ``details`` JSON, but a payee's (and a
named payer's) account number is tier-1 data, so it is never stored in clear. In the
stored form each account member (``CreditorAccount``, ``DebtorAccount``) loses its
``Identification`` and ``SecondaryIdentification``; in their place it holds

- ``Sealed``: ``Sealed.to_text()`` of the JSON ``{"Identification", "SecondaryIdentification"}``,
  sealed with the account-data key (the key the payment rows and account identifiers use)
  under the context ``consent:{ConsentId}:{member}``, so a value copied to another consent
  or to the other member does not open;
- ``Masked``: the last four characters ("••••1234"), for the consent page, which then
  shows the payee without opening anything.

Every reader of the full Initiation (the consent's echo in GET, the payment's exact
comparison, the funds confirmation, the page's check that a named debtor is the user's)
goes through ``InitiationSeal.initiation(view)``. Sealing needs the ConsentId, so the consent is
created with an id chosen beforehand (``ConsentGate.create(consent_id=...)``).

An account member without ``Sealed`` is refused when opened (``ValueError``): every
payment consent is written through ``seal``, so a clear one is a row not written by us.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authserver.checks.consent_gate import ConsentView
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed

ACCOUNT_MEMBERS = ("CreditorAccount", "DebtorAccount")
SECRET_FIELDS = ("Identification", "SecondaryIdentification")
SEALED = "Sealed"
MASKED = "Masked"


def seal_context(consent_id: str, member: str) -> str:
    return f"consent:{consent_id}:{member}"


def mask(identification: str) -> str:
    """The last four characters only (as ``AccountIdentifier.masked``)."""
    return "••••" + identification[-4:]


def stored_masked(initiation: Mapping[str, Any], member: str) -> str | None:
    """The masked account number of ``member`` in a stored Initiation, without opening it."""
    account = initiation.get(member)
    if not isinstance(account, Mapping):
        return None
    masked = account.get(MASKED)
    return masked if isinstance(masked, str) else None


class InitiationSeal:
    """Seals and opens the account numbers of a payment consent's Initiation; ``cipher``
    holds the account-data key."""

    def __init__(self, cipher: Envelope) -> None:
        self._cipher = cipher

    def seal(self, consent_id: str, initiation: Mapping[str, Any]) -> dict[str, Any]:
        """The form to store in consent ``consent_id``'s details."""
        stored = dict(initiation)
        for member in ACCOUNT_MEMBERS:
            account = initiation.get(member)
            if account is None:
                continue
            kept = {name: value for name, value in account.items() if name not in SECRET_FIELDS}
            secret = {name: account[name] for name in SECRET_FIELDS if name in account}
            sealed = self._cipher.seal(
                json.dumps(secret).encode(), seal_context(consent_id, member)
            )
            stored[member] = {
                **kept,
                SEALED: sealed.to_text(),
                MASKED: mask(str(account["Identification"])),
            }
        return stored

    def initiation(self, view: ConsentView) -> dict[str, Any]:
        """The payment consent's Initiation as the TPP sent it (members sorted, as
        ``canonical_json`` has them); raises ``DecryptionError`` for a value sealed for
        another consent or tampered with."""
        return self.open(view.consent_id, view.details.get("Initiation", {}))

    def open(self, consent_id: str, stored: Mapping[str, Any]) -> dict[str, Any]:
        """``initiation`` for a stored Initiation of consent ``consent_id``."""
        initiation = dict(stored)
        for member in ACCOUNT_MEMBERS:
            account = stored.get(member)
            if account is None:
                continue
            text = account.get(SEALED)
            if not isinstance(text, str):
                raise ValueError(f"{member} of consent {consent_id} is not sealed")
            secret = json.loads(
                self._cipher.open(Sealed.from_text(text), seal_context(consent_id, member))
            )
            kept = {name: value for name, value in account.items() if name not in (SEALED, MASKED)}
            initiation[member] = dict(sorted({**kept, **secret}.items()))
        return initiation
