"""The load loop: requests signed before the clock starts (re-signed when a DPoP nonce
would expire mid-run), sent once each over keep-alive connections by a few driver
threads, and summarised as status counts, throughput and nearest-rank percentiles."""

from __future__ import annotations

import functools
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness.options import DPOP_NONCE_STEP
from benchmarks.harness.options import DPOP_PAST_WINDOW
from benchmarks.harness.options import LOOPBACK
from benchmarks.harness.options import SAFETY_MARGIN
from benchmarks.harness.options import WARMUP_SECONDS
from benchmarks.harness.options import Batch
from benchmarks.harness.options import Options
from benchmarks.harness.options import Outcome
from benchmarks.harness.options import Prepared


def fetch_nonce(port: int, request: Prepared) -> str:
    """Send one request whose proof has no nonce; the DPoP-Nonce of its use_dpop_nonce answer."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        payload = response.read()
        nonce = response.getheader("DPoP-Nonce")
    finally:
        connection.close()
    if not nonce or b"use_dpop_nonce" not in payload:
        raise SystemExit(f"no nonce from {request.path}: {response.status} {payload[:300]!r}")
    return nonce


def nonce_valid_until(asked_at: float) -> float:
    """A nonce handed out after ``asked_at`` is accepted until its step and the next are over."""
    return (asked_at // DPOP_NONCE_STEP + 2) * DPOP_NONCE_STEP


def sign_batch(
    make: Callable[[str | None], Prepared],
    count: int,
    run_seconds: float,
    *,
    options: Options,
    nonce_from: Callable[[], str] | None,
    lifetime: int | None,
) -> Batch:
    """``count`` requests signed now that all stay valid for ``run_seconds`` after signing.

    ``lifetime`` bounds what ``make`` signs itself (client assertions); proofs are bounded
    by the iat window, or by the nonce's step when ``nonce_from`` fetches one. A batch that
    would expire too soon is signed again, after the next nonce step has begun.
    """
    for _ in range(3):
        began = time.time()
        nonce = nonce_from() if nonce_from is not None else None
        limits: list[float] = [int(began) + lifetime] if lifetime is not None else []
        if nonce is not None:
            limits.append(nonce_valid_until(began))
        elif options.dpop:
            limits.append(int(began) + DPOP_PAST_WINDOW)
        valid_until = min(limits) if limits else float("inf")
        requests = [make(nonce) for _ in range(count)]
        signed = time.time()
        if signed + run_seconds + SAFETY_MARGIN <= valid_until:
            return Batch(requests, valid_until, signed - began)
        if nonce_from is None:
            break
        # The nonce's step ends too soon: a nonce of the next step lives for two more.
        wait = (signed // DPOP_NONCE_STEP + 1) * DPOP_NONCE_STEP - time.time() + 0.5
        print(f"the nonce would expire during the run; signing again in {wait:.0f} s")
        time.sleep(max(0.0, wait))
    raise SystemExit(
        f"{count} requests cannot be signed and sent within their validity; "
        "lower --requests or --max-seconds"
    )


def _error_code(payload: bytes) -> str | None:
    """The OAuth ``error``, or the first ``ErrorCode`` of an open-banking error body."""
    try:
        body = json.loads(payload)
        error = body.get("error")
        if error is None and body.get("Errors"):
            error = body["Errors"][0].get("ErrorCode")
    except (ValueError, AttributeError, TypeError, IndexError):
        error = None
    return error if isinstance(error, str) else None


def _label(status: int, payload: bytes, ok: bool, ok_status: int = 200) -> str:
    if ok:
        return str(ok_status)
    if status == ok_status:
        return f"{ok_status}-unexpected-body"
    error = _error_code(payload)
    return f"{status} {error}" if error is not None else str(status)


def drive(
    port: int,
    requests: list[Prepared],
    concurrency: int,
    max_seconds: float,
    succeeded: Callable[[bytes], bool],
    ok_status: int = 200,
) -> Outcome:
    """Send every request once over ``concurrency`` keep-alive connections; stop at the deadline.

    An ``ok_status`` answer (200; 201 for a POST that creates) counts as such only when
    ``succeeded(body)``; anything else is labelled with its status and OAuth error code
    (e.g. "400 use_dpop_nonce") or open-banking ``ErrorCode`` (e.g. "400 U009").
    """
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    connections = [0]
    start = time.perf_counter()
    deadline = start + max_seconds

    def worker() -> None:
        connection: http.client.HTTPConnection | None = None
        mine: list[float] = []
        seen: Counter[str] = Counter()
        opened = 0
        while time.perf_counter() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            prepared = requests[index]
            connection = connection or http.client.HTTPConnection(LOOPBACK, port, timeout=10)
            began = time.perf_counter()
            try:
                if connection.sock is None:
                    connection.connect()
                    opened += 1
                connection.request(
                    prepared.method, prepared.path, body=prepared.body, headers=prepared.headers
                )
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                seen[type(exc).__name__] += 1
                connection.close()
                continue
            mine.append(time.perf_counter() - began)
            ok = response.status == ok_status and succeeded(payload)
            seen[_label(response.status, payload, ok, ok_status)] += 1
            if response.will_close:
                connection.close()
        if connection is not None:
            connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            connections[0] += opened

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Outcome(latencies, statuses, connections[0], time.perf_counter() - start)


def warm_up_and_run(
    port: int,
    options: Options,
    make: Callable[[str | None], Prepared],
    succeeded: Callable[[bytes], bool],
    *,
    nonce_from: Callable[[], str] | None,
    lifetime: int | None,
    log: Path,
    ok_status: int = 200,
) -> Outcome:
    """Untimed warm-up, then the timed run; every request is signed before its part starts."""
    sign = functools.partial(sign_batch, make, options=options, nonce_from=nonce_from)
    if options.warmup:
        warm_batch = sign(options.warmup, WARMUP_SECONDS, lifetime=lifetime)
        warm = drive(
            port, warm_batch.requests, options.concurrency, WARMUP_SECONDS, succeeded, ok_status
        )
        if warm.statuses.get(str(ok_status), 0) == 0:
            raise SystemExit(f"warm-up failed {dict(warm.statuses)}:\n{log.read_text()[-4000:]}")
        print(f"warm-up: {dict(warm.statuses)}")
    # Signed (and the nonce fetched again) right before the clock starts.
    batch = sign(options.requests, options.max_seconds, lifetime=lifetime)
    left = batch.valid_until - time.time()
    print(
        f"signed {len(batch.requests)} requests in {batch.signing_seconds:.2f} s "
        f"(before timing); "
        + (f"valid for {left:.0f} s more" if left != float("inf") else "no expiry")
    )
    return drive(
        port, batch.requests, options.concurrency, options.max_seconds, succeeded, ok_status
    )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarise(outcome: Outcome, ok_status: int = 200) -> dict[str, Any]:
    ordered = sorted(outcome.latencies)
    ok = outcome.statuses.get(str(ok_status), 0)
    sent = sum(outcome.statuses.values())
    return {
        "requests": sent,
        "ok": ok,
        "errors": sent - ok,
        "statuses": dict(outcome.statuses),
        "connections_opened": outcome.connections,
        "wall_seconds": round(outcome.wall_seconds, 3),
        "throughput_rps": round(ok / outcome.wall_seconds, 1) if outcome.wall_seconds else 0.0,
        "latency_ms": {
            name: round(percentile(ordered, fraction) * 1000, 2)
            for name, fraction in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))
        },
    }
