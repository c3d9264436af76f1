"""API-3: x-idempotency-key runs a request once and replays its response, on every store."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis

from authserver.clock import FrozenClock
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.idempotency import Idempotency
from authserver.openbanking.idempotency import StoredResponse
from authserver.openbanking.idempotency import read_key
from authserver.openbanking.idempotency import store_key
from authserver.openbanking.idempotency import validate_key
from authserver.store.base import Store
from authserver.store.memory import MemoryStore
from tests.conftest import TEST_REDIS_URL

# Bounds a run whose other thread never arrives; each wait returns as soon as it is released.
HANG_GUARD = 60.0
BODY = b'{"Data":{"ConsentId":"c1"},"Risk":{}}'
CREATED = StoredResponse(
    201,
    b'{"Data":{"DomesticPaymentId":"p1"}}',
    (("Content-Type", "application/json"), ("x-jws-signature", "h..s"), ("Set-Cookie", "a=1")),
)


class Counter:
    """An ``execute`` that counts its runs and answers ``response``."""

    def __init__(self, response: StoredResponse = CREATED) -> None:
        self.runs = 0
        self.response = response
        self._lock = threading.Lock()

    def __call__(self) -> StoredResponse:
        with self._lock:
            self.runs += 1
        return self.response


@pytest.fixture
def idempotency(store: Store, clock: FrozenClock) -> Idempotency:
    return Idempotency(store, clock)


def error_of(caught: pytest.ExceptionInfo[OBErrorResponse]) -> tuple[int, str, str]:
    error = caught.value.to_json()["Errors"][0]
    return caught.value.status, error["ErrorCode"], error["Path"]


def test_first_request_runs_and_identical_retry_gets_the_same_bytes(
    idempotency: Idempotency,
) -> None:
    execute = Counter()
    first = idempotency.run("tpp-1", "key-1", BODY, execute)
    again = idempotency.run("tpp-1", "key-1", BODY, execute)
    assert execute.runs == 1
    assert first == CREATED
    assert again == CREATED
    assert again.body == CREATED.body
    assert again.headers == CREATED.headers


def test_same_key_with_another_body_is_422(idempotency: Idempotency) -> None:
    execute = Counter()
    idempotency.run("tpp-1", "key-1", BODY, execute)
    with pytest.raises(OBErrorResponse) as caught:
        idempotency.run("tpp-1", "key-1", BODY + b" ", execute)
    assert error_of(caught) == (422, "U006", "x-idempotency-key")
    assert execute.runs == 1


def test_concurrent_identical_pair_executes_once_and_the_other_gets_409(
    idempotency: Idempotency,
) -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow() -> StoredResponse:
        runs.append(1)
        started.set()
        assert release.wait(HANG_GUARD)
        return CREATED

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(idempotency.run, "tpp-1", "key-1", BODY, slow)
        assert started.wait(HANG_GUARD)
        with pytest.raises(OBErrorResponse) as caught:
            idempotency.run("tpp-1", "key-1", BODY, slow)
        release.set()
        assert first.result(timeout=HANG_GUARD) == CREATED
    assert error_of(caught) == (409, "U029", "x-idempotency-key")
    assert runs == [1]
    assert idempotency.run("tpp-1", "key-1", BODY, slow) == CREATED  # then the replay
    assert runs == [1]


def test_many_racing_identical_requests_execute_once(idempotency: Idempotency) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    execute = Counter()

    def attempt() -> str:
        barrier.wait(timeout=HANG_GUARD)
        try:
            idempotency.run("tpp-1", "key-1", BODY, execute)
        except OBErrorResponse as exc:
            return str(exc.status)
        return "ok"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = [
            f.result(timeout=HANG_GUARD) for f in [pool.submit(attempt) for _ in range(workers)]
        ]
    assert execute.runs == 1
    assert set(outcomes) <= {"ok", "409"}
    assert "ok" in outcomes


def test_in_flight_request_with_another_body_is_422(idempotency: Idempotency) -> None:
    inside: list[BaseException] = []

    def nested() -> StoredResponse:
        with pytest.raises(OBErrorResponse) as caught:
            idempotency.run("tpp-1", "key-1", b"other", Counter())
        inside.append(caught.value)
        return CREATED

    idempotency.run("tpp-1", "key-1", BODY, nested)
    assert [getattr(e, "status", None) for e in inside] == [422]


def test_failure_releases_the_claim_so_a_retry_runs(idempotency: Idempotency) -> None:
    def broken() -> StoredResponse:
        raise RuntimeError("rail down")

    with pytest.raises(RuntimeError):
        idempotency.run("tpp-1", "key-1", BODY, broken)
    execute = Counter()
    assert idempotency.run("tpp-1", "key-1", BODY, execute) == CREATED
    assert execute.runs == 1


def test_server_errors_are_not_stored(idempotency: Idempotency) -> None:
    failing = Counter(StoredResponse(503, b'{"Errors":[]}'))
    assert idempotency.run("tpp-1", "key-1", BODY, failing).status == 503
    execute = Counter()
    assert idempotency.run("tpp-1", "key-1", BODY, execute) == CREATED
    assert (failing.runs, execute.runs) == (1, 1)


def test_client_errors_returned_by_execute_are_stored(idempotency: Idempotency) -> None:
    refused = StoredResponse(400, b'{"Errors":[{"ErrorCode":"U009"}]}', (("X-A", "1"),))
    first = Counter(refused)
    idempotency.run("tpp-1", "key-1", BODY, first)
    second = Counter()
    assert idempotency.run("tpp-1", "key-1", BODY, second) == refused
    assert second.runs == 0


def test_keys_of_two_clients_never_collide(idempotency: Idempotency) -> None:
    one, two = Counter(), Counter(StoredResponse(201, b"two"))
    idempotency.run("tpp-1", "key-1", BODY, one)
    assert idempotency.run("tpp-2", "key-1", b"other body", two).body == b"two"
    # A ':' in a client id cannot make ("a:b", "c") meet ("a", "b:c").
    idempotency.run("a:b", "c", BODY, one)
    assert idempotency.run("a", "b:c", b"different", two).body == b"two"
    assert (one.runs, two.runs) == (2, 2)
    assert store_key("a:b", "c") != store_key("a", "b:c")


def test_record_expires_after_the_ttl(clock: FrozenClock) -> None:
    idempotency = Idempotency(MemoryStore(clock), clock, ttl=timedelta(hours=24))
    execute = Counter()
    idempotency.run("tpp-1", "key-1", BODY, execute)
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    idempotency.run("tpp-1", "key-1", BODY, execute)
    assert execute.runs == 1
    clock.advance(timedelta(seconds=1))
    idempotency.run("tpp-1", "key-1", b"a new request may reuse the key", execute)
    assert execute.runs == 2


def test_abandoned_claim_expires_after_the_in_flight_ttl(clock: FrozenClock) -> None:
    store = MemoryStore(clock)
    idempotency = Idempotency(store, clock, in_flight_ttl=timedelta(minutes=5))
    crashed = Idempotency(store, clock)
    # What a process that died mid-request leaves behind: its claim, and nothing else.
    claim = {"state": "in_flight", "sha256": hashlib.sha256(BODY).hexdigest(), "at": 0}
    store.first_use(store_key("tpp-1", "key-1"), 300, json.dumps(claim).encode())
    with pytest.raises(OBErrorResponse) as caught:
        crashed.run("tpp-1", "key-1", BODY, Counter())
    assert caught.value.status == 409
    clock.advance(timedelta(minutes=5))
    assert idempotency.run("tpp-1", "key-1", BODY, Counter()) == CREATED


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs AUTHSERVER_TEST_REDIS_URL")
def test_redis_record_lives_24_hours_under_the_documented_key(
    clock: FrozenClock, redis_prefix: str
) -> None:
    from authserver.store.redis import RedisStore

    assert TEST_REDIS_URL is not None
    store = RedisStore(TEST_REDIS_URL, prefix=redis_prefix)
    Idempotency(store, clock).run("tpp-1", "key-1", BODY, Counter())
    client = redis.Redis.from_url(TEST_REDIS_URL)
    ttl = client.pttl(f"{redis_prefix}idempotency:tpp-1:key-1")
    client.close()
    store.close()
    assert 24 * 3600 * 1000 - 60_000 < ttl <= 24 * 3600 * 1000


# -- the header ---------------------------------------------------------------------------


def test_header_is_read_and_a_valid_key_passes() -> None:
    assert read_key({"x-idempotency-key": "abc-123"}) == "abc-123"
    assert validate_key("k" * 40) == "k" * 40


@pytest.mark.parametrize("value", [None, ""])
def test_missing_header_is_u007(value: str | None) -> None:
    with pytest.raises(OBErrorResponse) as caught:
        validate_key(value)
    assert error_of(caught) == (400, "U007", "x-idempotency-key")


@pytest.mark.parametrize("value", ["k" * 41, " ", "   ", " lead", "trail ", "tab\tin", "caf\u00e9"])
def test_invalid_header_is_u006(value: str) -> None:
    with pytest.raises(OBErrorResponse) as caught:
        validate_key(value)
    assert error_of(caught) == (400, "U006", "x-idempotency-key")


def test_run_refuses_an_invalid_key_before_executing(idempotency: Idempotency) -> None:
    execute: Callable[[], StoredResponse] = Counter()
    with pytest.raises(OBErrorResponse):
        idempotency.run("tpp-1", "k" * 41, BODY, execute)
    assert isinstance(execute, Counter)
    assert execute.runs == 0
