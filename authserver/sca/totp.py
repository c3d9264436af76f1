"""TOTP (RFC 6238) as a second factor: 30 s steps, one step of drift either way, each code
accepted once per user and step.

The once-only rule goes through the store's ``first_use`` so it holds across processes:
a code seen over a shoulder (or replayed by malware) in the same step is worthless. The
marker is keyed by the step that matched, not by the code text, so the same code cannot be
used twice by sliding it between neighbouring steps either.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

import pyotp

from authserver.clock import Clock
from authserver.sca.models import User
from authserver.store.base import Store

STEP_SECONDS = 30
DRIFT_STEPS = 1
DIGITS = 6
_USED_PREFIX = "totp_used:"


class TotpVerifier:
    def __init__(self, store: Store, clock: Clock, secret_of: Callable[[User], str | None]) -> None:
        """``secret_of``: opens a user's sealed secret (``UserService.totp_secret``)."""
        self._store = store
        self._clock = clock
        self._secret_of = secret_of

    def matching_step(self, secret: str, code: str) -> int | None:
        """The time step (within the drift) whose code is ``code``; None when none is.

        Every candidate is compared, in constant time, so the time taken says nothing about
        which step (if any) matched.
        """
        code = code.strip().replace(" ", "")
        if len(code) != DIGITS or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
        now_step = int(self._clock.time()) // STEP_SECONDS
        found = None
        for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
            expected = totp.at(step * STEP_SECONDS)
            if hmac.compare_digest(expected.encode(), code.encode()) and found is None:
                found = step
        return found

    def verify_secret(self, user_id: str, secret: str, code: str) -> bool:
        """``code`` is right now for ``secret`` and was never accepted before for this step."""
        step = self.matching_step(secret, code)
        if step is None:
            return False
        # Kept past the last moment the step could still match (drift included).
        ttl = STEP_SECONDS * (2 * DRIFT_STEPS + 2)
        return self._store.first_use(f"{_USED_PREFIX}{user_id}:{step}", ttl)

    def verify(self, user: User, code: str) -> bool:
        """The public check (login, step-up): False too when the user has no TOTP."""
        secret = self._secret_of(user)
        if secret is None:
            return False
        return self.verify_secret(user.id, secret, code)
