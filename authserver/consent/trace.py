"""Which request a consent transition belongs to, for its audit event: the request id
and, on an open-banking request, the ``x-fapi-interaction-id``.

``ConsentService`` takes the provider through its constructor; outside a request (the
CLI, cron) there is neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context
from flask import request

from authserver.errors import request_id as current_request_id
from authserver.openbanking.envelope import interaction_id
from authserver.openbanking.envelope import is_open_banking_path


@dataclass(frozen=True)
class Trace:
    """Which request a transition belongs to, for its audit event."""

    request_id: str = "-"
    interaction_id: str | None = None


def request_trace() -> Trace:
    """The request being served (none for the CLI); the interaction id only on an
    open-banking path, where ``openbanking.envelope`` has set it."""
    if not has_request_context():
        return Trace()
    on_ob_path = is_open_banking_path(request.path)
    return Trace(current_request_id(), interaction_id() if on_ob_path else None)
