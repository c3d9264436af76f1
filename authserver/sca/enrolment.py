"""Enrolling and removing a user's TOTP authenticator (the security page's service).

A new secret waits in the store (sealed under the master key, 10 minutes) until the user
confirms it with a code from the app: a secret the user never set up must not become a
factor, or they would lock themselves out of strong authentication.
"""

from __future__ import annotations

import pyotp

from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db
from authserver.sca.lockout import Lockout
from authserver.sca.models import User
from authserver.sca.service import TOTP_ISSUER
from authserver.sca.service import UserService
from authserver.sca.totp import TotpVerifier
from authserver.store.base import Store

PENDING_TTL = 600
_PENDING_PREFIX = "totp_enrol:"
_CONTEXT = "totp-enrolment:"


class FactorService:
    def __init__(
        self,
        store: Store,
        envelope: Envelope,
        users: UserService,
        totp: TotpVerifier,
        lockout: Lockout,
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._users = users
        self._totp = totp
        self._lockout = lockout

    def pending_totp(self, user: User) -> tuple[str, str]:
        """The secret being set up (made now or earlier) and its otpauth:// URI."""
        key = _PENDING_PREFIX + user.id
        raw = self._store.get(key)
        if raw is not None:
            secret = self._envelope.open(Sealed.from_text(raw.decode()), _CONTEXT + user.id)
            value = secret.decode()
        else:
            value = pyotp.random_base32()
            sealed = self._envelope.seal(value.encode(), _CONTEXT + user.id).to_text()
            self._store.set(key, sealed.encode(), PENDING_TTL)
        uri = pyotp.TOTP(value).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
        return value, uri

    def confirm_totp(self, user: User, code: str, *, request_id: str) -> bool:
        """The pending secret becomes the user's factor if ``code`` is its current code."""
        raw = self._store.get(_PENDING_PREFIX + user.id)
        if raw is None:
            return False
        secret = self._envelope.open(Sealed.from_text(raw.decode()), _CONTEXT + user.id).decode()
        if not self._totp.verify_secret(user.id, secret, code):
            self._lockout.failed(user.id, factor="otp", request_id=request_id)
            return False
        self._users.enrol_totp(user, secret, actor=f"user:{user.id}", request_id=request_id)
        self._store.delete(_PENDING_PREFIX + user.id)
        return True

    def remove(self, user: User, factor: str, *, actor: str, request_id: str) -> bool:
        if factor != "totp":
            return False
        return self._users.remove_totp(user, actor=actor, request_id=request_id)

    def reset(self, username: str, *, actor: str) -> User | None:
        """``authserver users reset-factors``: every factor gone and any lock lifted."""
        user = self._users.get(username)
        if user is None:
            return None
        self._users.remove_totp(user, actor=actor)
        self._users.remove_passkeys(user, actor=actor)
        self._store.delete(_PENDING_PREFIX + user.id)
        self._lockout.unlock(user.id)
        db.session.commit()
        return user
