"""Revocation-propagation benchmark: time until every resource server refuses a revoked token.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database and Redis prefix, migrates it and creates the
   signing keys, exactly like ``benchmarks.token_endpoint`` (whose helpers it imports);
2. starts the authorization server (``gunicorn --workers 2``) and 4 resource servers:
   separate ``gunicorn --workers 1`` processes serving the same app on their own ports,
   all on the same database and Redis prefix, so each keeps its own revocation view
   (a listener thread fed by the Redis channel, started by its first token check);
3. registers one TPP (ES256 key, ``--access-token-ttl 3600``), one user and, for the
   bulk phase, one more TPP per bulk revocation (in-process, through the services, the
   same ones the CLI calls, because 20 CLI runs would take a minute);
4. gets access tokens that ``GET /userinfo`` accepts: that endpoint needs the ``openid``
   scope, which ``client_credentials`` never grants (``tokens/grants.py``), so each TPP
   logs in once by a scripted browser (``conformance.tpp``: PAR, login, consent, code
   for tokens) and the main TPP then mints the rest with ``refresh_token`` grants; every
   call authenticates with ``private_key_jwt``; the tokens are unbound (Bearer);
5. keeps background load on the resource servers (a few threads, ``GET /userinfo``
   round-robin with tokens that are never revoked) for the whole measurement;
6. single tokens: for each token, checks that all resource servers answer 200, sends
   ``POST /revoke``, takes t0 when its response arrives, then polls every resource
   server from its own thread (a tight loop of ``GET /userinfo``) until it answers 401;
   the token's propagation delay is the latest of the first-401 arrival times minus t0
   (an upper bound: it includes one request's latency; a 401 on the first poll counts
   as that latency, i.e. about 0);
7. bulk: for each bulk TPP the same, with ``revoke_client`` called in-process (or with
   ``--bulk-cli`` the ``authserver revoke --client`` command) instead of ``/revoke``, t0
   when the call returns;
8. prints p50/p99/max/mean of the delays, the revocation call's own latency, errors (any
   answer but 200 and 401, a 200 after t0 that never turned into a 401 within
   ``--poll-timeout``) and the background load, writes JSON to ``benchmarks/results/``
   and stops every server, drops the database and deletes the Redis keys whatever
   happened.

Run from the repository root: ``.venv/bin/python -m benchmarks.revocation_propagation``.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import secrets
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from authserver import create_app
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.settings import load_settings
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import add_backend_arguments
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import checked_options
from benchmarks.harness import git_commit
from benchmarks.harness import gunicorn
from benchmarks.harness import machine
from benchmarks.harness import percentile
from benchmarks.harness import run_cli
from benchmarks.harness import write_result
from tppkit import Browser
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import generate_key
from tppkit import read_callback
from tppkit import server_keys
from tppkit.local_server import free_port
from tppkit.registration import create_client

MAIN_CLIENT_ID = "bench-revoke-tpp"
BULK_CLIENT_PREFIX = "bench-revoke-bulk-"
SCOPE = "openid accounts:read"
USERNAME = "bench-user"
ACCESS_TOKEN_TTL = 3600  # the longest a client may ask for; the run is far shorter
RESOURCE = "/userinfo"
ACTOR = "operator:benchmark"
TARGET_P99_SECONDS = 1.0
LOAD_TOKENS = 8
OK = ("200", "401")


@dataclass
class Settings:
    revocations: int
    bulk: int
    warmup: int
    resource_servers: int
    rs_threads: int
    load_threads: int
    poll_timeout: float
    max_seconds: float
    bulk_cli: bool
    server: Options
    """The authorization server's options (workers, threads, database, Redis)."""


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--revocations", type=int, default=200, help="timed /revoke calls (200)")
    parser.add_argument("--bulk", type=int, default=20, help="timed bulk revocations (20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed /revoke calls first (5)")
    parser.add_argument("--resource-servers", type=int, default=4, help="RS processes (4)")
    parser.add_argument(
        "--rs-threads",
        type=int,
        default=1,
        help="gunicorn threads of each resource server's one worker (1: the sync worker)",
    )
    parser.add_argument(
        "--load-threads", type=int, default=3, help="background GET /userinfo threads (3)"
    )
    parser.add_argument(
        "--poll-timeout",
        type=float,
        default=5.0,
        help="seconds a resource server may keep accepting a revoked token (5)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=150.0,
        help="stop each timed phase after this (150)",
    )
    parser.add_argument(
        "--bulk-cli",
        action="store_true",
        help="bulk revocations through `authserver revoke --client` (a process each, "
        "~2-4 s) instead of the revocation service in this process",
    )
    parser.add_argument("--workers", type=int, default=2, help="authorization-server workers (2)")
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    if args.revocations < 1 or args.bulk < 0 or args.warmup < 0:
        parser.error("need at least one revocation, and non-negative --bulk and --warmup")
    if not 1 <= args.resource_servers <= 8 or not 1 <= args.rs_threads <= 16:
        parser.error("need 1..8 resource servers with 1..16 threads each")
    if not 0 <= args.load_threads <= 16 or not 0 < args.poll_timeout <= 30:
        parser.error("need 0..16 load threads and a --poll-timeout in (0, 30]")
    if not 0 < args.max_seconds <= 600:
        parser.error("--max-seconds must be in (0, 600]")
    # The token benchmark's checks (loopback only, sane counts) for the server options.
    server = checked_options(
        parser,
        argparse.Namespace(
            requests=args.revocations,
            warmup=args.warmup,
            concurrency=max(args.load_threads, 1),
            max_seconds=min(args.max_seconds, 120.0),
            workers=args.workers,
            threads=1,
            admin_database_url=args.admin_database_url,
            redis_url=args.redis_url,
            nonce=False,
        ),
        dpop=False,
    )
    return Settings(
        revocations=args.revocations,
        bulk=args.bulk,
        warmup=args.warmup,
        resource_servers=args.resource_servers,
        rs_threads=args.rs_threads,
        load_threads=args.load_threads,
        poll_timeout=args.poll_timeout,
        max_seconds=args.max_seconds,
        bulk_cli=args.bulk_cli,
        server=server,
    )


