"""The fuzz harness (issue 14 item 6): run by ``.ci/fuzz.py``, smoke-tested here."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import settings


def bounded(examples: int) -> settings:
    """Derandomized (the same cases every run), no example database, no deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
