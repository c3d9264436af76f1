"""What one rate-limit check costs a request (issue 14 item 4): tier + endpoint budgets.

Runs ``RateLimiter.enforce`` N times in a request context, on memory and on the local
Redis (``--redis-url``), with budgets no run reaches, and prints microseconds per check.
Run from the repository root: ``.venv/bin/python -m benchmarks.ratelimit_cost``.
"""

from __future__ import annotations

import argparse
import time
import uuid

from flask import Flask

from authserver.ratelimit.errors import RateLimitedError
from authserver.ratelimit.limiter import build_rate_limiter
from authserver.settings import load_settings

BUDGET = "100000000/minute"


def per_check_us(redis_url: str | None, checks: int) -> float:
    settings = load_settings(
        redis_url=redis_url,
        redis_prefix=f"bench:ratelimit:{uuid.uuid4().hex[:8]}:",
        ratelimit={"starter": BUDGET, "token": BUDGET},
    )
    limiter = build_rate_limiter(settings)
    app = Flask(__name__)
    with app.test_request_context("/token", method="POST"):
        limiter.enforce("token", "bench-client", "starter", RateLimitedError)  # warm up
        started = time.perf_counter()
        for _ in range(checks):
            limiter.enforce("token", "bench-client", "starter", RateLimitedError)
        return (time.perf_counter() - started) / checks * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--checks", type=int, default=5000)
    options = parser.parse_args()
    print(f"memory: {per_check_us(None, options.checks):.0f} µs per check")
    print(f"redis:  {per_check_us(options.redis_url, options.checks):.0f} µs per check")


if __name__ == "__main__":
    main()