# --- set-up: clients, user and tokens -------------------------------------------------------


@contextmanager
def in_process(env: dict[str, str]) -> Iterator[Services]:
    """The app's services in this process, on the servers' database and Redis prefix."""
    overrides = {
        name.removeprefix("AUTHSERVER_").lower(): value
        for name, value in env.items()
        if name.startswith("AUTHSERVER_") and "__" not in name
    }
    app = create_app(load_settings(**overrides))
    with app.app_context():
        try:
            yield services(app)
        finally:
            db.session.remove()
            db.engine.dispose()


def register(svc: Services, client_id: str, redirect_uri: str, issuer: str) -> Tpp:
    """A BENCH-ONLY TPP (ES256 key, tokens for an hour), registered through the service."""
    key = generate_key("ES256")
    create_client(
        svc,
        client_id,
        key,
        label="benchmark",
        actor=ACTOR,
        redirect_uris=[redirect_uri],
        scopes=SCOPE.split(),
        access_token_ttl=ACCESS_TOKEN_TTL,
    )
    return Tpp(client_id, key, "ES256", issuer, redirect_uri, scope=SCOPE)


def post_token(http: UrllibTransport, tpp: Tpp, form: dict[str, str]) -> dict[str, Any]:
    response = http.request("POST", tpp.url("/token"), form={**form, **tpp.auth_form()})
    body = response.json() if response.status == 200 else {}
    if "access_token" not in body or "openid" not in str(body.get("scope", "")).split():
        raise SystemExit(f"no openid access token: {response.status} {response.text[:300]}")
    return dict(body)


def login(http: UrllibTransport, tpp: Tpp, password: str) -> dict[str, Any]:
    """Tokens (access + refresh) through PAR, login and consent, and the code exchange."""
    params, verifier = tpp.authorization_params()
    pushed = http.request("POST", tpp.url("/par"), form={**params, **tpp.auth_form()})
    if pushed.status != 201:
        raise SystemExit(f"PAR failed: {pushed.status} {pushed.text[:300]}")
    leaving = Browser(http, tpp.issuer).authorize(
        tpp, pushed.json()["request_uri"], username=USERNAME, password=password
    )
    callback = read_callback(leaving, server_keys(http, tpp.issuer), tpp)
    if "code" not in callback.params:
        raise SystemExit(f"no code at the redirect_uri: {callback.params}")
    form = {
        "grant_type": "authorization_code",
        "code": callback.params["code"],
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": verifier,
    }
    return post_token(http, tpp, form)


