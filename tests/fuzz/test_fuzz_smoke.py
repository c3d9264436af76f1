"""The fuzz harness itself, on a tiny budget, on both backends: every operation of
/openapi.json and every OAuth form endpoint is tried, and nothing is a 5xx. CI's full
run is ``.ci/fuzz.py``."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TEST_REDIS_URL
from tests.fuzz.forms_run import ENDPOINTS
from tests.fuzz.forms_run import run_forms
from tests.fuzz.openapi_run import run_openapi
from tests.fuzz.recorder import Recorder
from tests.fuzz.world import build_world

OPERATIONS = 15


def test_a_small_fuzz_run_reaches_every_endpoint_without_a_finding(
    tmp_path: Path, database_url: str
) -> None:
    world = build_world(tmp_path, database_url, TEST_REDIS_URL)
    recorder = Recorder()
    recorder.watch(world.app)
    try:
        run_openapi(world, recorder, examples=2)
        run_forms(world, recorder, examples=10)
    finally:
        world.close()
    assert recorder.findings == []
    assert len(recorder.requests) == OPERATIONS + len(ENDPOINTS)
    assert sum(recorder.successes.values()) > 0
