"""Running authserver as a real local process: free loopback ports, the CLI, and a server
that is ready (``/readyz`` answers 200: SQL and the store reachable) for the length of a
``with`` block.

Shared by the live-server tests, the Chromium flow, the conformance test and the
benchmarks, so every one of them starts and stops a server the same way. Nothing here
expects a machine to be fast: start-up is awaited by polling readiness until a generous
deadline, and that deadline (like ``HANG_GUARD``) only exists so that a process that is
truly stuck ends the run with its log rather than hanging it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 900.0
"""Seconds after which a CLI call or a server start counts as hung, not slow: far above
anything a loaded machine takes (seconds), so it never decides a healthy run."""


class ServerDidNotStartError(RuntimeError):
    """The process exited or never became ready; the message carries its log tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m authserver ARGS`` from the repository root (no output checks)."""
    return subprocess.run(
        [sys.executable, "-m", "authserver", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_GUARD,
    )


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    """Run ``authserver ARGS --json`` and return its parsed output (AssertionError on failure)."""
    done = run_cli(env, *args, "--json", stdin=stdin)
    assert done.returncode == 0, f"authserver {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def is_ready(base: str) -> bool:
    """``/readyz`` answers 200: the process serves and its SQL and store answer."""
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def wait_ready(process: subprocess.Popen[bytes], base: str, log: Path, deadline: float) -> None:
    """Poll readiness until ``deadline`` (monotonic); a process that exits fails at once."""
    while not is_ready(base):
        if process.poll() is not None or time.monotonic() > deadline:
            raise ServerDidNotStartError(log.read_text()[-4000:])
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process is still there after the hang guard."""
    process.terminate()
    try:
        process.wait(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    command: list[str], env: dict[str, str], base: str, log: Path, timeout: float = HANG_GUARD
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (its output to ``log``, never an unread pipe) and wait until ready."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink)
        try:
            wait_ready(process, base, log, time.monotonic() + timeout)
            yield process
        finally:
            stop(process)


@contextmanager
def single_worker_servers(
    env: dict[str, str], folder: Path, count: int = 2
) -> Iterator[tuple[dict[str, str], list[int]]]:
    """``count`` separate one-worker gunicorn processes serving one database (and Redis,
    when ``env`` names it); yields the shared environment (issuer: the first) and ports.

    Each process gets its own instance folder: on the in-process store the server refuses
    a second process on one folder (its single-use checks would hold per process)."""
    ports = [free_port() for _ in range(count)]
    shared = {**env, "AUTHSERVER_ISSUER": f"http://127.0.0.1:{ports[0]}"}
    cli(shared, "keys", "list")  # the signing keys exist before any process starts
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with ExitStack() as stack:
        for n, port in enumerate(ports):
            command = [gunicorn, "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
            own = {**shared, "AUTHSERVER_INSTANCE_PATH": str(folder / f"instance{n}")}
            base = f"http://127.0.0.1:{port}"
            stack.enter_context(serving(command, own, base, folder / f"server{n}.log"))
        yield shared, ports
