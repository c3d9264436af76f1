"""One limiter, two budgets per request: the client's tier and the endpoint group.

A request to a limited endpoint spends one unit of its client's tier budget (Starter,
Growth, Enterprise per minute) and one of the endpoint group's per-client budget (PAR,
token, consents, payments), both at once (one Redis round trip). Both must allow it. The
headers report the tighter of the two, so ``X-RateLimit-Remaining`` never promises more
than the next request will get.

Windows are sliding-window counters (``limits.strategies.SlidingWindowCounterRateLimiter``):
a weighted sum of the previous and the current fixed window, accurate to within one window's
share and needing two small keys per budget instead of one entry per request. An
unreachable Redis fails closed: the request is answered 503, never let through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from flask import Flask
from flask import Response
from flask import g
from limits import RateLimitItem
from limits import parse
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from authserver.metrics import BACKEND_ERRORS
from authserver.metrics import RATE_LIMIT_REFUSALS
from authserver.ratelimit.redis_batch import PipelinedWindows
from authserver.settings import RateLimitSettings
from authserver.settings import Settings
from authserver.store.errors import StoreUnavailableError

log = structlog.get_logger(__name__)
GROUPS = ("par", "token", "consents", "payments")
_DECISION = "rate_limit_decision"


@dataclass(frozen=True)
class Decision:
    """What one budget said about one request."""

    allowed: bool
    limit: int
    remaining: int
    reset: float
    """Epoch seconds at which the budget has room again."""

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.reset - now))


class RateLimiter:
    """Spends tier and endpoint budgets; ``enforce`` raises the caller's refusal."""

    def __init__(self, settings: RateLimitSettings, storage: MemoryStorage | RedisStorage) -> None:
        self._enabled = settings.enabled
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        # On Redis both budgets travel in one round trip (redis_batch); memory needs none.
        self._pipelined = PipelinedWindows(storage) if isinstance(storage, RedisStorage) else None
        self._tiers = {
            "starter": parse(settings.starter),
            "growth": parse(settings.growth),
            "enterprise": parse(settings.enterprise),
        }
        self._groups = {
            "par": parse(settings.par),
            "token": parse(settings.token),
            "consents": parse(settings.consents),
            "payments": parse(settings.payments),
        }

    @property
    def enabled(self) -> bool:
        return self._enabled

    def enforce(
        self, group: str, client_id: str, tier: str, refusal: Callable[[], Exception]
    ) -> None:
        """Spend one unit of both budgets, or raise ``refusal()`` (429) when either is out."""
        if not self._enabled:
            return
        decision = self._decide(group, client_id, tier)
        g.setdefault(_DECISION, decision)
        if not decision.allowed:
            RATE_LIMIT_REFUSALS.labels(group, tier).inc()
            log.info("rate_limited", group=group, client_id=client_id, tier=tier)
            raise refusal()

    def _decide(self, group: str, client_id: str, tier: str) -> Decision:
        tier_item = self._tiers.get(tier, self._tiers["starter"])
        try:
            if self._pipelined is not None:
                spent = self._pipelined.spend(
                    [(tier_item, ("tier", client_id)), (self._groups[group], (group, client_id))]
                )
                first, second = (Decision(*answer) for answer in spent)
            else:
                first = self._spend(tier_item, "tier", client_id)
                second = self._spend(self._groups[group], group, client_id)
        except (StorageError, RedisError) as exc:
            BACKEND_ERRORS.labels("store").inc()
            log.warning("rate_limit_store_unreachable", error_detail=type(exc).__name__)
            raise StoreUnavailableError() from exc
        if not first.allowed:
            return first
        if not second.allowed or second.remaining < first.remaining:
            return second
        return first

    def _spend(self, item: RateLimitItem, *identifiers: str) -> Decision:
        allowed = self._strategy.hit(item, *identifiers)
        stats = self._strategy.get_window_stats(item, *identifiers)
        reset = stats.reset_time if stats.reset_time > time.time() else time.time() + 1
        return Decision(allowed, item.amount, stats.remaining, reset)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when the store is Redis (or ``AUTHSERVER_RATELIMIT__STORAGE_URL``), else memory."""
    url = settings.ratelimit.storage_url or settings.redis_url
    storage: MemoryStorage | RedisStorage
    if url:
        storage = RedisStorage(
            url,
            key_prefix=settings.redis_prefix + "ratelimit",
            wrap_exceptions=True,
            socket_connect_timeout=2,
            socket_timeout=2,
        )
    else:
        storage = MemoryStorage(wrap_exceptions=True)
    return RateLimiter(settings.ratelimit, storage)


def add_rate_limit_headers(response: Response) -> Response:
    """``after_request``: every limited response says where its client stands."""
    decision: Decision | None = g.get(_DECISION)
    if decision is None:
        return response
    response.headers["X-RateLimit-Limit"] = str(decision.limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(decision.reset))
    if not decision.allowed:
        response.headers["Retry-After"] = str(decision.retry_after(time.time()))
    return response


def setup_rate_limit_headers(app: Flask) -> None:
    """Both app factories: the headers on every response a budget was spent for."""
    app.after_request(add_rate_limit_headers)