def mint(http: UrllibTransport, tpp: Tpp, password: str, count: int) -> list[str]:
    """``count`` access tokens of one login: the code's, then one per refresh_token grant."""
    issued = login(http, tpp, password)
    tokens = [str(issued["access_token"])]
    refresh = str(issued["refresh_token"])
    while len(tokens) < count:
        issued = post_token(http, tpp, {"grant_type": "refresh_token", "refresh_token": refresh})
        tokens.append(str(issued["access_token"]))
        refresh = str(issued["refresh_token"])
    return tokens


# --- HTTP to the resource servers -----------------------------------------------------------


class Connection:
    """One keep-alive ``http.client`` connection (reopened when the server closed it)."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        try:
            self._connection.request(method, path, body=body, headers=headers)
            response = self._connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            raise
        if response.will_close:
            self._connection.close()
        return response.status, payload

    def userinfo(self, token: str) -> str:
        """``GET /userinfo``: "200" (naming a subject), "401", or another status/exception."""
        try:
            status, payload = self.request("GET", RESOURCE, {"Authorization": f"Bearer {token}"})
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        if status == 200:
            return "200" if b'"sub"' in payload else "200-unexpected-body"
        return str(status)

    def close(self) -> None:
        self._connection.close()


class BackgroundLoad:
    """Threads calling ``GET /userinfo`` round-robin over the resource servers, until stopped."""

    def __init__(self, ports: list[int], tokens: list[str], threads: int) -> None:
        self._ports = ports
        self._tokens = tokens
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._threads = [
            threading.Thread(target=self._run, args=(offset,), daemon=True)
            for offset in range(threads)
        ]
        self._began = self._ended = 0.0

    def __enter__(self) -> BackgroundLoad:
        self._began = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._ended = time.perf_counter()

    def _run(self, offset: int) -> None:
        connections = {port: Connection(port) for port in self._ports}
        seen: Counter[str] = Counter()
        mine: list[float] = []
        turn = offset
        while not self._stop.is_set():
            port = self._ports[turn % len(self._ports)]
            token = self._tokens[turn % len(self._tokens)]
            began = time.perf_counter()
            seen[connections[port].userinfo(token)] += 1
            mine.append(time.perf_counter() - began)
            turn += 1
        for connection in connections.values():
            connection.close()
        with self._lock:
            self.statuses.update(seen)
            self.latencies.extend(mine)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        sent = sum(self.statuses.values())
        wall = self._ended - self._began
        return {
            "threads": len(self._threads),
            "requests": sent,
            "errors": sent - self.statuses.get("200", 0),
            "statuses": dict(self.statuses),
            "wall_seconds": round(wall, 3),
            "throughput_rps": round(sent / wall, 1) if wall > 0 else 0.0,
            "latency_ms": milliseconds(ordered, ("p50", "p99", "max")),
        }


# --- one revocation, watched at every resource server ---------------------------------------


@dataclass
class Watch:
    """What one resource server answered from t0 until it refused the token."""

    delay: float | None
    """Seconds from t0 until the first 401 arrived; None when it never came."""
    accepted_until: float
    """Seconds from t0 until the last poll answered 200 was sent (0 when there was none)."""
    polls: int
    statuses: Counter[str]


@dataclass(frozen=True)
class Revoked:
    call_seconds: float
    """The revocation call's own latency (request sent to answer read, or call returned)."""
    t0: float
    """perf_counter() when the answer arrived: the propagation delays count from here."""
    outcome: str
    """"ok", or what went wrong."""


@dataclass
class Measured:
    delays: list[float] = field(default_factory=list)
    """Per revocation: the slowest resource server's delay (seconds, an upper bound)."""
    lower_bounds: list[float] = field(default_factory=list)
    """Per revocation: the latest send time of a poll still answered 200 (seconds): the
    slowest resource server took longer than this and at most ``delays``."""
    call_latencies: list[float] = field(default_factory=list)
    first_poll_refusals: int = 0
    watches: int = 0
    polls: int = 0
    timeouts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    attempted: int = 0
    cut_short: bool = False


