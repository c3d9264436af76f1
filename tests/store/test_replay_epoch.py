"""The replay epoch (F5) on every store implementation: where replay state begins, how a
loss moves it, and that an unreachable store fails closed."""

from __future__ import annotations

import pytest

from authserver.clock import FrozenClock
from authserver.store import StoreUnavailableError
from authserver.store.base import Store
from authserver.store.redis import RedisStore
from authserver.store.replay import EPOCH_KEY
from authserver.store.replay import NO_FLOOR
from authserver.store.replay import ReplayEpoch
from tests.helpers import closed_port
from tests.store.loss import lose_store_data

MARGIN = 10


def test_a_store_nobody_saw_lose_data_sets_no_floor(store: Store, clock: FrozenClock) -> None:
    """A new deployment has nothing to forget: backdated JWTs are bounded by their own
    time checks (FAPI's proof with iat 10 s in the past must pass right after a deploy)."""
    epoch = ReplayEpoch(store, clock, MARGIN)

    assert epoch.floor() == NO_FLOOR
    assert epoch.admits(clock.time() - 10)


def test_the_floor_stays_put_while_the_store_keeps_its_data(
    store: Store, clock: FrozenClock
) -> None:
    epoch = ReplayEpoch(store, clock, MARGIN)
    start = epoch.floor()
    clock.advance(100)

    assert epoch.floor() == start


def test_a_loss_seen_by_a_running_process_moves_the_floor_past_the_skew(
    store: Store, clock: FrozenClock
) -> None:
    epoch = ReplayEpoch(store, clock, MARGIN)
    epoch.floor()
    clock.advance(5)
    lose_store_data(store)

    assert epoch.floor() == clock.time() + MARGIN


def test_every_process_adopts_the_floor_written_first(store: Store, clock: FrozenClock) -> None:
    first, second = ReplayEpoch(store, clock, MARGIN), ReplayEpoch(store, clock, MARGIN)
    start = first.floor()
    clock.advance(5)

    assert second.floor() == start


def test_a_marker_written_again_by_a_process_that_took_the_store_for_new_is_a_loss(
    store: Store, clock: FrozenClock
) -> None:
    running = ReplayEpoch(store, clock, MARGIN)
    running.floor()
    lose_store_data(store)
    clock.advance(3)
    ReplayEpoch(store, clock, MARGIN).start()  # a worker started after the flush

    assert running.floor() == clock.time() + MARGIN
    assert not running.admits(clock.time())


def test_a_floor_moved_by_another_process_is_adopted_without_a_new_reset(
    store: Store, clock: FrozenClock
) -> None:
    first, second = ReplayEpoch(store, clock, MARGIN), ReplayEpoch(store, clock, MARGIN)
    first.floor()
    second.floor()
    lose_store_data(store)
    moved = first.floor()
    clock.advance(2)

    assert second.floor() == moved


def test_an_unreadable_marker_counts_as_a_loss(store: Store, clock: FrozenClock) -> None:
    store.set(EPOCH_KEY, b"not a time", ttl=60)

    assert ReplayEpoch(store, clock, MARGIN).floor() == clock.time() + MARGIN


def test_an_unreachable_store_fails_closed(clock: FrozenClock) -> None:
    unreachable = RedisStore(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        with pytest.raises(StoreUnavailableError):
            ReplayEpoch(unreachable, clock, MARGIN).admits(clock.time())
    finally:
        unreachable.close()


def test_start_joins_the_replay_state_so_a_later_loss_is_recognised(
    store: Store, clock: FrozenClock
) -> None:
    epoch = ReplayEpoch(store, clock, MARGIN)
    epoch.start()
    signed_at = clock.time()
    clock.advance(30)
    assert epoch.admits(signed_at)

    lose_store_data(store)

    assert not epoch.admits(signed_at)


def test_start_leaves_an_unreachable_store_to_the_first_check(clock: FrozenClock) -> None:
    unreachable = RedisStore(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        ReplayEpoch(unreachable, clock, MARGIN).start()
    finally:
        unreachable.close()
