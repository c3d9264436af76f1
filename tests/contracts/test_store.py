"""One contract for the store Protocol, run against every implementation.

The in-process store always runs (moved by a FrozenClock); the Redis store runs
only when AUTHSERVER_TEST_REDIS_URL is set (real TTLs, short sleeps). Both must
behave the same way, because the app cannot tell which one it was given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from authserver.clock import FrozenClock
from authserver.store import Store
from authserver.store import StoreUnavailableError
from authserver.store.memory import MemoryStore
from authserver.store.redis import RedisStore
from tests.conftest import TEST_REDIS_URL
from tests.helpers import closed_port as _closed_port

# Real Redis TTLs are in milliseconds; keep them short so the suite stays fast.
SHORT_TTL = 0.2
PAST_TTL = 0.3
IDLE_TIMEOUT = 0.05
# Waiting for a message returns as soon as it arrives: the bound only ends a run whose
# message never comes, so it is generous enough for a loaded machine.
MESSAGE_TIMEOUT = 30.0
HANG_GUARD = 120.0


def _elapse(store: Store, clock: FrozenClock, seconds: float) -> None:
    """Let time pass for ``store``: move the frozen clock for memory, really wait for Redis."""
    if isinstance(store, MemoryStore):
        clock.advance(seconds)
    else:
        time.sleep(seconds)


@pytest.fixture
def expire(store: Store, clock: FrozenClock) -> Callable[[], None]:
    """Let SHORT_TTL pass, whichever implementation ``store`` is."""
    return lambda: _elapse(store, clock, PAST_TTL)


def _race(workers: int, action: Callable[[], Any]) -> list[Any]:
    """Run ``action`` in ``workers`` threads released together by a barrier."""
    barrier = threading.Barrier(workers)

    def _run() -> Any:
        barrier.wait(timeout=HANG_GUARD)
        return action()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run) for _ in range(workers)]
        return [future.result(timeout=HANG_GUARD) for future in futures]


def test_get_of_missing_key_is_none(store: Store) -> None:
    assert store.get("missing") is None


def test_set_then_get_returns_the_bytes(store: Store) -> None:
    store.set("k", b"value", ttl=60)
    assert store.get("k") == b"value"


def test_set_replaces_previous_value(store: Store) -> None:
    store.set("k", b"old", ttl=60)
    store.set("k", b"new", ttl=60)
    assert store.get("k") == b"new"


def test_values_are_binary_safe(store: Store) -> None:
    payload = bytes(range(256))
    store.set("bin", payload, ttl=60)
    assert store.get("bin") == payload


def test_delete_removes_key(store: Store) -> None:
    store.set("k", b"value", ttl=60)
    store.delete("k")
    assert store.get("k") is None


def test_delete_of_missing_key_is_a_no_op(store: Store) -> None:
    store.delete("never-set")
    assert store.get("never-set") is None


def test_keys_are_independent(store: Store) -> None:
    store.set("a", b"1", ttl=60)
    store.set("b", b"2", ttl=60)
    store.delete("a")
    assert store.get("a") is None
    assert store.get("b") == b"2"


# -- TTL -----------------------------------------------------------------------------


def test_value_is_gone_after_its_ttl(store: Store, expire: Callable[[], None]) -> None:
    store.set("k", b"value", ttl=SHORT_TTL)
    assert store.get("k") == b"value"
    expire()
    assert store.get("k") is None


def test_set_restarts_the_ttl(store: Store, expire: Callable[[], None]) -> None:
    store.set("k", b"short", ttl=SHORT_TTL)
    store.set("k", b"long", ttl=60)
    expire()
    assert store.get("k") == b"long"


def test_consume_after_ttl_returns_none(store: Store, expire: Callable[[], None]) -> None:
    store.set("k", b"value", ttl=SHORT_TTL)
    expire()
    assert store.consume("k") is None


# -- first_use (replay caches) -------------------------------------------------------


def test_first_use_is_true_once_then_false(store: Store) -> None:
    assert store.first_use("jti-1", ttl=60) is True
    assert store.first_use("jti-1", ttl=60) is False
    assert store.first_use("jti-1", ttl=60) is False


def test_first_use_records_its_value(store: Store) -> None:
    assert store.first_use("jti-1", ttl=60, value=b"seen") is True
    assert store.get("jti-1") == b"seen"


def test_first_use_does_not_overwrite_the_first_value(store: Store) -> None:
    store.first_use("jti-1", ttl=60, value=b"first")
    store.first_use("jti-1", ttl=60, value=b"second")
    assert store.get("jti-1") == b"first"


def test_first_use_is_false_for_a_key_set_by_set(store: Store) -> None:
    store.set("jti-1", b"x", ttl=60)
    assert store.first_use("jti-1", ttl=60) is False


def test_first_use_is_allowed_again_after_expiry(store: Store, expire: Callable[[], None]) -> None:
    assert store.first_use("jti-1", ttl=SHORT_TTL) is True
    expire()
    assert store.first_use("jti-1", ttl=SHORT_TTL) is True
    assert store.first_use("jti-1", ttl=SHORT_TTL) is False


def test_first_use_keys_are_independent(store: Store) -> None:
    assert store.first_use("jti-1", ttl=60) is True
    assert store.first_use("jti-2", ttl=60) is True


def test_first_use_has_exactly_one_winner_under_concurrency(store: Store) -> None:
    results = _race(16, lambda: store.first_use("jti-race", ttl=60))
    assert results.count(True) == 1
    assert results.count(False) == 15


def test_first_use_then_get_spends_once_and_reads_the_other_key(store: Store) -> None:
    store.set("epoch", b"0 abc", ttl=60)
    assert store.first_use_then_get("jti-1", 60, "epoch") == (True, b"0 abc")
    assert store.first_use_then_get("jti-1", 60, "epoch") == (False, b"0 abc")
    assert store.first_use("jti-1", ttl=60) is False  # the same spend as first_use
    assert store.first_use_then_get("jti-2", 60, "missing") == (True, None)


def test_first_use_then_get_reads_after_it_spends(store: Store) -> None:
    # The read sees the state after the spend: spending a key and reading that same
    # key gives what the spend stored, never the "before" of an earlier read.
    assert store.first_use_then_get("jti-1", 60, "jti-1") == (True, b"1")


def test_first_use_then_get_has_exactly_one_winner_under_concurrency(store: Store) -> None:
    results = _race(16, lambda: store.first_use_then_get("jti-race", 60, "epoch")[0])
    assert results.count(True) == 1
    assert results.count(False) == 15


def test_first_use_then_get_expires_like_first_use(
    store: Store, expire: Callable[[], None]
) -> None:
    assert store.first_use_then_get("jti-1", SHORT_TTL, "epoch")[0] is True
    expire()
    assert store.first_use_then_get("jti-1", SHORT_TTL, "epoch")[0] is True


# -- consume (single-use values, GETDEL) ---------------------------------------------


def test_consume_returns_value_once_then_none(store: Store) -> None:
    store.set("request_uri", b"par-payload", ttl=60)
    assert store.consume("request_uri") == b"par-payload"
    assert store.consume("request_uri") is None
    assert store.get("request_uri") is None


def test_consume_of_missing_key_is_none(store: Store) -> None:
    assert store.consume("missing") is None


def test_consume_has_exactly_one_winner_under_concurrency(store: Store) -> None:
    store.set("request_uri", b"par-payload", ttl=60)
    results = _race(8, lambda: store.consume("request_uri"))
    assert results.count(b"par-payload") == 1
    assert results.count(None) == 7


# -- incr_window (rate limits) -------------------------------------------------------


def test_incr_window_counts_up(store: Store) -> None:
    assert [store.incr_window("rl", window=60) for _ in range(3)] == [1, 2, 3]


def test_incr_window_resets_after_the_window(store: Store, expire: Callable[[], None]) -> None:
    assert store.incr_window("rl", window=SHORT_TTL) == 1
    assert store.incr_window("rl", window=SHORT_TTL) == 2
    expire()
    assert store.incr_window("rl", window=SHORT_TTL) == 1
    assert store.incr_window("rl", window=SHORT_TTL) == 2


def test_incr_window_does_not_extend_the_window_on_later_hits(
    store: Store, clock: FrozenClock
) -> None:
    # The window starts at the first hit: hits half-way through must not push it back.
    window = 0.4
    assert store.incr_window("rl", window=window) == 1
    _elapse(store, clock, 0.25)
    assert store.incr_window("rl", window=window) == 2
    _elapse(store, clock, 0.25)
    assert store.incr_window("rl", window=window) == 1


def test_incr_window_counters_are_independent(store: Store) -> None:
    store.incr_window("rl-a", window=60)
    store.incr_window("rl-a", window=60)
    assert store.incr_window("rl-b", window=60) == 1


def test_incr_window_counts_every_concurrent_hit(store: Store) -> None:
    results = _race(8, lambda: store.incr_window("rl", window=60))
    assert sorted(results) == list(range(1, 9))


# -- publish / subscribe (revocation events) -----------------------------------------


def test_subscription_receives_messages_in_order(store: Store) -> None:
    subscription = store.subscribe("events")
    try:
        for message in (b"one", b"two", b"three"):
            store.publish("events", message)
        received = [subscription.get_message(timeout=MESSAGE_TIMEOUT) for _ in range(3)]
        assert received == [b"one", b"two", b"three"]
    finally:
        subscription.close()


def test_idle_subscription_returns_none_after_timeout(store: Store) -> None:
    subscription = store.subscribe("events")
    try:
        assert subscription.get_message(timeout=IDLE_TIMEOUT) is None
    finally:
        subscription.close()


def test_subscription_ignores_other_channels(store: Store) -> None:
    subscription = store.subscribe("events")
    try:
        store.publish("other", b"not-for-you")
        assert subscription.get_message(timeout=IDLE_TIMEOUT * 4) is None
    finally:
        subscription.close()


def test_every_subscriber_receives_each_message(store: Store) -> None:
    first = store.subscribe("events")
    second = store.subscribe("events")
    try:
        store.publish("events", b"revoked")
        assert first.get_message(timeout=MESSAGE_TIMEOUT) == b"revoked"
        assert second.get_message(timeout=MESSAGE_TIMEOUT) == b"revoked"
    finally:
        first.close()
        second.close()


def test_publish_without_subscribers_is_a_no_op(store: Store) -> None:
    store.publish("nobody-listens", b"message")


def test_close_stops_delivery(store: Store) -> None:
    closed = store.subscribe("events")
    still_open = store.subscribe("events")
    try:
        closed.close()
        store.publish("events", b"after-close")
        assert closed.get_message(timeout=IDLE_TIMEOUT) is None
        assert still_open.get_message(timeout=MESSAGE_TIMEOUT) == b"after-close"
    finally:
        still_open.close()


# -- ping ----------------------------------------------------------------------------


def test_ping_succeeds_on_a_reachable_store(store: Store) -> None:
    store.ping()  # raises when the store cannot be reached


# -- fail closed (OPS-6) -------------------------------------------------------------

UNREACHABLE_OPERATIONS: dict[str, Callable[[Store], object]] = {
    "get": lambda s: s.get("k"),
    "set": lambda s: s.set("k", b"v", ttl=60),
    "delete": lambda s: s.delete("k"),
    "first_use": lambda s: s.first_use("k", ttl=60),
    "first_use_then_get": lambda s: s.first_use_then_get("k", 60, "e"),
    "consume": lambda s: s.consume("k"),
    "incr_window": lambda s: s.incr_window("k", window=60),
    "publish": lambda s: s.publish("c", b"m"),
    "subscribe": lambda s: s.subscribe("c"),
    "ping": lambda s: s.ping(),
}


@pytest.mark.parametrize("operation", list(UNREACHABLE_OPERATIONS))
def test_unreachable_redis_raises_store_unavailable(operation: str) -> None:
    unreachable = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", prefix="test:")
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError) as caught:
        UNREACHABLE_OPERATIONS[operation](unreachable)
    # Fail closed and fast: a refused connection must not hang the request.
    assert time.perf_counter() - started < 1.0
    assert caught.value.status_code == 503
    assert caught.value.error == "temporarily_unavailable"


# -- get_many / scan (revocation reads and snapshots) --------------------------------


def test_get_many_returns_values_in_the_order_asked(store: Store) -> None:
    store.set("a", b"1", ttl=60)
    store.set("c", bytes(range(256)), ttl=60)
    assert store.get_many(["c", "missing", "a", "c"]) == [
        bytes(range(256)),
        None,
        b"1",
        bytes(range(256)),
    ]


def test_get_many_of_no_keys_is_empty(store: Store) -> None:
    assert store.get_many([]) == []


def test_get_many_leaves_out_expired_values(store: Store, expire: Callable[[], None]) -> None:
    store.set("short", b"1", ttl=SHORT_TTL)
    store.set("long", b"2", ttl=60)
    expire()
    assert store.get_many(["short", "long"]) == [None, b"2"]


def test_scan_returns_every_key_under_the_prefix_with_its_value(store: Store) -> None:
    store.set("revoked_jti:a", b"1", ttl=60)
    store.set("revoked_jti:b", bytes(range(256)), ttl=60)
    store.set("revoked_before:user:u", b"3", ttl=60)
    store.set("other:revoked_jti:c", b"4", ttl=60)
    assert store.scan("revoked_jti:") == {"revoked_jti:a": b"1", "revoked_jti:b": bytes(range(256))}


def test_scan_of_an_unused_prefix_is_empty(store: Store) -> None:
    store.set("k", b"1", ttl=60)
    assert store.scan("nothing-here:") == {}


def test_scan_leaves_out_expired_keys(store: Store, expire: Callable[[], None]) -> None:
    store.set("p:short", b"1", ttl=SHORT_TTL)
    store.set("p:long", b"2", ttl=60)
    expire()
    assert store.scan("p:") == {"p:long": b"2"}


def test_scan_leaves_out_deleted_and_consumed_keys(store: Store) -> None:
    for name in ("p:kept", "p:deleted", "p:consumed"):
        store.set(name, b"1", ttl=60)
    store.delete("p:deleted")
    store.consume("p:consumed")
    assert store.scan("p:") == {"p:kept": b"1"}


@pytest.mark.parametrize("prefix", ["a*b:", "a?b:", "[ab]:", "a[b:", "a]b:", "a\\b:", "a^b:"])
def test_scan_takes_the_prefix_literally(store: Store, prefix: str) -> None:
    # On Redis, SCAN MATCH is a glob: each of these would also match the decoys unescaped.
    store.set(prefix + "1", b"literal", ttl=60)
    for decoy in ("axb:1", "ab:1", "a:1", "b:1", "a\\\\b:1", "ab", "a*b", "[ab]"):
        if decoy != prefix + "1":
            store.set(decoy, b"decoy", ttl=60)
    assert store.scan(prefix) == {prefix + "1": b"literal"}


def test_scan_returns_more_keys_than_one_batch(store: Store) -> None:
    count = 1200
    for n in range(count):
        store.set(f"many:{n}", str(n).encode(), ttl=60)
    found = store.scan("many:")
    assert len(found) == count
    assert found["many:1199"] == b"1199"


def test_redis_scan_escapes_glob_characters_in_the_store_prefix(redis_prefix: str) -> None:
    if not TEST_REDIS_URL:
        pytest.skip("needs AUTHSERVER_TEST_REDIS_URL: the memory store has no key prefix")
    odd = RedisStore(TEST_REDIS_URL, prefix=redis_prefix + "odd*[x]?\\:")
    neighbour = RedisStore(TEST_REDIS_URL, prefix=redis_prefix + "oddA[x]?\\:")
    try:
        odd.set("p:1", b"mine", ttl=60)
        neighbour.set("p:1", b"neighbour", ttl=60)
        assert odd.scan("p:") == {"p:1": b"mine"}
        assert neighbour.scan("p:") == {"p:1": b"neighbour"}
    finally:
        odd.close()
        neighbour.close()


@pytest.mark.parametrize(
    "operation",
    [lambda s: s.get_many(["a", "b"]), lambda s: s.scan("p:")],
    ids=["get_many", "scan"],
)
def test_unreachable_redis_fails_get_many_and_scan(operation: Callable[[Store], object]) -> None:
    unreachable = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", prefix="test:")
    with pytest.raises(StoreUnavailableError):
        operation(unreachable)