def watch(port: int, token: str, t0: float, timeout: float) -> Watch:
    """Poll ``GET /userinfo`` in a tight loop until it answers 401 (or ``timeout`` passes)."""
    connection = Connection(port)
    statuses: Counter[str] = Counter()
    polls = 0
    accepted_until = 0.0
    try:
        while (sent := time.perf_counter()) - t0 < timeout:
            label = connection.userinfo(token)
            arrived = time.perf_counter()
            polls += 1
            statuses[label] += 1
            if label == "401":
                return Watch(arrived - t0, accepted_until, polls, statuses)
            if label == "200":
                accepted_until = sent - t0
    finally:
        connection.close()
    return Watch(None, accepted_until, polls, statuses)


class Propagation:
    """Checks a token at every resource server, revokes it, and times its refusal everywhere."""

    def __init__(self, ports: list[int], poll_timeout: float) -> None:
        self._ports = ports
        self._timeout = poll_timeout
        self._pool = ThreadPoolExecutor(max_workers=len(ports), thread_name_prefix="watch")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def accepted_everywhere(self, token: str) -> Counter[str]:
        """What each resource server answers now; all "200" when the token is live."""

        def once(port: int) -> str:
            connection = Connection(port)
            try:
                return connection.userinfo(token)
            finally:
                connection.close()

        return Counter(self._pool.map(once, self._ports))

    def measure(self, token: str, revoke: Callable[[], Revoked], into: Measured) -> None:
        """Check ``token`` everywhere, ``revoke`` it, then watch every resource server refuse it."""
        into.attempted += 1
        before = self.accepted_everywhere(token)
        if before != Counter({"200": len(self._ports)}):
            into.errors.update(
                f"before revocation: {label}" for label in before.elements() if label != "200"
            )
            return
        revoked = revoke()
        if revoked.outcome != "ok":
            into.errors[f"revocation: {revoked.outcome}"] += 1
            return
        into.call_latencies.append(revoked.call_seconds)
        t0 = revoked.t0
        watches = list(
            self._pool.map(lambda port: watch(port, token, t0, self._timeout), self._ports)
        )
        into.watches += len(watches)
        into.polls += sum(w.polls for w in watches)
        into.first_poll_refusals += sum(w.polls == 1 and w.delay is not None for w in watches)
        for seen in watches:
            # 200s until the 401 are the measurement; a watch that timed out is counted below.
            into.errors.update(
                {f"polling: {label}": n for label, n in seen.statuses.items() if label not in OK}
            )
        if any(w.delay is None for w in watches):
            into.timeouts += 1
            return
        into.delays.append(max(w.delay for w in watches if w.delay is not None))
        into.lower_bounds.append(max(w.accepted_until for w in watches))


def revoke_over_http(as_port: int, tpp: Tpp, token: str) -> Revoked:
    """``POST /revoke`` (RFC 7009) by the token's client; t0 when the response has arrived."""
    form = {"token": token, "token_type_hint": "access_token", **tpp.auth_form()}
    body = urllib.parse.urlencode(form).encode()  # signed before the clock starts
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection = Connection(as_port)
    began = time.perf_counter()
    try:
        status, payload = connection.request("POST", "/revoke", headers, body)
        outcome = "ok" if status == 200 else f"{status} {payload[:80]!r}"
    except (OSError, http.client.HTTPException) as exc:
        outcome = type(exc).__name__
    finally:
        connection.close()
    t0 = time.perf_counter()
    return Revoked(t0 - began, t0, outcome)


def milliseconds(ordered: list[float], names: tuple[str, ...]) -> dict[str, float]:
    if not ordered:
        return {}
    fractions = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "max": 1.0}
    summary = {name: round(percentile(ordered, fractions[name]) * 1000, 2) for name in names}
    if "mean" not in names:
        summary["mean"] = round(statistics.fmean(ordered) * 1000, 2)
    return summary


def summarise(measured: Measured, planned: int) -> dict[str, Any]:
    delays = sorted(measured.delays)
    errors = sum(measured.errors.values())
    return {
        "planned": planned,
        "attempted": measured.attempted,
        "count": len(delays),
        "timeouts": measured.timeouts,
        "errors": errors,
        "error_statuses": dict(measured.errors),
        "cut_short": measured.cut_short,
        "propagation_ms": milliseconds(delays, ("p50", "p99", "max")),
        "propagation_lower_bound_ms": milliseconds(
            sorted(measured.lower_bounds), ("p50", "p99", "max")
        ),
        "revocation_call_ms": milliseconds(sorted(measured.call_latencies), ("p50", "p99", "max")),
        "first_poll_refusals": measured.first_poll_refusals,
        "resource_server_watches": measured.watches,
        "polls_per_watch": round(measured.polls / measured.watches, 2) if measured.watches else 0,
        "target_p99_met": bool(delays) and percentile(delays, 0.99) < TARGET_P99_SECONDS,
    }


