"""CPU per request of the token path, in process, on PostgreSQL + Redis.

The side-by-side benchmark (``side_by_side.py``) measures req/s and server CPU under wrk;
this one isolates the worker's own CPU for one scenario so that a change's effect shows
without a load driver sharing the cores, and prints where it goes:

1. throw-away backends and the side-by-side's two clients (``bench-tpp`` and the
   DPoP-bound ``bench-tpp-dpop``, ES256 ``private_key_jwt``, PS256 access tokens);
2. an app built from that environment; ``--warmup`` untimed requests, then ``--rounds``
   rounds of ``--requests`` through the Flask test client, each request signed before
   its round's clock starts; prints the median ``time.process_time()`` per request;
3. with ``--profile``, cProfile (on a CPU clock) of one more round: top functions by own
   and by cumulative time, and Python calls per request (a steadier measure than time
   on a busy machine).

Scenarios: ``token``, ``token_dpop``, ``introspection``, ``jwks``.

Run from the repository root: ``.venv/bin/python -m benchmarks.token_cpu --profile``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
import urllib.parse

from authserver import create_app
from authserver.db import db
from authserver.settings import load_settings
from benchmarks.harness import ASSERTION_LIFETIME
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import add_backend_arguments
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import load_average
from benchmarks.harness import register_client
from tppkit import ASSERTION_TYPE
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

SCENARIOS = ("token", "token_dpop", "introspection", "jwks")
SCOPE = "accounts:read"
FORM = "application/x-www-form-urlencoded"
EXPECT = {
    "token": b'"access_token"',
    "token_dpop": b'"DPoP"',
    "introspection": b'"active":true',
    "jwks": b'"keys"',
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="token")
    parser.add_argument("--requests", type=int, default=500, help="timed requests a round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--top", type=int, default=40, help="functions listed per ordering")
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--requests and --rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(1, 0, 1, 1.0, 2, 1, args.admin_database_url, args.redis_url)
    with (
        bench_run("authserver-bench-token-cpu-") as run,
        backends(options, run.run_id, run.issuer, run.workdir) as env,
    ):
        env["AUTHSERVER_TOKENS__ACCESS_TOKEN_ALG"] = "PS256"  # noqa: S105 - an algorithm name
        redirect = f"http://{LOOPBACK}/cb"
        ttl = ["--access-token-ttl", "3600"]
        key = register_client(env, run.workdir, redirect, *ttl, client_id="bench-tpp", scope=SCOPE)
        dkey = register_client(
            env,
            run.workdir,
            redirect,
            *ttl,
            "--dpop-bound-access-tokens",
            client_id="bench-tpp-dpop",
            scope=SCOPE,
        )
        tpp = Tpp("bench-tpp", key, "ES256", run.issuer, redirect, scope=SCOPE)
        dpop_tpp = Tpp("bench-tpp-dpop", dkey, "ES256", run.issuer, redirect, scope=SCOPE)
        proof_key = generate_key("ES256")
        os.environ.update(env)  # nested settings (rate-limit budgets) come from the environment
        app = create_app(load_settings())
        client = app.test_client()

        def assertion(of: Tpp) -> dict[str, str]:
            now = int(time.time())
            return {
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": of.assertion(iat=now, exp=now + ASSERTION_LIFETIME),
            }

        def token_form(of: Tpp) -> dict[str, str]:
            return {"grant_type": "client_credentials", "scope": SCOPE, **assertion(of)}

        access_token = ""

        def make() -> Prepared:
            headers = {"Content-Type": FORM}
            if args.scenario == "jwks":
                return Prepared("GET", "/jwks", None, {})
            if args.scenario == "introspection":
                form = {"token": access_token, "token_type_hint": "access_token", **assertion(tpp)}
                return Prepared(
                    "POST", "/introspect", urllib.parse.urlencode(form).encode(), headers
                )
            of = tpp
            if args.scenario == "token_dpop":
                of = dpop_tpp
                headers["DPoP"] = dpop_proof(proof_key, "POST", run.issuer + "/token")
            return Prepared(
                "POST", "/token", urllib.parse.urlencode(token_form(of)).encode(), headers
            )

        first = client.post("/token", data=token_form(tpp), base_url=run.issuer)
        access_token = first.get_json()["access_token"]
        failures = 0
        expect = EXPECT[args.scenario]

        def drive(batch: list[Prepared]) -> None:
            nonlocal failures
            for item in batch:
                answer = client.open(
                    item.path,
                    method=item.method,
                    data=item.body,
                    headers=item.headers,
                    base_url=run.issuer,
                )
                if answer.status_code != 200 or expect not in answer.data.replace(b" ", b""):
                    if not failures:
                        print("first failure:", answer.status_code, answer.data[:300])
                    failures += 1

        print(f"load average before {run.load_before}")
        drive([make() for _ in range(args.warmup)])
        rounds: list[float] = []
        threads: list[float] = []
        for _ in range(args.rounds):
            timed = [make() for _ in range(args.requests)]
            began, began_thread = time.process_time(), time.thread_time()
            drive(timed)
            rounds.append((time.process_time() - began) * 1000 / len(timed))
            threads.append((time.thread_time() - began_thread) * 1000 / len(timed))
        print(
            f"{args.scenario} in process: {args.rounds} x {args.requests}, {failures} failed, "
            f"median {statistics.median(rounds):.2f} CPU ms/request (min {min(rounds):.2f}; "
            f"{', '.join(f'{value:.2f}' for value in rounds)}); load {load_average()}"
        )
        # The rest is the process's background threads (audit chainer, store listeners),
        # which a server worker runs too: both count.
        print(f"  of which the request thread: median {statistics.median(threads):.2f} CPU ms")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(drive, [make() for _ in range(args.requests)])
            stats = pstats.Stats(profiler)
            calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
            print(f"{calls:.0f} Python function calls per request")
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(
                "authserver|joserfc|sqlalchemy.orm.session|flask/app", args.top * 2
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if failures:
            raise SystemExit(f"{failures} requests failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
