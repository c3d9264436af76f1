"""One-time codes for the scripted user (RFC 6238, as the server checks them).

The server accepts each code once per user and 30 s step, one step of drift either way.
``TotpCodes`` hands out a code for a step it has not used yet (now, then the next, then
the previous); when all three are spent it polls, with a generous deadline, until time
moves into a new step. Tests with a controlled clock pass ``now`` instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pyotp

STEP = 30
WAIT_SECONDS = 40.0


class TotpCodes:
    """A callable code source for one secret; thread-safe, never repeats a step."""

    def __init__(self, secret: str, now: Callable[[], float] = time.time) -> None:
        self._totp = pyotp.TOTP(secret)
        self._now = now
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._lock:
                current = int(self._now()) // STEP
                for step in (current, current + 1, current - 1):
                    if step not in self._used:
                        self._used.add(step)
                        return self._totp.at(step * STEP)
            if time.monotonic() > deadline:
                raise TimeoutError("no unused TOTP step within the deadline")
            time.sleep(0.5)  # polling for the next step, not a fixed wait