def run_phase(
    name: str,
    items: list[tuple[str, Callable[[], Revoked]]],
    propagation: Propagation,
    max_seconds: float,
) -> Measured:
    measured = Measured()
    deadline = time.perf_counter() + max_seconds
    for index, (token, revoke) in enumerate(items):
        if time.perf_counter() > deadline:
            measured.cut_short = True
            print(f"{name}: stopped after {index} of {len(items)} (--max-seconds)")
            break
        propagation.measure(token, revoke, measured)
        if (index + 1) % 50 == 0:
            print(f"{name}: {index + 1} of {len(items)}")
    return measured


# --- main -----------------------------------------------------------------------------------


def print_table(phases: dict[str, dict[str, Any]], background: dict[str, Any]) -> None:
    head = (
        *("count", "errors", "timeouts", "p50", "p99", "max", "mean"),
        *(">p99", "call p50", "call p99"),
    )
    print(f"{'propagation (ms)':<18}" + "".join(f"{h:>10}" for h in head))
    for name, phase in phases.items():
        delay, call = phase["propagation_ms"], phase["revocation_call_ms"]
        cells = (
            phase["count"],
            phase["errors"],
            phase["timeouts"],
            delay.get("p50"),
            delay.get("p99"),
            delay.get("max"),
            delay.get("mean"),
            phase["propagation_lower_bound_ms"].get("p99"),
            call.get("p50"),
            call.get("p99"),
        )
        print(f"{name:<18}" + "".join(f"{cell!s:>10}" for cell in cells))
    print(
        "delays are upper bounds (first 401 arrived); >p99 is the p99 of the lower bounds "
        "(last poll answered 200 was sent); call: the revocation's own latency"
    )
    for name, phase in phases.items():
        print(
            f"{name}: {phase['first_poll_refusals']} of {phase['resource_server_watches']} "
            f"resource-server watches refused on the first poll, "
            f"{phase['polls_per_watch']} polls per watch; target p99 < "
            f"{TARGET_P99_SECONDS * 1000:.0f} ms {'met' if phase['target_p99_met'] else 'MISSED'}"
        )
    latency = background["latency_ms"]
    print(
        f"background load: {background['requests']} GET {RESOURCE} from "
        f"{background['threads']} threads, {background['throughput_rps']} req/s, "
        f"errors {background['errors']}, p50 {latency['p50']} ms, p99 {latency['p99']} ms"
    )


