"""Both budgets of a request in one Redis round trip.

``SlidingWindowCounterRateLimiter`` on ``RedisStorage`` spends a budget with one script
call and reads its window with another: four round trips for the tier and the endpoint
budget. Here the same four calls (the ``limits`` library's own Lua scripts, on its own
keys, so windows stay compatible with the library) go out in one pipeline. The scripts
are called by SHA; after a Redis restart or ``SCRIPT FLUSH`` they are loaded again and the
pipeline is sent once more.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any
from typing import cast

import redis
from limits import RateLimitItem
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError

WindowSpend = tuple[bool, int, int, float]
"""(allowed, limit, remaining, reset epoch seconds)"""


class PipelinedWindows:
    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._acquire = storage.lua_acquire_sliding_window
        self._window = storage.lua_sliding_window

    def spend(self, budgets: Sequence[tuple[RateLimitItem, tuple[str, ...]]]) -> list[WindowSpend]:
        """Spend one unit of each budget; what each said, in order."""
        try:
            answers = self._send(budgets)
        except NoScriptError:
            connection = cast(redis.Redis, self._storage.get_connection())
            for script in (self._acquire, self._window):
                connection.script_load(script.script)
            answers = self._send(budgets)
        now = time.time()
        return [
            _decision(item, bool(answers[2 * n]), answers[2 * n + 1], now)
            for n, (item, _) in enumerate(budgets)
        ]

    def _send(self, budgets: Sequence[tuple[RateLimitItem, tuple[str, ...]]]) -> list[Any]:
        storage = self._storage
        pipe = cast(redis.Redis, storage.get_connection()).pipeline(transaction=False)
        for item, identifiers in budgets:
            key = item.key_for(*identifiers)
            keys = (
                storage.prefixed_key(storage._previous_window_key(key)),  # noqa: SLF001
                storage.prefixed_key(storage._current_window_key(key)),  # noqa: SLF001
            )
            pipe.evalsha(self._acquire.sha, 2, *keys, item.amount, item.get_expiry(), 1)
            pipe.evalsha(self._window.sha, 2, *keys, item.get_expiry())
        return list(pipe.execute())


def _decision(item: RateLimitItem, allowed: bool, window: list[Any], now: float) -> WindowSpend:
    """Remaining and reset as ``SlidingWindowCounterRateLimiter.get_window_stats`` has them."""
    expiry = item.get_expiry()
    previous_count = int(window[0] or 0)
    previous_expires_in = max(0.0, float(window[1] or 0)) / 1000
    current_count = int(window[2] or 0)
    current_expires_in = max(0.0, float(window[3] or 0)) / 1000
    weighted = previous_count * previous_expires_in / expiry + current_count
    remaining = max(0, item.amount - math.floor(weighted))
    reset_in = math.inf
    if previous_count:
        reset_in = previous_expires_in % (expiry / previous_count)
    if current_count:
        reset_in = min(reset_in, current_expires_in % expiry)
    reset = now + reset_in if math.isfinite(reset_in) and reset_in > 0 else now + 1
    return allowed, item.amount, remaining, reset
