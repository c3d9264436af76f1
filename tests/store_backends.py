"""The ``store`` fixture: every Store implementation this run has (the in-process one,
and Redis when AUTHSERVER_TEST_REDIS_URL is set), for tests that hold of all of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from authserver.clock import FrozenClock
from authserver.store.base import Store
from authserver.store.memory import MemoryStore
from authserver.store.redis import RedisStore
from tests.conftest import TEST_REDIS_URL


def _backends() -> list[Any]:
    params = [pytest.param("memory", id="memory")]
    if TEST_REDIS_URL:
        params.append(pytest.param("redis", id="redis"))
    return params


@pytest.fixture(params=_backends())
def store(request: pytest.FixtureRequest, clock: FrozenClock, redis_prefix: str) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(clock)
        return
    assert TEST_REDIS_URL is not None
    redis_store = RedisStore(TEST_REDIS_URL, prefix=redis_prefix)
    yield redis_store
    redis_store.close()