def bulk_revoker(
    settings: Settings, env: dict[str, str], svc: Services, client_id: str
) -> Callable[[], Revoked]:
    """Revoke every token of ``client_id`` (a watermark), in this process or by the CLI."""

    def through_service() -> Revoked:
        began = time.perf_counter()
        svc.revocations.revoke_client(client_id, actor=ACTOR, reason="benchmark")
        t0 = time.perf_counter()
        return Revoked(t0 - began, t0, "ok")

    def through_cli() -> Revoked:
        began = time.perf_counter()
        run_cli(env, "revoke", "--client", client_id, "--reason", "benchmark")
        t0 = time.perf_counter()
        return Revoked(t0 - began, t0, "ok")

    return through_cli if settings.bulk_cli else through_service


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    phases: dict[str, dict[str, Any]] = {}
    redirect_uri = f"http://{LOOPBACK}/cb"  # never contacted: the scripted browser stops there
    with bench_run("authserver-bench-revoke-") as run:
        as_port, issuer, workdir = run.port, run.issuer, run.workdir
        rs_ports = [free_port() for _ in range(settings.resource_servers)]
        with (
            backends(settings.server, run.run_id, issuer, workdir) as env,
            in_process(env) as svc,
            ExitStack() as servers,
        ):
            password = secrets.token_urlsafe(18)  # BENCH-ONLY, dropped with the database
            experience().users.create(USERNAME, password, actor=ACTOR)
            main_tpp = register(svc, MAIN_CLIENT_ID, redirect_uri, issuer)
            bulk_tpps = [
                register(svc, f"{BULK_CLIENT_PREFIX}{n}", redirect_uri, issuer)
                for n in range(settings.bulk)
            ]
            servers.enter_context(gunicorn(env, as_port, settings.server, workdir / "as.log"))
            rs_options = dataclasses.replace(
                settings.server, workers=1, threads=settings.rs_threads
            )
            for index, port in enumerate(rs_ports):
                servers.enter_context(gunicorn(env, port, rs_options, workdir / f"rs{index}.log"))

            began = time.perf_counter()
            http = UrllibTransport()
            tokens = mint(
                http, main_tpp, password, LOAD_TOKENS + settings.warmup + settings.revocations
            )
            load_tokens, tokens = tokens[:LOAD_TOKENS], tokens[LOAD_TOKENS:]
            bulk_tokens = [mint(http, tpp, password, 1)[0] for tpp in bulk_tpps]
            print(
                f"{len(tokens) + len(load_tokens) + len(bulk_tokens)} access tokens "
                f"({1 + len(bulk_tpps)} logins) in {time.perf_counter() - began:.1f} s"
            )

            propagation = Propagation(rs_ports, settings.poll_timeout)
            try:
                with BackgroundLoad(rs_ports, load_tokens, settings.load_threads) as load:
                    warm, timed = tokens[: settings.warmup], tokens[settings.warmup :]

                    def single(token: str) -> tuple[str, Callable[[], Revoked]]:
                        return token, lambda: revoke_over_http(as_port, main_tpp, token)

                    warmed = run_phase("warm-up", [single(t) for t in warm], propagation, 60)
                    print(f"warm-up: {len(warmed.delays)} revocations, {dict(warmed.errors)}")
                    measured = {
                        "single /revoke": run_phase(
                            "single /revoke",
                            [single(t) for t in timed],
                            propagation,
                            settings.max_seconds,
                        ),
                    }
                    bulk_items = [
                        (token, bulk_revoker(settings, env, svc, tpp.client_id))
                        for token, tpp in zip(bulk_tokens, bulk_tpps, strict=True)
                    ]
                    if bulk_items:
                        name = "bulk --client" + (" (cli)" if settings.bulk_cli else "")
                        measured[name] = run_phase(
                            name, bulk_items, propagation, settings.max_seconds
                        )
            finally:
                propagation.close()
            planned = {"single /revoke": settings.revocations}
            phases = {
                name: summarise(result, planned.get(name, settings.bulk))  # the rest is bulk
                for name, result in measured.items()
            }
            background = load.summary()

    return report(settings, run.run_id, phases, background, run.load_before)


def report(
    settings: Settings,
    run_id: str,
    phases: dict[str, dict[str, Any]],
    background: dict[str, Any],
    load_before: list[float],
) -> int:
    where = machine(load_before)
    result = {
        "benchmark": "revocation_propagation.userinfo",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": where,
        "config": {
            **{
                k: v
                for k, v in dataclasses.asdict(settings).items()
                if k != "server" and not k.endswith("_url")
            },
            "authorization_server": f"gunicorn sync, {settings.server.workers} workers",
            "resource_server_processes": (
                f"{settings.resource_servers} x gunicorn, 1 worker"
                + (
                    f" gthread {settings.rs_threads} threads"
                    if settings.rs_threads > 1
                    else " sync"
                )
            ),
            "backends": "PostgreSQL + Redis",
            "resource": f"GET {RESOURCE} (Bearer)",
            "tokens": "authorization_code once per client, then refresh_token; private_key_jwt",
            "delay": "latest first-401 arrival over the resource servers minus t0 (revocation "
            "answer arrived / bulk call returned)",
            "target_p99_ms": TARGET_P99_SECONDS * 1000,
        },
        "result": {"phases": phases, "background": background},
    }
    after = where["load_average_1_5_15m_after"]
    print(f"load average (1/5/15 min) before {load_before}, after {after}")
    print_table(phases, background)
    for name, phase in phases.items():
        if phase["errors"]:
            print(f"{name} errors: {phase['error_statuses']}")
    write_result("revocation_propagation", run_id, result)
    failed = background["errors"] or any(
        phase["errors"] or phase["timeouts"] or phase["count"] != phase["planned"]
        for phase in phases.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
