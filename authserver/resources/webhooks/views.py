"""``POST/GET /webhooks/subscriptions``, ``DELETE /webhooks/subscriptions/{id}`` and
``GET /webhooks/events?after=SEQ``.

A client-credentials token (DPoP-bound when the client is: ``require_token`` checks the
proof) carrying ``accounts:read`` or ``payments:write``, the scopes whose consents and
payments the events are about. A TPP sees and changes only its own subscriptions and
events. The callback URL passes the SSRF guard here and again at every delivery.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from authserver.checks.identifiers import is_identifier
from authserver.errors import InvalidRequestError
from authserver.events.models import WebhookSubscription
from authserver.events.subscriptions import SubscriptionRejectedError
from authserver.events.subscriptions import WebhookSubscriptions
from authserver.openbanking.errors import not_found
from authserver.resources.context import resource_services
from authserver.resources.errors import InsufficientScopeError
from authserver.resources.guard import require_token
from authserver.resources.ob_requests import client_credentials_client
from authserver.resources.ob_requests import require_json

EVENT_SCOPES = frozenset({"accounts:read", "payments:write"})
MAX_AFTER = 2**62

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    callback_url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] = Field(min_length=1, max_length=10)


def _caller() -> tuple[str, WebhookSubscriptions]:
    """The calling TPP (client-credentials token with an event scope) and the service."""
    client_id = client_credentials_client()
    if not EVENT_SCOPES & set(str(g.token_claims.get("scope", "")).split()):
        raise InsufficientScopeError()
    webhooks = resource_services().webhooks
    if webhooks is None:  # a resource server built without webhooks serves none of these
        raise not_found()
    return client_id, webhooks


def _render(row: WebhookSubscription) -> dict[str, Any]:
    return {
        "subscription_id": row.id,
        "callback_url": row.callback_url,
        "event_types": list(row.event_types),
        "created_at": row.created_at.isoformat(),
    }


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/subscriptions")
@require_token()
def create_subscription() -> Response:
    client_id, webhooks = _caller()
    require_json()
    body = request.get_json(silent=True)
    try:
        parsed = SubscriptionRequest.model_validate(body)
    except ValidationError:
        raise InvalidRequestError("The body needs callback_url and event_types.") from None
    try:
        row = webhooks.create(client_id, parsed.callback_url, parsed.event_types)
    except SubscriptionRejectedError as exc:
        raise InvalidRequestError(str(exc)) from None
    response = jsonify(_render(row))
    response.status_code = 201
    return _no_store(response)


@bp.get("/subscriptions")
@require_token()
def list_subscriptions() -> Response:
    client_id, webhooks = _caller()
    rows = webhooks.of_client(client_id)
    return _no_store(jsonify({"subscriptions": [_render(row) for row in rows]}))


@bp.delete("/subscriptions/<subscription_id>")
@require_token()
def delete_subscription(subscription_id: str) -> Response:
    client_id, webhooks = _caller()
    if not is_identifier(subscription_id, max_length=36) or not webhooks.delete(
        client_id, subscription_id
    ):
        raise not_found()
    return Response(status=204)


@bp.get("/events")
@require_token()
def poll_events() -> Response:
    client_id, webhooks = _caller()
    raw = request.args.get("after", "0")
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_AFTER:
        raise InvalidRequestError("after must be a non-negative integer.")
    after = int(raw)
    events = webhooks.events_after(client_id, after)
    body = {
        "events": [
            {"seq": e.seq, "event_id": e.event_id, "event_type": e.event_type, "jws": e.jws}
            for e in events
        ],
        "after": events[-1].seq if events else after,
    }
    return _no_store(jsonify(body))
