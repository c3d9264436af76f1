"""What every server benchmark is told: its command-line options, checked, and the
validity windows that bound a run (requests are signed before the clock starts)."""

from __future__ import annotations

import argparse
import os
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
LOOPBACK = "127.0.0.1"
# Assertions are signed before the clock starts; the server accepts lifetimes up to
# AUTHSERVER_OAUTH__ASSERTION_MAX_LIFETIME (300 s), so the run must end well within that.
ASSERTION_LIFETIME = 290
WARMUP_SECONDS = 30
MAX_RUN_SECONDS = 240  # + WARMUP_SECONDS stays inside ASSERTION_LIFETIME
# The server's defaults (not set here): a proof's iat may be 60 s old without a nonce
# (oauth.dpop_past_window); a nonce is accepted in its 60 s step and the next one
# (oauth.dpop_nonce_step), so for at least 60 s after it was handed out.
DPOP_PAST_WINDOW = 60
DPOP_NONCE_STEP = 60
DPOP_MAX_RUN_SECONDS = 45  # + signing + SAFETY_MARGIN stays inside both windows
SAFETY_MARGIN = 3.0


@dataclass
class Options:
    requests: int
    warmup: int
    concurrency: int
    max_seconds: float
    workers: int
    threads: int
    admin_database_url: str
    redis_url: str
    dpop: bool = False
    nonce: bool = False
    server: str = "gunicorn"
    """The WSGI server: ``gunicorn`` (sync workers, or gthread with ``threads`` > 1) or
    ``granian`` (its Rust HTTP layer, ``--interface wsgi``)."""


@dataclass(frozen=True)
class Prepared:
    """One request, signed before the clock starts."""

    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


@dataclass
class Batch:
    requests: list[Prepared]
    valid_until: float
    """Wall-clock time (time.time()) up to which every assertion and proof is accepted."""
    signing_seconds: float


@dataclass
class Outcome:
    latencies: list[float]
    statuses: Counter[str]
    connections: int
    wall_seconds: float


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the throw-away PostgreSQL database and the Redis prefix live."""
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "AUTHSERVER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL used to create and drop the benchmark database",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("AUTHSERVER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )


def server_arguments(description: str, *, dpop_flag: bool) -> argparse.ArgumentParser:
    """The options every server benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests (2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (200)")
    parser.add_argument("--concurrency", type=int, default=8, help="driver threads (8)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help=f"stop the timed part after this (120; {DPOP_MAX_RUN_SECONDS} with DPoP)",
    )
    if dpop_flag:
        parser.add_argument(
            "--dpop",
            action="store_true",
            help="register the client with --dpop-bound-access-tokens; every request "
            "carries a DPoP proof (ES256)",
        )
    parser.add_argument(
        "--nonce",
        action="store_true",
        help="the server requires DPoP nonces (AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED=true)"
        + ("; needs --dpop" if dpop_flag else ""),
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="gunicorn threads per worker; above 1 uses the gthread worker, which keeps "
        "connections alive (the default sync worker closes each one)",
    )
    add_backend_arguments(parser)
    return parser


def checked_options(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, dpop: bool
) -> Options:
    """Options from parsed arguments; ``dpop`` says whether every request carries a proof."""
    if args.nonce and not dpop:
        parser.error("--nonce needs --dpop")
    limit = DPOP_MAX_RUN_SECONDS if dpop else MAX_RUN_SECONDS
    options = Options(
        requests=args.requests,
        warmup=args.warmup,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds if args.max_seconds is not None else min(120.0, limit),
        workers=args.workers,
        threads=args.threads,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
        dpop=dpop,
        nonce=args.nonce,
    )
    if not 1 <= options.concurrency <= 64 or options.requests < 1 or options.warmup < 0:
        parser.error("need 1..64 threads, at least one request and a non-negative warm-up")
    if not 0 < options.max_seconds <= limit:
        parser.error(f"--max-seconds must be in (0, {limit}]: signed requests expire")
    for name, url in (("database", options.admin_database_url), ("redis", options.redis_url)):
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"the {name} must be on loopback, not {host!r}")
    return options
