"""The background chainer: each serving process links stored audit events about once a second.

Every process runs one, so chaining goes on as long as any process serves; the lock in
``AuditTrail.chain(wait=False)`` lets one of them work at a time and the others skip the
tick. It starts with the first request a process serves (after a gunicorn fork the
parent's thread does not exist), so CLI commands and imports never start it.
"""

from __future__ import annotations

import os
import threading

import structlog
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from authserver.audit.service import AuditTrail

log = structlog.get_logger(__name__)


class AuditChainer:
    def __init__(self, app: Flask, trail: AuditTrail, interval: float) -> None:
        self._app = app
        self._trail = trail
        self._interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        """Start this process's thread unless it runs (a before_request hook: cheap)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-chainer", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._interval + 10)
        self._thread = None
        self._pid = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._app.app_context():
                    self._trail.chain(wait=False)
            except SQLAlchemyError as exc:
                # Database down or busy: events stay stored and unchained; the next tick
                # (in this process or another) links them. verify reports the window.
                log.warning("audit_chain_failed", error_type=type(exc).__name__)


def setup_audit_chainer(app: Flask, trail: AuditTrail, interval: float) -> AuditChainer | None:
    """Start chaining with the first request served; interval 0 leaves it to the CLI."""
    if interval <= 0:
        return None
    chainer = AuditChainer(app, trail, interval)
    app.extensions["authserver.audit_chainer"] = chainer
    app.before_request(chainer.ensure_running)
    return chainer
