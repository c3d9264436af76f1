"""Brute-force lockout: per user in SQL, per client address in the store.

After ``lockout_threshold`` failed attempts (a wrong password or a wrong second factor) the
account locks for ``lockout_base_seconds``, and each further lock doubles that, up to
``lockout_max_seconds``; a successful login resets both. The lock lives in SQL (one row per
user), so a restart does not lift it and every process sees it. While locked, even the
right password is refused with the same neutral error, so guessing gains nothing.

Failed attempts per client address are counted in the store over a window (``ip_attempts``
per ``ip_window``): one address spraying many usernames is slowed without locking their owners.
Every failure and every lock is an audit event.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authserver.audit.service import AuditTrail
from authserver.clock import Clock
from authserver.db import db
from authserver.sca.models import LoginLock
from authserver.settings import ScaSettings
from authserver.store.base import Store

_IP_PREFIX = "login_ip:"


class Lockout:
    def __init__(self, settings: ScaSettings, store: Store, clock: Clock, audit: AuditTrail):
        self._settings = settings
        self._store = store
        self._clock = clock
        self._audit = audit

    def address_allowed(self, address: str) -> bool:
        """False once ``address`` failed too often in the window. Only failures count, so
        many people behind one address (an office, a carrier's NAT) can still sign in."""
        raw = self._store.get(_IP_PREFIX + address)
        return raw is None or int(raw) < self._settings.ip_attempts

    def address_failed(self, address: str) -> None:
        self._store.incr_window(_IP_PREFIX + address, self._settings.ip_window)

    def is_locked(self, user_id: str) -> bool:
        row = db.session.get(LoginLock, user_id)
        return (
            row is not None
            and row.locked_until is not None
            and row.locked_until > self._clock.now()
        )

    def failed(self, user_id: str, *, factor: str, request_id: str) -> None:
        """One failed attempt by ``user_id`` (``factor``: ``pwd``, ``otp``, ...); may lock.

        Two processes counting a user's first failure at once both find no row and both
        insert one; the loser's commit breaks the primary key. It then counts again on
        the winner's row (now there to lock), so the attempt is neither lost nor a 500.
        """
        try:
            self._count_failure(user_id, factor=factor, request_id=request_id)
        except IntegrityError:
            db.session.rollback()
            self._count_failure(user_id, factor=factor, request_id=request_id)

    def _count_failure(self, user_id: str, *, factor: str, request_id: str) -> None:
        now = self._clock.now()
        row = db.session.scalar(
            select(LoginLock).where(LoginLock.user_id == user_id).with_for_update()
        )
        if row is None:
            row = LoginLock(user_id=user_id, failures=0, locks=0, updated_at=now)
            db.session.add(row)
        if row.locked_until is not None and row.locked_until <= now:
            row.locked_until = None  # the last lock is over: counting starts again
        row.failures += 1
        row.updated_at = now
        self._audit.record(
            "login.factor_failed",
            actor=f"user:{user_id}",
            resource="session",
            outcome="failure",
            changes={"factor": factor, "failures": row.failures},
            request_id=request_id,
            commit=False,
        )
        if row.failures >= self._settings.lockout_threshold and row.locked_until is None:
            seconds = min(
                self._settings.lockout_base_seconds * 2 ** min(row.locks, 30),
                self._settings.lockout_max_seconds,
            )
            row.locked_until = now + timedelta(seconds=seconds)
            row.locks += 1
            row.failures = 0
            self._audit.record(
                "login.locked",
                actor=f"user:{user_id}",
                resource=f"user:{user_id}",
                outcome="failure",
                changes={"seconds": seconds, "locks": row.locks},
                request_id=request_id,
                commit=False,
            )
        db.session.commit()

    def refused(self, user_id: str, *, request_id: str) -> None:
        """An attempt while locked: audited, not counted (the lock does not grow by itself)."""
        self._audit.record(
            "login.refused_locked",
            actor=f"user:{user_id}",
            resource="session",
            outcome="failure",
            request_id=request_id,
        )

    def succeeded(self, user_id: str) -> None:
        row = db.session.get(LoginLock, user_id)
        if row is not None:
            db.session.delete(row)
            db.session.commit()

    def unlock(self, user_id: str) -> None:
        """The operator's reset (``authserver users reset-factors``) lifts a lock too."""
        self.succeeded(user_id)
