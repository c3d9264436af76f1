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
TOTP_STEP = "/login/otp"


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

    def spend_password_work(self, password: str) -> None:
        """One argon2 check against nothing: a refused login costs what a real one does."""
        verify_password(_dummy_hash(), password)

    def second_factor_step(self, user: User) -> str | None:
        """The page of the user's second factor after a right password; None: none enrolled.

        A passkey goes first: it is phishing-resistant.
        """
        if self.has_passkey(user):
            return PASSKEY_STEP
        if user.sealed_totp_secret:
            return TOTP_STEP
        return None

    def has_second_factor(self, user: User) -> bool:
        return self.second_factor_step(user) is not None

    def has_passkey(self, user: User) -> bool:
        found = db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
        return found is not None

    def factors(self, user: User) -> list[str]:
        """The user's second factors by kind (``totp``), for the security page; passkeys
        are listed and removed one by one on ``/account/passkeys``."""
        return ["totp"] if user.sealed_totp_secret else []

    def enrol_totp(self, user: User, secret: str, *, actor: str, request_id: str) -> None:
        """Keep ``secret`` (already confirmed with a code by the caller), sealed."""
        user.sealed_totp_secret = self._envelope.seal(secret.encode(), user.id).to_text()
        self._audit.record(
            "user.factor_enrolled",
            actor=actor,
            resource=f"user:{user.id}",
            changes={"factor": "totp"},
            request_id=request_id,
        )

    def remove_totp(self, user: User, *, actor: str, request_id: str = "-") -> bool:
        if not user.sealed_totp_secret:
            return False
        user.sealed_totp_secret = None
        self._audit.record(
            "user.factor_removed",
            actor=actor,
            resource=f"user:{user.id}",
            changes={"factor": "totp"},
            request_id=request_id,
        )
        return True

    def remove_passkeys(self, user: User, *, actor: str, request_id: str = "-") -> int:
        """Every passkey of ``user`` gone (an operator's factor reset); how many."""
        keys = list(db.session.scalars(select(Passkey).where(Passkey.user_id == user.id)))
        for key in keys:
            db.session.delete(key)
        if keys:
            self._audit.record(
                "user.factor_removed",
                actor=actor,
                resource=f"user:{user.id}",
                changes={"factor": "passkey", "count": len(keys)},
                request_id=request_id,
            )
        return len(keys)

    def totp_secret(self, user: User) -> str | None:
        if not user.sealed_totp_secret:
            return None
        return self._envelope.open(Sealed.from_text(user.sealed_totp_secret), user.id).decode()
