"""Redis store: shared by every process and node; required for more than one process.

Every Redis failure surfaces as StoreUnavailableError (fail closed, OPS-6).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import redis
import structlog
from redis.client import PubSub

from authserver.metrics import BACKEND_ERRORS
from authserver.store.errors import StoreUnavailableError

log = structlog.get_logger(__name__)
T = TypeVar("T")
SCAN_BATCH = 500

# INCR then set the window's expiry only on the first hit, atomically.
_INCR_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@contextmanager
def _unavailable_on_error() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        log.warning("store_unreachable", error_detail=type(exc).__name__)
        BACKEND_ERRORS.labels("store").inc()
        raise StoreUnavailableError() from exc


def _as_bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


def _glob_escape(text: str) -> str:
    """SCAN MATCH is a glob: escape its special characters in a literal prefix."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisSubscription:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    def get_message(self, timeout: float) -> bytes | None:
        with _unavailable_on_error():
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        if message is None:
            return None
        data = message["data"]
        return data if isinstance(data, bytes) else str(data).encode()

    def close(self) -> None:
        with _unavailable_on_error():
            self._pubsub.close()


class RedisStore:
    def __init__(self, url: str, prefix: str = "authserver:") -> None:
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30
        )
        self._prefix = prefix
        self._incr_window: Callable[..., int] = self._client.register_script(_INCR_WINDOW)

    def _k(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> bytes | None:
        with _unavailable_on_error():
            value = self._client.get(self._k(key))
        return _as_bytes(value)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        with _unavailable_on_error():
            values = self._client.mget([self._k(key) for key in keys])
        return [_as_bytes(value) for value in values]

    def scan(self, prefix: str) -> dict[str, bytes]:
        pattern = _glob_escape(self._k(prefix)) + "*"
        found: dict[str, bytes] = {}
        with _unavailable_on_error():
            names = [_as_bytes(name) for name in self._client.scan_iter(match=pattern, count=1000)]
            keys = [name.decode() for name in names if name is not None]
            for start in range(0, len(keys), SCAN_BATCH):
                batch = keys[start : start + SCAN_BATCH]
                for key, value in zip(batch, self._client.mget(batch), strict=True):
                    if value is not None:
                        found[key.removeprefix(self._prefix)] = _as_bytes(value) or b""
        return found

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with _unavailable_on_error():
            self._client.set(self._k(key), value, px=_ms(ttl))

    def delete(self, key: str) -> None:
        with _unavailable_on_error():
            self._client.delete(self._k(key))

    def first_use(self, key: str, ttl: float, value: bytes = b"1") -> bool:
        with _unavailable_on_error():
            return bool(self._client.set(self._k(key), value, px=_ms(ttl), nx=True))

    def first_use_then_get(self, key: str, ttl: float, then: str) -> tuple[bool, bytes | None]:
        # A pipeline without MULTI: one round trip, and Redis runs the two in order on
        # this connection, so the GET sees the state after the SET NX.
        with _unavailable_on_error():
            pipe = self._client.pipeline(transaction=False)
            pipe.set(self._k(key), b"1", px=_ms(ttl), nx=True)
            pipe.get(self._k(then))
            first, value = pipe.execute()
        return bool(first), _as_bytes(value)

    def consume(self, key: str) -> bytes | None:
        with _unavailable_on_error():
            value = self._client.getdel(self._k(key))
        return _as_bytes(value)

    def incr_window(self, key: str, window: float) -> int:
        with _unavailable_on_error():
            return int(self._incr_window(keys=[self._k(key)], args=[_ms(window)]))

    def publish(self, channel: str, message: bytes) -> None:
        with _unavailable_on_error():
            self._client.publish(self._k(channel), message)

    def subscribe(self, channel: str) -> RedisSubscription:
        with _unavailable_on_error():
            pubsub = self._client.pubsub()  # type: ignore[no-untyped-call]
            pubsub.subscribe(self._k(channel))
            # Wait for the confirmation so a publish right after this call is not lost.
            pubsub.get_message(timeout=1.0)
        return RedisSubscription(pubsub)

    def ping(self) -> None:
        with _unavailable_on_error():
            self._client.ping()

    def close(self) -> None:
        self._client.close()
