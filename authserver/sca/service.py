"""Creating users and their second factor; login and lockout build on this."""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.clock import Clock
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db
from authserver.sca.directory import SqlUserDirectory
from authserver.sca.models import User
from authserver.sca.passkey_models import Passkey
from authserver.sca.passwords import MIN_PASSWORD_LENGTH
from authserver.sca.passwords import hash_password
from authserver.sca.passwords import verify_password

TOTP_ISSUER = "authserver"
PASSKEY_STEP = "/login/passkey"


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password("timing-equaliser-not-a-password"))
    return _DUMMY[0]


class UserError(ValueError):
    """A user request breaks a rule; the message says which."""


@dataclass(frozen=True)
class CreatedUser:
    user: User
    totp_secret: str | None
    totp_uri: str | None


class UserService:
    def __init__(self, envelope: Envelope, clock: Clock, audit: AuditTrail) -> None:
        self._envelope = envelope
        self._clock = clock
        self._audit = audit

    def exists(self, user_id: str) -> bool:
        """The protocol floor's ``UserDirectory`` (checks/user_directory.py)."""
        return SqlUserDirectory().exists(user_id)

    def get(self, username: str) -> User | None:
        return db.session.scalar(select(User).where(User.username == username))

    def create(
        self, username: str, password: str, *, actor: str, totp: bool = False
    ) -> CreatedUser:
        username = username.strip()
        if not username or len(username) > 150:
            raise UserError("username must be 1 to 150 characters")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        if self.get(username) is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(
            username=username,
            password_hash=hash_password(password),
            disabled=False,
            created_at=self._clock.now(),
        )
        secret = uri = None
        if totp:
            secret = pyotp.random_base32()
            uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)
        db.session.add(user)
        db.session.flush()
        if secret:
            user.sealed_totp_secret = self._envelope.seal(secret.encode(), user.id).to_text()
        self._audit.record(
            "user.created",
            actor=actor,
            resource=f"user:{user.id}",
            changes={"username": username, "totp": totp},
        )
        return CreatedUser(user, secret, uri)

    def authenticate(self, username: str, password: str, *, request_id: str) -> User | None:
        """Check a password; unknown users cost the same argon2 work as known ones."""
        user = self.get(username.strip())
        if user is None or user.disabled:
            verify_password(_dummy_hash(), password)
            ok = False
        else:
            ok = verify_password(user.password_hash, password)
        self._audit.record(
            "login.succeeded" if ok else "login.failed",
            actor=f"user:{user.id}" if user else "anonymous",
            resource="session",
            outcome="success" if ok else "failure",
            changes={"username": username},
            request_id=request_id,
        )
        return user if ok else None

    def second_factor_step(self, user: User) -> str | None:
        """Hook for strong authentication (TOTP, WebAuthn): the endpoint to visit next, if any.

        A user with a passkey is asked for it (phishing-resistant, so it goes first).
        """
        has_passkey = db.session.scalar(
            select(Passkey.id).where(Passkey.user_id == user.id).limit(1)
        )
        if has_passkey is not None:
            return PASSKEY_STEP
        return None

    def totp_secret(self, user: User) -> str | None:
        if not user.sealed_totp_secret:
            return None
        return self._envelope.open(Sealed.from_text(user.sealed_totp_secret), user.id).decode()
