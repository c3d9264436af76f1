"""The login steps as one service each: the password, then the second factor.

Views call one method and render its outcome; every rule (lockout, address limits, which
factor is due, the neutral answer) lives here or in ``lockout.py``. The outcome never says
which factor failed, whether the user exists, or whether the account is locked: a guesser
learns nothing from the answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from authserver.audit.service import AuditTrail
from authserver.db import db
from authserver.sca.lockout import Lockout
from authserver.sca.models import User
from authserver.sca.service import UserService
from authserver.sca.totp import TotpVerifier


class Outcome(enum.Enum):
    DONE = "done"
    """Signed in with the password alone (the user has no second factor)."""
    SECOND_FACTOR = "second_factor"
    """The password was right; ``next_step`` is the factor's page."""
    INVALID = "invalid"
    """Wrong, unknown, disabled or locked: one answer for all."""
    THROTTLED = "throttled"
    """Too many attempts from this client address."""


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    user: User | None = None
    next_step: str | None = None


class LoginService:
    def __init__(
        self, users: UserService, totp: TotpVerifier, lockout: Lockout, audit: AuditTrail
    ) -> None:
        self._users = users
        self._totp = totp
        self._lockout = lockout
        self._audit = audit

    def password_step(
        self, username: str, password: str, *, address: str, request_id: str
    ) -> StepResult:
        if not self._lockout.address_allowed(address):
            return StepResult(Outcome.THROTTLED)
        candidate = self._users.get(username.strip())
        if candidate is not None and self._lockout.is_locked(candidate.id):
            self._users.spend_password_work(password)  # as long as a real check
            self._lockout.refused(candidate.id, request_id=request_id)
            return StepResult(Outcome.INVALID)
        user = self._users.authenticate(username, password, request_id=request_id)
        if user is None:
            if candidate is not None and not candidate.disabled:
                self._lockout.failed(candidate.id, factor="pwd", request_id=request_id)
            return StepResult(Outcome.INVALID)
        next_step = self._users.second_factor_step(user)
        if next_step is not None:
            return StepResult(Outcome.SECOND_FACTOR, user, next_step)
        self._lockout.succeeded(user.id)
        return StepResult(Outcome.DONE, user)

    def totp_step(self, user_id: str, code: str, *, address: str, request_id: str) -> StepResult:
        """The one-time code of the user whose password was right (``partial_user_id``)."""
        if not self._lockout.address_allowed(address):
            return StepResult(Outcome.THROTTLED)
        user = db.session.get(User, user_id)
        if user is None or user.disabled:
            return StepResult(Outcome.INVALID)
        if self._lockout.is_locked(user.id):
            self._lockout.refused(user.id, request_id=request_id)
            return StepResult(Outcome.INVALID)
        if not self._totp.verify(user, code):
            self._lockout.failed(user.id, factor="otp", request_id=request_id)
            return StepResult(Outcome.INVALID)
        self._lockout.succeeded(user.id)
        self._audit.record(
            "login.second_factor_succeeded",
            actor=f"user:{user.id}",
            resource="session",
            changes={"factor": "otp"},
            request_id=request_id,
        )
        return StepResult(Outcome.DONE, user)
