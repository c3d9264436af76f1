"""Prometheus exposition (OPS-5): request counts and latencies, and ``/metrics``.

Every request is counted by Flask endpoint name (never the raw path, which would let a
caller mint label values), method and status, and timed. ``/metrics`` is not public: it
answers only a bearer token equal to ``AUTHSERVER_METRICS__TOKEN`` (compared in constant
time) and is 404 when no token is configured, so an unconfigured server reveals nothing.

Under gunicorn each worker is its own process: ``authserver.web.gunicorn_conf`` sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers import anything, every worker writes its
samples there, and ``/metrics`` aggregates all of them whichever worker answers.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import REGISTRY
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client import multiprocess

from authserver.metrics import HTTP_LATENCY
from authserver.metrics import HTTP_REQUESTS
from authserver.settings import MetricsSettings

bp = Blueprint("metrics", __name__)
SETTINGS_KEY = "authserver.metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests that matched no route share one label value instead of one per path tried.
UNMATCHED = "unmatched"


def setup_metrics(app: Flask, settings: MetricsSettings) -> None:
    """Count every request of ``app`` and serve ``/metrics`` behind the operator token."""
    app.extensions[SETTINGS_KEY] = settings
    app.after_request(_count)
    app.register_blueprint(bp)


def _count(response: Response) -> Response:
    endpoint = request.endpoint or UNMATCHED
    status = str(response.status_code)
    HTTP_REQUESTS.labels(endpoint, request.method, status).inc()
    # ``web.request_id`` stamps every request's start (both app factories install it
    # first); one clock read per request serves the access log and this histogram.
    started = g.get("started")
    if started is not None:
        elapsed = time.perf_counter() - started
        HTTP_LATENCY.labels(endpoint, request.method, status).observe(elapsed)
    return response


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        # A fresh registry per scrape reads every worker's files (prometheus-client docs,
        # "Multiprocess Mode"); the default registry would show this worker only.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def _authorised(settings: MetricsSettings) -> bool:
    if settings.token is None:
        abort(404)
    supplied = request.headers.get("Authorization", "")
    scheme, _, credential = supplied.partition(" ")
    expected = settings.token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(credential.encode(), expected)


@bp.get("/metrics")
def metrics() -> Response:
    settings: MetricsSettings = current_app.extensions[SETTINGS_KEY]
    if not _authorised(settings):
        return Response(
            "operator token required\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = generate_latest(_registry())
    return Response(body, status=200, headers={"Content-Type": CONTENT_TYPE_LATEST})
