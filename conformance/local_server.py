"""Running authserver as a real local process: free loopback ports, the CLI, and a server
that is up (``/healthz`` answers) for the length of a ``with`` block.

Shared by the live-server tests, the Chromium flow, the conformance test and the
benchmarks, so every one of them starts and stops a server the same way.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class ServerDidNotStartError(RuntimeError):
    """The process exited or stayed unhealthy; the message carries its log tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    """Run ``authserver ARGS --json`` and return its parsed output (AssertionError on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "authserver", *args, "--json"],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"authserver {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def is_healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def serving(
    command: list[str], env: dict[str, str], base: str, log: Path, timeout: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (its output to ``log``, never an unread pipe) and wait until healthy."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink)
        try:
            deadline = time.monotonic() + timeout
            while not is_healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise ServerDidNotStartError(log.read_text()[-4000:])
                time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
