"""gunicorn settings for authserver: ``gunicorn -c python:authserver.web.gunicorn_conf``.

It prepares prometheus-client's multiprocess mode (OPS-5). gunicorn loads this module in
the master before any worker imports the application, so ``PROMETHEUS_MULTIPROC_DIR``
is set before ``prometheus_client`` picks its value class, and every worker writes its
samples into the shared folder that ``/metrics`` aggregates. A folder left over from an
earlier run is emptied at start (stale files would add old counts), and a worker that
exits is marked dead so that its live gauges drop out. Other settings (workers, bind)
stay on the command line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _folder:
    shutil.rmtree(_folder, ignore_errors=True)
    Path(_folder).mkdir(parents=True, exist_ok=True)
else:
    _folder = tempfile.mkdtemp(prefix="authserver-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _folder


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: drop the exited worker's live samples."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
