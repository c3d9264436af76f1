"""CPU per request of the accounts transactions page, measured two ways on PostgreSQL + Redis.

Wall-clock req/s on this shared 2-core machine moves with whatever else runs; the CPU a
worker spends per request moves much less, so that is what this benchmark reports first:

1. the same throw-away backends, TPP, user, seeded accounts, authorised Detail consent
   and DPoP-bound token as ``accounts_transactions`` (its ``prepare``);
2. **in process**: an app built from the servers' environment, ``--inprocess`` requests
   (after ``--warmup``) through the Flask test client, each with its own ES256 proof
   signed before timing; prints ``time.process_time()`` per request (the worker's side:
   Flask, joserfc, SQLAlchemy, psycopg and redis-py clients, rendering) and, with
   ``--profile``, cProfile's top functions by own and by cumulative time;
3. **gunicorn + wrk** (unless ``--no-wrk``): ``gunicorn --workers 2`` (sync), a pool of
   raw requests each with its own proof (rendered before timing), replayed once each by
   ``wrk -t2 -c8`` for ``--seconds``; prints req/s, p50/p99, the server's CPU per request
   (gunicorn's master and workers, from ``/proc``) and the load averages around it.

Run from the repository root: ``.venv/bin/python -m benchmarks.accounts_cpu --profile``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from authserver import create_app
from authserver.db import db
from authserver.settings import load_settings
from benchmarks.accounts_transactions import prepare
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import add_backend_arguments
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import gunicorn
from benchmarks.harness import load_average
from benchmarks.harness.cpu import cpu_ms_between
from benchmarks.harness.cpu import tree_ticks
from benchmarks.harness.wrk import WrkRun
from benchmarks.harness.wrk import render
from benchmarks.harness.wrk import run_wrk
from benchmarks.harness.wrk import write_pool
from tppkit import PrivateKey
from tppkit import dpop_proof
from tppkit import generate_key


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inprocess", type=int, default=1000, help="timed in-process requests")
    parser.add_argument("--rounds", type=int, default=5, help="in-process rounds (5)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first (100)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--top", type=int, default=30, help="functions listed per ordering")
    parser.add_argument("--no-wrk", action="store_true", help="skip the gunicorn + wrk part")
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk duration (15, max 40)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--pool", type=int, default=12000, help="proofs signed for wrk")
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 40 or args.inprocess < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--seconds must be in (0, 40] (proofs age); --inprocess at least 1")
    return args


Sign = Callable[[], Prepared]


def signer(dpop_key: PrivateKey, issuer: str, path: str, token: str) -> Sign:
    def make() -> Prepared:
        proof = dpop_proof(dpop_key, "GET", issuer + path, access_token=token)
        return Prepared("GET", path, None, {"Authorization": f"DPoP {token}", "DPoP": proof})

    return make


def in_process_cpu(env: dict[str, str], sign: Sign, args: argparse.Namespace) -> float:
    """CPU ms per request through the test client (and the profile when asked for)."""
    overrides = {
        name.removeprefix("AUTHSERVER_").lower(): value
        for name, value in env.items()
        if name.startswith("AUTHSERVER_") and "__" not in name
    }
    app = create_app(load_settings(**overrides))
    client = app.test_client()
    warm = [sign() for _ in range(args.warmup)]
    failures = 0

    def drive(batch: list[Prepared]) -> None:
        nonlocal failures
        for item in batch:
            answer = client.get(item.path, headers=item.headers, base_url=env["AUTHSERVER_ISSUER"])
            failures += answer.status_code != 200 or b'"TransactionId"' not in answer.data

    drive(warm)
    rounds: list[float] = []
    for _ in range(args.rounds):
        timed = [sign() for _ in range(args.inprocess)]
        began = time.process_time()
        drive(timed)
        rounds.append((time.process_time() - began) * 1000 / len(timed))
    per_request = statistics.median(rounds)
    print(
        f"in process: {args.rounds} x {args.inprocess} requests, {failures} failed, "
        f"median {per_request:.2f} CPU ms/request (min {min(rounds):.2f}, "
        f"rounds {', '.join(f'{value:.2f}' for value in rounds)}); load {load_average()}"
    )
    # A batch under cProfile with a CPU clock: waiting for PostgreSQL or Redis is not the
    # worker's cost, so it does not show up. Python calls per request are deterministic,
    # unlike CPU time on a busy machine: a steady second measure of the same work.
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(drive, [sign() for _ in range(args.inprocess)])
    stats = pstats.Stats(profiler)
    calls = stats.total_calls / args.inprocess  # type: ignore[attr-defined]
    print(f"in process: {calls:.0f} Python function calls per request")
    if args.profile:
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if failures:
        raise SystemExit(f"{failures} in-process requests failed")
    return per_request


def wrk_run(
    env: dict[str, str], sign: Sign, args: argparse.Namespace, port: int, work: Path
) -> None:
    options = Options(
        requests=1,
        warmup=0,
        concurrency=1,
        max_seconds=args.seconds,
        workers=2,
        threads=1,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
        dpop=True,
    )
    host = f"{LOOPBACK}:{port}"
    with gunicorn(env, port, options, work / "gunicorn.log") as master:
        for label, size, seconds in (("warm-up", 400, 2.0), ("timed", args.pool, args.seconds)):
            pool = work / f"pool-{label}.bin"
            write_pool(pool, [render(sign(), host) for _ in range(size)])
            load = load_average()
            before = tree_ticks(master.pid)
            result = run_wrk(
                WrkRun(port, pool, args.connections, 2, seconds, '"TransactionId"', cycle=False)
            )
            cpu_ms = cpu_ms_between(before, tree_ticks(master.pid))
            done = max(1, result["requests"])
            print(
                f"wrk {label}: {result['requests']} requests, {result['ok']} ok, "
                f"{done / (result['duration_us'] / 1e6):.0f} req/s, "
                f"p50 {result['latency_us']['p50'] / 1000:.1f} ms, "
                f"p99 {result['latency_us']['p99'] / 1000:.1f} ms, "
                f"server {cpu_ms / done:.2f} CPU ms/request, exhausted {result['exhausted']}, "
                f"non-2xx {result['non2xx']}; load {load} -> {load_average()}"
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(1, 0, 1, 1.0, 2, 1, args.admin_database_url, args.redis_url, dpop=True)
    with (
        bench_run("authserver-bench-accounts-cpu-") as run,
        backends(options, run.run_id, run.issuer, run.workdir) as env,
    ):
        dpop_key = generate_key("ES256")
        path, token = prepare(env, run.issuer, dpop_key)
        sign = signer(dpop_key, run.issuer, path, token)
        print(f"load average before {run.load_before}")
        in_process_cpu(env, sign, args)
        if not args.no_wrk:
            wrk_run(env, sign, args, run.port, run.workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
