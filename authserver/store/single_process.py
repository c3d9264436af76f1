"""The in-process store is honest for one serving process only (issue 15, item 5).

Single-use checks (assertion and proof ``jti``s, codes, request_uris) live in the store.
With the in-process store each process has its own, so under two gunicorn workers a
replayed assertion is accepted once per worker. Rather than let that happen quietly,
a process serving under gunicorn claims the instance folder with an exclusive
``flock``; a second worker cannot, and stops with a message saying what to do.
gunicorn then halts ("Worker failed to boot"): the server refuses to start.

Only gunicorn processes claim: the CLI (which runs beside a server) and tests serve
nothing, and ``authserver run`` is a single process by construction. With
``--preload`` the master loads the app and the workers inherit its lock, so each
forked worker claims again with a lock of its own.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from pathlib import Path
from typing import IO

REFUSAL = (
    "authserver: the in-process store is for one process only, and another process "
    "already serves from the instance folder {path}: single-use checks (assertion and "
    "DPoP proof jtis, codes) would hold per process. Run one worker (gunicorn --workers 1, "
    "the threads of --worker-class gthread are fine), or set AUTHSERVER_REDIS_URL so "
    "every process shares one store."
)
LOCK_NAME = "in-process-store.lock"

_held: dict[Path, IO[bytes]] = {}
_guard = threading.Lock()


class SecondProcessError(RuntimeError):
    """Another process already serves on the in-process store of this instance folder."""


def under_gunicorn() -> bool:
    return "gunicorn.arbiter" in sys.modules


def _lock(path: Path) -> IO[bytes] | None:
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def claim(instance_path: Path) -> None:
    """Hold the instance folder's in-process-store lock for this process's lifetime;
    SecondProcessError when another process holds it."""
    path = (instance_path / LOCK_NAME).resolve()
    with _guard:
        if path in _held:
            return
        handle = _lock(path)
        if handle is None:
            raise SecondProcessError(REFUSAL.format(path=instance_path.resolve()))
        _held[path] = handle
        if len(_held) == 1:
            os.register_at_fork(after_in_child=_claim_again_in_child)


def _claim_again_in_child() -> None:
    """A forked worker (``--preload``) shares its parent's lock; it takes one of its own.

    Unlocking the inherited description releases the parent's claim too: the parent
    (gunicorn's master) serves nothing. The second child then finds the first one's lock.
    """
    for path, inherited in list(_held.items()):
        fcntl.flock(inherited.fileno(), fcntl.LOCK_UN)
        inherited.close()
        handle = _lock(path)
        if handle is None:
            sys.stderr.write(REFUSAL.format(path=path.parent) + "\n")
            sys.stderr.flush()
            os._exit(3)  # gunicorn's WORKER_BOOT_ERROR: the arbiter halts
        _held[path] = handle
