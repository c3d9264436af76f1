"""WebAuthn passkeys (issue 13): the registration and authentication ceremonies.

The ``webauthn`` package checks the signatures, the origin, the RP ID, the user-presence
and user-verification flags and the sign counter; this service adds what a library cannot
know:

- **Challenges are single use, short lived and ours.** Each challenge is kept in the store
  under its hash with what it was for (register or authenticate, which user, which payment
  hash) and when it was made. The answer's challenge is *consumed* (atomic read-and-delete,
  across processes), so a replayed answer finds nothing; a challenge older than
  ``CHALLENGE_TTL`` on our clock is refused even if the store still had it.
- **Origin and RP ID** come from the issuer URL: the pages are served there, and a
  credential made for another site must not sign in here.
- **A clone is refused**: an assertion that does not raise the stored sign counter fails,
  and the counter moves by compare-and-set so two racing answers cannot both pass.
- **Dynamic linking**: for a payment the challenge is the payment hash (``linking.py``)
  followed by a random nonce, so the authenticator signs over the very payment the page
  showed; the answer is accepted only for the hash the caller names now, and user
  verification is required.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy import update
from webauthn import generate_authentication_options
from webauthn import generate_registration_options
from webauthn import options_to_json
from webauthn import verify_authentication_response
from webauthn import verify_registration_response
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticatorSelectionCriteria
from webauthn.helpers.structs import PublicKeyCredentialDescriptor
from webauthn.helpers.structs import ResidentKeyRequirement
from webauthn.helpers.structs import UserVerificationRequirement

from authserver.audit.service import AuditTrail
from authserver.clock import Clock
from authserver.db import db
from authserver.sca.linking import DIGEST_BYTES
from authserver.sca.models import User
from authserver.sca.passkey_models import Passkey
from authserver.store.base import Store

CHALLENGE_TTL = 120.0
"""Seconds a ceremony may take from the page to the answer."""
_KEY = "webauthn:challenge:"
REGISTER = "register"
AUTHENTICATE = "authenticate"
RP_NAME = "authserver"
MAX_PASSKEYS = 10


class PasskeyError(ValueError):
    """The ceremony failed; the message is for the audit trail, never for the page."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the credentials are for: the issuer's host (RP ID) and origin."""

    rp_id: str
    origin: str

    @classmethod
    def from_issuer(cls, issuer: str) -> RelyingParty:
        parts = urlsplit(issuer)
        return cls(rp_id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class Verified:
    """A passed authentication: what the session records as ``amr``."""

    amr: tuple[str, ...]
    link: str | None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _challenge_key(challenge: bytes) -> str:
    return _KEY + hashlib.sha256(challenge).hexdigest()


def _answered_challenge(credential: dict[str, Any]) -> bytes:
    """The challenge inside the answer's clientDataJSON (checked again by ``webauthn``)."""
    try:
        client_data = json.loads(_unb64url(str(credential["response"]["clientDataJSON"])))
        return _unb64url(str(client_data["challenge"]))
    except (KeyError, TypeError, ValueError) as exc:  # ValueError covers bad base64 and JSON
        raise PasskeyError("malformed clientDataJSON") from exc


def _parse(credential_json: str) -> dict[str, Any]:
    try:
        value = json.loads(credential_json)
    except ValueError as exc:
        raise PasskeyError("the answer is not JSON") from exc
    if not isinstance(value, dict):
        raise PasskeyError("the answer is not a JSON object")
    return value


class PasskeyService:
    def __init__(self, store: Store, clock: Clock, audit: AuditTrail, rp: RelyingParty) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit
        self._rp = rp

    # -- what a user has ------------------------------------------------------------------

    def of_user(self, user_id: str) -> list[Passkey]:
        return list(
            db.session.scalars(
                select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
            )
        )

    def has_passkey(self, user_id: str) -> bool:
        found = db.session.scalar(select(Passkey.id).where(Passkey.user_id == user_id).limit(1))
        return found is not None

    # -- challenges -----------------------------------------------------------------------

    def _issue(self, challenge: bytes, purpose: str, user_id: str, link: str | None) -> None:
        record = {"purpose": purpose, "user_id": user_id, "link": link, "at": self._clock.time()}
        self._store.set(_challenge_key(challenge), json.dumps(record).encode(), CHALLENGE_TTL)

    def _redeem(
        self, credential: dict[str, Any], purpose: str, user_id: str, link: str | None
    ) -> bytes:
        """The answered challenge, once: unknown, reused, stale or foreign ones are refused."""
        challenge = _answered_challenge(credential)
        stored = self._store.consume(_challenge_key(challenge))
        if stored is None:
            raise PasskeyError("unknown or already used challenge")
        record = json.loads(stored)
        if self._clock.time() - float(record["at"]) > CHALLENGE_TTL:
            raise PasskeyError("stale challenge")
        if record["purpose"] != purpose or record["user_id"] != user_id:
            raise PasskeyError("challenge made for another ceremony")
        if record["link"] != link:
            raise PasskeyError("challenge made for other payment details")
        if link is not None and challenge[:DIGEST_BYTES] != bytes.fromhex(link):
            raise PasskeyError("challenge does not commit to the payment")
        return challenge

    # -- registration ---------------------------------------------------------------------

    def registration_options(self, user: User) -> str:
        """The options for ``navigator.credentials.create``, as JSON."""
        challenge = secrets.token_bytes(32)
        self._issue(challenge, REGISTER, user.id, None)
        options = generate_registration_options(
            rp_id=self._rp.rp_id,
            rp_name=RP_NAME,
            user_name=user.username,
            user_id=user.id.encode(),
            challenge=challenge,
            timeout=int(CHALLENGE_TTL * 1000),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64url(key.credential_id))
                for key in self.of_user(user.id)
            ],
        )
        return options_to_json(options)

    def register(self, user: User, credential_json: str, *, name: str, request_id: str) -> Passkey:
        """Check the answer to ``registration_options`` and keep the new credential."""
        try:
            credential = _parse(credential_json)
            challenge = self._redeem(credential, REGISTER, user.id, None)
            if len(self.of_user(user.id)) >= MAX_PASSKEYS:
                raise PasskeyError("too many passkeys")
            try:
                verified = verify_registration_response(
                    credential=credential,
                    expected_challenge=challenge,
                    expected_rp_id=self._rp.rp_id,
                    expected_origin=self._rp.origin,
                    require_user_verification=True,
                )
            except WebAuthnException as exc:
                raise PasskeyError(str(exc)) from exc
            credential_id = _b64url(verified.credential_id)
            taken = db.session.scalar(
                select(Passkey.id).where(Passkey.credential_id == credential_id)
            )
            if taken is not None:
                raise PasskeyError("credential already registered")
        except PasskeyError as exc:
            self._failed(user.id, "passkey.registration_failed", exc, request_id)
            raise
        now = self._clock.now()
        passkey = Passkey(
            user_id=user.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name.strip()[:100] or "Passkey",
            created_at=now,
        )
        db.session.add(passkey)
        db.session.flush()
        self._audit.record(
            "user.factor_enrolled",
            actor=f"user:{user.id}",
            resource=f"user:{user.id}",
            changes={"factor": "passkey", "passkey_id": passkey.id},
            request_id=request_id,
        )
        return passkey

    def remove(self, user_id: str, passkey_id: str, *, request_id: str) -> bool:
        passkey = db.session.get(Passkey, passkey_id)
        if passkey is None or passkey.user_id != user_id:
            return False
        db.session.delete(passkey)
        self._audit.record(
            "user.factor_removed",
            actor=f"user:{user_id}",
            resource=f"user:{user_id}",
            changes={"factor": "passkey", "passkey_id": passkey_id},
            request_id=request_id,
        )
        return True

    # -- authentication -------------------------------------------------------------------

    def authentication_options(self, user_id: str, *, link: str | None = None) -> str:
        """Options for ``navigator.credentials.get``, as JSON. With ``link`` (a payment
        hash) the challenge commits to it and user verification is required."""
        if link is not None:
            prefix = bytes.fromhex(link)
            if len(prefix) != DIGEST_BYTES:
                raise ValueError("a payment hash is a SHA-256 digest")
            challenge = prefix + secrets.token_bytes(16)
        else:
            challenge = secrets.token_bytes(32)
        self._issue(challenge, AUTHENTICATE, user_id, link)
        options = generate_authentication_options(
            rp_id=self._rp.rp_id,
            challenge=challenge,
            timeout=int(CHALLENGE_TTL * 1000),
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64url(key.credential_id))
                for key in self.of_user(user_id)
            ],
            user_verification=(
                UserVerificationRequirement.REQUIRED
                if link is not None
                else UserVerificationRequirement.PREFERRED
            ),
        )
        return options_to_json(options)

    def authenticate(
        self, user_id: str, credential_json: str, *, request_id: str, link: str | None = None
    ) -> Verified:
        """Check the answer to ``authentication_options`` for ``user_id``; ``link`` is the
        payment hash of the details *now* (None for a login). PasskeyError if refused."""
        try:
            verified = self._verify(user_id, credential_json, link)
        except PasskeyError as exc:
            self._failed(user_id, "passkey.failed", exc, request_id)
            raise
        self._audit.record(
            "passkey.used",
            actor=f"user:{user_id}",
            resource=f"user:{user_id}",
            changes={"linked": link is not None},
            request_id=request_id,
        )
        return verified

    def _verify(self, user_id: str, credential_json: str, link: str | None) -> Verified:
        credential = _parse(credential_json)
        challenge = self._redeem(credential, AUTHENTICATE, user_id, link)
        passkey = db.session.scalar(
            select(Passkey).where(Passkey.credential_id == str(credential.get("id", "")))
        )
        if passkey is None or passkey.user_id != user_id:
            raise PasskeyError("not a passkey of this user")
        try:
            result = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self._rp.rp_id,
                expected_origin=self._rp.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=link is not None,
            )
        except WebAuthnException as exc:
            raise PasskeyError(str(exc)) from exc
        # Compare-and-set: of two answers racing with the same counter, one moves it.
        moved = db.session.execute(
            update(Passkey)
            .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
            .values(sign_count=result.new_sign_count, last_used_at=self._clock.now())
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 1) != 1:
            db.session.rollback()
            raise PasskeyError("sign counter moved concurrently")
        amr = ("pwd", "hwk", "user") if result.user_verified else ("pwd", "hwk")
        return Verified(amr=amr, link=link)

    def _failed(self, user_id: str, event: str, exc: PasskeyError, request_id: str) -> None:
        db.session.rollback()
        self._audit.record(
            event,
            actor=f"user:{user_id}",
            resource=f"user:{user_id}",
            outcome="failure",
            changes={"reason": str(exc)[:200]},
            request_id=request_id,
        )
