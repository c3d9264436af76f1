"""Load from ``wrk`` instead of Python threads: requests rendered to raw HTTP/1.1 before
the clock starts, written to a pool file, and replayed by ``replay.lua`` (each sent once,
split across wrk's threads), so the driver costs a few C cycles per request and not a
Python interpreter competing with the server for the same 2 cores."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness.options import Prepared

REPLAY_SCRIPT = Path(__file__).with_name("replay.lua")
RESULT_PREFIX = "WRK_REPLAY_RESULT "


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result line."""


def render(prepared: Prepared, host: str) -> bytes:
    """One request as the exact HTTP/1.1 bytes wrk writes (Host and Content-Length added).

    Header names and values must be single-line: a CR or LF would split the request, so
    they are refused here rather than sent as something else.
    """
    body = prepared.body or b""
    headers = {"Host": host, **prepared.headers}
    if prepared.body is not None:
        headers["Content-Length"] = str(len(body))
    lines = [f"{prepared.method} {prepared.path} HTTP/1.1"]
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n") or not name or ":" in name:
            raise ValueError(f"header {name!r} cannot be sent on one line")
        lines.append(f"{name}: {value}")
    if any(c in prepared.method + prepared.path for c in " \r\n"):
        raise ValueError(f"bad request line {prepared.method!r} {prepared.path!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def write_pool(path: Path, requests: list[bytes]) -> None:
    """The pool file ``replay.lua`` reads: ``<length>\\n<raw bytes>`` per request."""
    with path.open("wb") as sink:
        for raw in requests:
            sink.write(b"%d\n" % len(raw))
            sink.write(raw)


def read_pool(path: Path) -> list[bytes]:
    """The requests of a pool file, in order (the inverse of ``write_pool``; for checks)."""
    data = path.read_bytes()
    requests: list[bytes] = []
    position = 0
    while position < len(data):
        newline = data.index(b"\n", position)
        length = int(data[position:newline])
        requests.append(data[newline + 1 : newline + 1 + length])
        position = newline + 1 + length
    return requests


@dataclass(frozen=True)
class WrkRun:
    """One wrk invocation: where, how hard and for how long."""

    port: int
    pool: Path
    connections: int
    threads: int
    seconds: float
    ok_pattern: str
    """A Lua pattern a 2xx body must match to count as ok ("" accepts every 2xx)."""
    cycle: bool = False
    timeout_seconds: float = 10.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed (apt-get install -y wrk)")
    return found


def run_wrk(run: WrkRun) -> dict[str, Any]:
    """Run wrk with the replay script; its parsed result line (counts, latency in µs)."""
    command = [
        wrk_binary(),
        "--threads",
        str(run.threads),
        "--connections",
        str(run.connections),
        "--duration",
        f"{max(1, round(run.seconds))}s",
        "--timeout",
        f"{max(1, round(run.timeout_seconds))}s",
        "--script",
        str(REPLAY_SCRIPT),
        f"http://127.0.0.1:{run.port}/",
        "--",
        str(run.pool),
        str(run.threads),
        run.ok_pattern,
        "1" if run.cycle else "0",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=run.seconds + run.timeout_seconds + 60,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise WrkError(f"wrk exit {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
