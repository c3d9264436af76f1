"""Side by side: authserver against panva's oidc-provider 9.13.3, interleaved, wrk c=16.

What it does, all on loopback and bounded in time:

1. installs oidc-provider, pinned to 9.13.3 (``benchmarks/oidc_provider/package.json``),
   from the npm registry into ``~/.cache/authserver-bench/oidc-provider-9.13.3`` (once;
   ``AUTHSERVER_BENCH_CACHE`` moves it), and copies our provider script
   (``benchmarks/oidc_provider/provider.mjs``) next to it;
2. authserver: a fresh PostgreSQL database and Redis prefix, migrated, signing keys
   created, two clients registered through the CLI (``bench-tpp``; ``bench-tpp-dpop`` with
   ``--dpop-bound-access-tokens``; ES256 ``private_key_jwt``; access tokens 3600 s), and
   ``gunicorn --workers 2`` with ``AUTHSERVER_TOKENS__ACCESS_TOKEN_ALG=PS256``;
3. oidc-provider: one Node process with the same two clients (the same public keys),
   client_credentials, PS256 JWT access tokens, DPoP and introspection;
4. per scenario and server an untimed warm-up, then ``--rounds`` rounds; in each, every
   scenario runs against one server and then the other (the order swaps every round), so
   drift on this shared machine hits both. Each run signs its own requests first (each
   assertion and DPoP proof with its own ``jti``), renders them to raw HTTP and has
   ``wrk`` replay them, each once, over 16 connections for ``--seconds``; the servers'
   CPU time (``/proc``: utime + stime of gunicorn's master and workers, of the Node
   process) is read just before and after;
5. prints a side-by-side table (req/s, p50, p99, non-2xx, CPU ms per request, ratios, the
   load average), writes the JSON to ``benchmarks/results/``, and stops both servers,
   drops the database and deletes the Redis keys whatever happened.

Scenarios: ``token`` (client_credentials + private_key_jwt), ``token_dpop`` (the same with
a DPoP proof and a DPoP-bound token), ``introspection`` (the Bearer client introspects
its own valid access token; on oidc-provider an opaque one, as it refuses to introspect
JWTs), ``jwks`` (GET of the JWKS document).

Run from the repository root: ``.venv/bin/python -m benchmarks.side_by_side``.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from benchmarks.harness import ASSERTION_LIFETIME
from benchmarks.harness import LOOPBACK
from benchmarks.harness import ROOT
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import add_backend_arguments
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import git_commit
from benchmarks.harness import gunicorn
from benchmarks.harness import load_average
from benchmarks.harness import machine
from benchmarks.harness import register_client
from benchmarks.harness import write_result
from benchmarks.harness.cpu import cpu_ms_between
from benchmarks.harness.cpu import process_ticks
from benchmarks.harness.cpu import tree_ticks
from benchmarks.harness.wrk import WrkRun
from benchmarks.harness.wrk import render
from benchmarks.harness.wrk import run_wrk
from benchmarks.harness.wrk import write_pool
from benchmarks.harness.wrk import wrk_binary
from tppkit import ASSERTION_TYPE
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit import public_jwks
from tppkit.local_server import free_port

PROVIDER_VERSION = "9.13.3"
PROVIDER_SOURCE = ROOT / "benchmarks" / "oidc_provider"
SCOPE = "accounts:read"
CLIENT_ID = "bench-tpp"
DPOP_CLIENT_ID = "bench-tpp-dpop"
ACCESS_TOKEN_TTL = 3600
OPAQUE_RESOURCE = "urn:authserver-bench:opaque"  # provider.mjs: its opaque access tokens
FORM = "application/x-www-form-urlencoded"
# A proof's iat may be 60 s old at authserver (oauth.dpop_past_window), 300 s at
# oidc-provider; signing a pool takes a few seconds, so a run stays well inside both.
MAX_SECONDS = 45.0
# The first pool of a server and scenario is sized for this rate; later ones for 2.5x
# the best rate measured so far, so that wrk seldom runs out; a run that did is measured
# again with a pool twice as large (a run cut short would understate the rate).
FIRST_GUESS_RPS = 1500.0
POOL_MARGIN = 2.5
MAX_POOL = 80_000


@dataclass
class Settings:
    rounds: int
    seconds: float
    warmup_seconds: float
    connections: int
    wrk_threads: int
    workers: int
    server: str
    scenarios: list[str]
    adapter: str
    admin_database_url: str
    redis_url: str


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per run (10)")
    parser.add_argument(
        "--warmup-seconds", type=float, default=5.0, help="untimed warm-up per run kind (5)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="authserver's WSGI server: gunicorn sync workers (default) or granian",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--adapter",
        choices=("map", "lru"),
        default="map",
        help="oidc-provider storage: map keeps every jti until it expires (default); lru "
        "is its own MemoryAdapter, which forgets all but the last 1000 entries",
    )
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    scenarios = [name for name in args.scenarios.split(",") if name]
    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown or not scenarios:
        parser.error(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    if not 1 <= args.rounds <= 20 or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"need 1..20 rounds and 1..{MAX_SECONDS:.0f} seconds per run")
    if not 1 <= args.wrk_threads <= args.connections <= 256:
        parser.error("need 1 <= --wrk-threads <= --connections <= 256")
    for name, url in (("database", args.admin_database_url), ("redis", args.redis_url)):
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"the {name} must be on loopback")
    return Settings(
        rounds=args.rounds,
        seconds=args.seconds,
        warmup_seconds=max(1.0, args.warmup_seconds),
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        workers=args.workers,
        server=args.server,
        scenarios=scenarios,
        adapter=args.adapter,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
    )


# --- the two servers ---------------------------------------------------------------------


@dataclass
class Side:
    """One server as the scenarios see it: where its endpoints are, the clients' view of
    it, and the process whose CPU time counts."""

    name: str
    port: int
    issuer: str
    token_path: str
    introspection_path: str
    jwks_path: str
    tpp: Tpp
    dpop_tpp: Tpp
    pid: int
    introspected_token_form: dict[str, str] = field(default_factory=dict)
    """Extra form fields of the token request whose token the introspection scenario uses."""
    store_pids: Callable[[], list[int]] | None = None
    """Processes of a backing store whose CPU is reported beside the server's (authserver's
    PostgreSQL backends; Redis is shared with other users of the machine, so left out)."""

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.port}"


def cache_directory() -> Path:
    base = Path(
        os.environ.get("AUTHSERVER_BENCH_CACHE", Path.home() / ".cache" / "authserver-bench")
    )
    return base / f"oidc-provider-{PROVIDER_VERSION}"


def install_provider() -> Path:
    """oidc-provider at the pinned version in the cache directory (npm install once)."""
    target = cache_directory()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROVIDER_SOURCE / "package.json", target / "package.json")
    shutil.copyfile(PROVIDER_SOURCE / "provider.mjs", target / "provider.mjs")
    installed = target / "node_modules" / "oidc-provider" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != PROVIDER_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not installed (Node.js 20 or later is needed)")
        print(f"installing oidc-provider@{PROVIDER_VERSION} into {target}")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=target, check=True, timeout=600
        )
    version = json.loads(installed.read_text())["version"]
    if version != PROVIDER_VERSION:
        raise SystemExit(f"oidc-provider {version} installed, {PROVIDER_VERSION} expected")
    return target


def postgres_backends(admin_url: str, database_url: str) -> Callable[[], list[int]]:
    """The pids of the PostgreSQL backends connected to the benchmark's database (asked
    over the admin database, so the asking connection is not one of them)."""
    database = make_url(database_url).database
    engine = sa.create_engine(admin_url, poolclass=NullPool)
    query = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name")

    def pids() -> list[int]:
        with engine.connect() as connection:
            return [int(row[0]) for row in connection.execute(query, {"name": database})]

    return pids


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Poll ``url`` until it answers 200; fail at once when the process has exited."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


@contextmanager
def oidc_provider(
    directory: Path, port: int, clients: list[dict[str, Any]], adapter: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One Node process running provider.mjs until the block ends (also on failure)."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed (Node.js 20 or later is needed)")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - fallback only
        "NODE_ENV": "production",
        "BENCH_PORT": str(port),
        "BENCH_SCOPE": SCOPE,
        "BENCH_CLIENTS": json.dumps(clients),
        "BENCH_ADAPTER": adapter,
    }
    print(f"$ node provider.mjs  (oidc-provider {PROVIDER_VERSION}, port {port})")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [node, "provider.mjs"], cwd=directory, env=env, stdout=sink, stderr=sink
        )
        try:
            wait_for(f"http://{LOOPBACK}:{port}/.well-known/openid-configuration", process, log, 60)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            print(f"oidc-provider stopped (exit {process.returncode})")


# --- the scenarios ------------------------------------------------------------------------


def _assertion_form(tpp: Tpp) -> dict[str, str]:
    now = int(time.time())
    return {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": tpp.assertion(iat=now, exp=now + ASSERTION_LIFETIME),
    }


def token_request(side: Side, _token: str | None, dpop_key: PrivateKey | None) -> Prepared:
    """client_credentials with a fresh assertion and, for the DPoP client, a fresh proof."""
    tpp = side.dpop_tpp if dpop_key is not None else side.tpp
    form = {"grant_type": "client_credentials", "scope": SCOPE, **_assertion_form(tpp)}
    headers = {"Content-Type": FORM}
    if dpop_key is not None:
        headers["DPoP"] = dpop_proof(dpop_key, "POST", side.issuer + side.token_path)
    body = urllib.parse.urlencode(form).encode()
    return Prepared("POST", side.token_path, body, headers)


def introspection_request(side: Side, token: str | None, _dpop_key: PrivateKey | None) -> Prepared:
    """The Bearer client introspects its own access token, with a fresh assertion."""
    assert token is not None  # noqa: S101 - the scenario asks for one
    form = {"token": token, "token_type_hint": "access_token", **_assertion_form(side.tpp)}
    headers = {"Content-Type": FORM, "Accept": "application/json"}
    body = urllib.parse.urlencode(form).encode()
    return Prepared("POST", side.introspection_path, body, headers)


def jwks_request(side: Side, _token: str | None, _dpop_key: PrivateKey | None) -> Prepared:
    return Prepared("GET", side.jwks_path, None, {"Accept": "application/json"})


@dataclass(frozen=True)
class Scenario:
    title: str
    make: Callable[[Side, str | None, PrivateKey | None], Prepared]
    ok_pattern: str
    """Lua pattern a 2xx body must match (replay.lua)."""
    dpop: bool = False
    needs_token: bool = False
    reusable: bool = False
    """The request has no single-use part, so one request is replayed over and over."""


SCENARIOS: dict[str, Scenario] = {
    "token": Scenario("client_credentials + private_key_jwt", token_request, '"access_token"%s*:'),
    "token_dpop": Scenario(
        "the same + DPoP", token_request, '"token_type"%s*:%s*"DPoP"', dpop=True
    ),
    "introspection": Scenario(
        "introspection", introspection_request, '"active"%s*:%s*true', needs_token=True
    ),
    "jwks": Scenario("JWKS", jwks_request, '"keys"%s*:', reusable=True),
}


def check_once(side: Side, name: str, prepared: Prepared) -> None:
    """One untimed request checked in full before a server's first run of a scenario, so a
    misconfiguration stops the benchmark instead of filling a table with errors."""
    connection = http.client.HTTPConnection(LOOPBACK, side.port, timeout=30)
    try:
        connection.request(prepared.method, prepared.path, prepared.body, prepared.headers)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    # The scenarios' Lua patterns use only %s (whitespace) besides literal characters.
    expected = SCENARIOS[name].ok_pattern.replace("%s", r"\s")
    if not 200 <= response.status < 300 or re.search(expected, body) is None:
        raise SystemExit(f"{side.name} {name}: {response.status} {body[:500]}")


def fresh_access_token(side: Side) -> str:
    """One valid access token of the Bearer client, untimed, for the introspection runs."""
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        **side.introspected_token_form,
        **_assertion_form(side.tpp),
    }
    response = UrllibTransport().request("POST", side.issuer + side.token_path, form=form)
    if response.status != 200:
        raise SystemExit(f"{side.name}: no access token: {response.status} {response.text[:300]}")
    return str(response.json()["access_token"])


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Measurement:
    side: str
    scenario: str
    round: int
    pool: int
    signing_seconds: float
    wrk: dict[str, Any]
    cpu_ms: float
    load_after: list[float]
    store_cpu_ms: float | None = None

    @property
    def requests(self) -> int:
        return int(self.wrk["requests"])

    @property
    def seconds(self) -> float:
        return float(self.wrk["duration_us"]) / 1e6

    @property
    def rate(self) -> float:
        return self.wrk["ok"] / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "scenario": self.scenario,
            "round": self.round,
            "pool": self.pool,
            "signing_seconds": round(self.signing_seconds, 2),
            "ok_per_second": round(self.rate, 1),
            "cpu_ms": round(self.cpu_ms, 1),
            "cpu_ms_per_request": round(self.cpu_ms / self.requests, 3) if self.requests else None,
            "postgres_cpu_ms": round(self.store_cpu_ms, 1)
            if self.store_cpu_ms is not None
            else None,
            "load_average_after": self.load_after,
            "wrk": self.wrk,
        }


@dataclass
class Bench:
    settings: Settings
    workdir: Path
    dpop_key: PrivateKey
    estimates: dict[tuple[str, str], float] = field(default_factory=dict)
    boost: dict[tuple[str, str], float] = field(default_factory=dict)
    timed: set[tuple[str, str]] = field(default_factory=set)
    """Server and scenario pairs with a timed run: until then the only estimate is the
    short warm-up's, which understates a server still warming up (Node's JIT)."""

    def pool_size(self, side: Side, name: str, round_number: int, seconds: float) -> int:
        if SCENARIOS[name].reusable:
            return 1
        rate = self.estimates.get((side.name, name), FIRST_GUESS_RPS)
        rate *= self.boost.get((side.name, name), 1.0)
        if round_number > 0 and (side.name, name) not in self.timed:
            rate *= 2
        size = math.ceil(rate * POOL_MARGIN * seconds) + 2 * self.settings.connections
        return min(size, MAX_POOL)

    def measure(self, side: Side, name: str, round_number: int, seconds: float) -> Measurement:
        """One complete run; again (twice at most) with a larger pool when wrk ran out."""
        for _ in range(2):
            measured = self.measure_once(side, name, round_number, seconds)
            if not measured.wrk["exhausted"] or round_number == 0:
                return measured
            print(describe(measured) + "\n  (the pool ran out: again with twice as many)")
            key = (side.name, name)
            self.boost[key] = self.boost.get(key, 1.0) * 2
        return self.measure_once(side, name, round_number, seconds)

    @staticmethod
    def store_ticks(side: Side) -> dict[int, int]:
        if side.store_pids is None:
            return {}
        return {pid: process_ticks(pid) for pid in side.store_pids()}

    def measure_once(self, side: Side, name: str, round_number: int, seconds: float) -> Measurement:
        """Sign and render a pool (untimed), then one wrk run with the CPU read around it."""
        scenario = SCENARIOS[name]
        token = fresh_access_token(side) if scenario.needs_token else None
        dpop_key = self.dpop_key if scenario.dpop else None
        if round_number == 0:
            check_once(side, name, scenario.make(side, token, dpop_key))
        size = self.pool_size(side, name, round_number, seconds)
        began = time.perf_counter()
        pool = [render(scenario.make(side, token, dpop_key), side.host) for _ in range(size)]
        signing = time.perf_counter() - began
        path = self.workdir / f"pool-{side.name}-{name}.bin"
        write_pool(path, pool)
        run = WrkRun(
            port=side.port,
            pool=path,
            connections=self.settings.connections,
            threads=self.settings.wrk_threads,
            seconds=seconds,
            ok_pattern=scenario.ok_pattern,
            cycle=scenario.reusable,
        )
        store_before = self.store_ticks(side)
        before = tree_ticks(side.pid)
        result = run_wrk(run)
        after = tree_ticks(side.pid)
        store_after = self.store_ticks(side)
        measured = Measurement(
            side.name,
            name,
            round_number,
            size,
            signing,
            result,
            cpu_ms_between(before, after),
            load_average(),
            cpu_ms_between(store_before, store_after) if side.store_pids is not None else None,
        )
        key = (side.name, name)
        self.estimates[key] = max(self.estimates.get(key, 0.0), measured.rate)
        if round_number > 0:
            self.timed.add(key)
        path.unlink()
        return measured


def describe(measured: Measurement) -> str:
    wrk = measured.wrk
    flags = ""
    if wrk["non2xx"] or wrk["bad_body"] or wrk["exhausted"] or any(wrk["socket_errors"].values()):
        flags = (
            f"  non-2xx {wrk['non2xx']} bad-body {wrk['bad_body']} exhausted "
            f"{wrk['exhausted']} socket {wrk['socket_errors']} statuses {wrk['statuses']}"
        )
    requests = measured.requests or float("nan")
    per_request = measured.cpu_ms / requests
    store = (
        f" + PostgreSQL {measured.store_cpu_ms / requests:.2f}"
        if measured.store_cpu_ms is not None
        else ""
    )
    p50, p99 = (wrk["latency_us"][name] / 1000 for name in ("p50", "p99"))
    return (
        f"  {measured.side:<14} {measured.scenario:<14} {measured.rate:8.1f} req/s  "
        f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
        f"  cpu {per_request:6.2f}{store} ms/req  load {measured.load_after[0]}{flags}"
    )


# --- the summary --------------------------------------------------------------------------


def aggregate(measurements: list[Measurement]) -> dict[str, Any]:
    """Totals over rounds: ok/s over the summed time, CPU over the summed requests,
    latency percentiles as the median of the rounds' (wrk's are per run)."""
    requests = sum(m.requests for m in measurements)
    seconds = sum(m.seconds for m in measurements)
    ok = sum(int(m.wrk["ok"]) for m in measurements)
    stores = [m.store_cpu_ms for m in measurements if m.store_cpu_ms is not None]

    def total(name: str) -> int:
        return sum(int(m.wrk[name]) for m in measurements)

    return {
        "rounds": len(measurements),
        "requests": requests,
        "ok": ok,
        "ok_per_second": round(ok / seconds, 1) if seconds else 0.0,
        "p50_ms": round(
            statistics.median(m.wrk["latency_us"]["p50"] for m in measurements) / 1000, 2
        ),
        "p99_ms": round(
            statistics.median(m.wrk["latency_us"]["p99"] for m in measurements) / 1000, 2
        ),
        "p99_ms_worst": round(max(m.wrk["latency_us"]["p99"] for m in measurements) / 1000, 2),
        "non2xx": total("non2xx"),
        "bad_body": total("bad_body"),
        "exhausted": total("exhausted"),
        "socket_errors": sum(sum(m.wrk["socket_errors"].values()) for m in measurements),
        "cpu_ms_per_request": round(sum(m.cpu_ms for m in measurements) / requests, 3)
        if requests
        else None,
        "postgres_cpu_ms_per_request": round(sum(stores) / requests, 3)
        if requests and stores
        else None,
        "load_average_1m": round(statistics.mean(m.load_after[0] for m in measurements), 2),
    }


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if not ours or not theirs:
        return None
    return round(ours / theirs, 2)


def table(summary: dict[str, dict[str, dict[str, Any]]], titles: dict[str, str]) -> str:
    """Markdown: per scenario both servers' numbers and authserver / oidc-provider ratios."""
    lines = [
        "| scenario | oidc-provider req/s | p50 / p99 ms | CPU ms/req | non-2xx "
        "| authserver req/s | p50 / p99 ms | CPU ms/req | non-2xx | ratio req/s | ratio CPU/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sides in summary.items():
        cells = [titles[name]]
        for side in ("oidc-provider", "authserver"):
            s = sides[side]
            bad = s["non2xx"] + s["bad_body"] + s["exhausted"] + s["socket_errors"]
            cpu = f"{s['cpu_ms_per_request']:.2f}" if s["cpu_ms_per_request"] is not None else "-"
            if s["postgres_cpu_ms_per_request"] is not None:
                cpu += f" (+{s['postgres_cpu_ms_per_request']:.2f} PG)"
            cells += [f"{s['ok_per_second']:,.0f}", f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f}", cpu]
            cells.append(str(bad))
        rate = ratio(sides["authserver"]["ok_per_second"], sides["oidc-provider"]["ok_per_second"])
        cpu_ratio = ratio(
            sides["authserver"]["cpu_ms_per_request"], sides["oidc-provider"]["cpu_ms_per_request"]
        )
        cells += [f"{rate:.2f}" if rate else "-", f"{cpu_ratio:.2f}" if cpu_ratio else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    loads = {
        side: statistics.mean(sides[side]["load_average_1m"] for sides in summary.values())
        for side in ("oidc-provider", "authserver")
    }
    lines.append(
        f"\nmean 1-min load average after the runs: oidc-provider {loads['oidc-provider']:.2f}, "
        f"authserver {loads['authserver']:.2f} (on {os.cpu_count()} cpus)"
    )
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    wrk_binary()  # fail before anything starts when wrk is missing
    provider_directory = install_provider()
    options = Options(
        requests=0,
        warmup=0,
        concurrency=settings.connections,
        max_seconds=settings.seconds,
        workers=settings.workers,
        threads=1,
        server=settings.server,
        admin_database_url=settings.admin_database_url,
        redis_url=settings.redis_url,
    )
    measurements: list[Measurement] = []
    with bench_run("authserver-bench-side-by-side-") as run:
        workdir = run.workdir
        with backends(options, run.run_id, run.issuer, workdir) as env:
            env["AUTHSERVER_TOKENS__ACCESS_TOKEN_ALG"] = "PS256"  # noqa: S105 - an algorithm name
            redirect_uri = f"http://{LOOPBACK}/cb"  # never used: client_credentials only
            ttl = ["--access-token-ttl", str(ACCESS_TOKEN_TTL)]
            key = register_client(
                env, workdir, redirect_uri, *ttl, client_id=CLIENT_ID, scope=SCOPE
            )
            dpop_client_key = register_client(
                env,
                workdir,
                redirect_uri,
                *ttl,
                "--dpop-bound-access-tokens",
                client_id=DPOP_CLIENT_ID,
                scope=SCOPE,
            )
            node_port = free_port()
            node_issuer = f"http://{LOOPBACK}:{node_port}"
            clients = [
                {"client_id": CLIENT_ID, "jwks": public_jwks(key), "dpop": False},
                {"client_id": DPOP_CLIENT_ID, "jwks": public_jwks(dpop_client_key), "dpop": True},
            ]
            with (
                gunicorn(env, run.port, options, workdir / "gunicorn.log") as master,
                oidc_provider(
                    provider_directory,
                    node_port,
                    clients,
                    settings.adapter,
                    workdir / "oidc-provider.log",
                ) as node,
            ):
                sides = [
                    Side(
                        "oidc-provider",
                        node_port,
                        node_issuer,
                        "/token",
                        "/token/introspection",
                        "/jwks",
                        Tpp(CLIENT_ID, key, "ES256", node_issuer, redirect_uri, scope=SCOPE),
                        Tpp(DPOP_CLIENT_ID, dpop_client_key, "ES256", node_issuer, redirect_uri),
                        node.pid,
                        {"resource": OPAQUE_RESOURCE},
                    ),
                    Side(
                        "authserver",
                        run.port,
                        run.issuer,
                        "/token",
                        "/introspect",
                        "/jwks",
                        Tpp(CLIENT_ID, key, "ES256", run.issuer, redirect_uri, scope=SCOPE),
                        Tpp(DPOP_CLIENT_ID, dpop_client_key, "ES256", run.issuer, redirect_uri),
                        master.pid,
                        store_pids=postgres_backends(
                            settings.admin_database_url, env["AUTHSERVER_DATABASE_URL"]
                        ),
                    ),
                ]
                bench = Bench(settings, workdir, generate_key("ES256"))
                print(f"warm-up, {settings.warmup_seconds:.0f} s per server and scenario")
                for name in settings.scenarios:
                    for side in sides:
                        print(describe(bench.measure(side, name, 0, settings.warmup_seconds)))
                for round_number in range(1, settings.rounds + 1):
                    print(f"round {round_number} of {settings.rounds}")
                    order = sides if round_number % 2 else sides[::-1]
                    for name in settings.scenarios:
                        for side in order:
                            measured = bench.measure(side, name, round_number, settings.seconds)
                            measurements.append(measured)
                            print(describe(measured))
    return report(settings, run.run_id, run.load_before, measurements)


def report(
    settings: Settings, run_id: str, load_before: list[float], measurements: list[Measurement]
) -> int:
    """Print the table, write the JSON; exit 1 when any response was not a success."""
    summary = {
        name: {
            side: aggregate([m for m in measurements if m.scenario == name and m.side == side])
            for side in ("oidc-provider", "authserver")
        }
        for name in settings.scenarios
    }
    titles = {name: SCENARIOS[name].title for name in settings.scenarios}
    printed = table(summary, titles)
    print(printed)
    result = {
        "benchmark": "side_by_side.authserver.oidc-provider",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(load_before),
        "config": {
            "oidc_provider": PROVIDER_VERSION,
            "oidc_provider_adapter": settings.adapter,
            "authserver": f"gunicorn sync --workers {settings.workers}, PostgreSQL + Redis",
            "access_token_alg": "PS256",
            "client_key": "ES256 private_key_jwt",
            "dpop_proof_alg": "ES256",
            "load": f"wrk -t{settings.wrk_threads} -c{settings.connections} "
            f"-d{settings.seconds:.0f}s, pre-signed single-use requests",
            "rounds": settings.rounds,
            "warmup_seconds": settings.warmup_seconds,
            "scenarios": settings.scenarios,
        },
        "summary": summary,
        "table": printed,
        "runs": [m.as_json() for m in measurements],
    }
    write_result("side_by_side", run_id, result)
    clean = all(
        s["non2xx"] + s["bad_body"] + s["exhausted"] + s["socket_errors"] == 0
        for sides in summary.values()
        for s in sides.values()
    )
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
