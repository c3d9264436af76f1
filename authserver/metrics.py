"""The Prometheus metrics every floor may count into (OPS-5, issue 14).

They live here, on the ground floor, so that a protocol package can count what it does
without importing the web layer, and so that each metric is declared exactly once.
``prometheus_client`` picks its multiprocess value class when it is first imported: a
gunicorn deployment sets ``PROMETHEUS_MULTIPROC_DIR`` before anything imports this
module (see ``authserver.web.metrics``), and every worker then writes its own files that
the ``/metrics`` endpoint aggregates.

Labels are low-cardinality by construction: endpoints are Flask endpoint names, never
raw paths; grant types, outcomes and statuses come from closed sets in our code.
"""

from __future__ import annotations

from prometheus_client import Counter
from prometheus_client import Histogram

HTTP_REQUESTS = Counter(
    "authserver_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "authserver_http_request_duration_seconds",
    "Time from request start to response, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TOKENS_ISSUED = Counter(
    "authserver_tokens_issued_total",
    "Access tokens issued, by grant type.",
    ["grant_type"],
)
REVOCATIONS = Counter(
    "authserver_revocations_total",
    "Revocation facts published to every process, by kind (a jti, or a client, user or"
    " consent watermark).",
    ["kind"],
)
CONSENT_TRANSITIONS = Counter(
    "authserver_consent_transitions_total",
    "Consent status transitions, by consent kind and new status.",
    ["kind", "status"],
)
WEBHOOK_DELIVERIES = Counter(
    "authserver_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered, retry, dead_letter).",
    ["outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "authserver_rate_limit_refusals_total",
    "Requests refused with 429, by limited endpoint group and client tier.",
    ["group", "tier"],
)
BACKEND_ERRORS = Counter(
    "authserver_backend_errors_total",
    "Requests failed closed because a backend was unreachable (store or database).",
    ["backend"],
)
