"""The envelope of every payment POST: JSON only, ``x-jws-signature`` verified against the
client's registered keys, run once per ``x-idempotency-key``, and answered with our own
``x-jws-signature`` over the exact response body.

Order: 415 for a non-JSON body, 400 for a missing or bad idempotency key, 400 for a
signature that does not verify, then the idempotent run. An ``OBErrorResponse`` raised
inside the run (validation, consent status) is an answer like any other: signed, stored
and replayed for the same key and body.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from flask import request

from authserver.client_auth.errors import InvalidClientError
from authserver.context import services
from authserver.openbanking.envelope import error_response
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.errors import bad_request
from authserver.openbanking.idempotency import HEADER as IDEMPOTENCY_HEADER
from authserver.openbanking.idempotency import Idempotency
from authserver.openbanking.idempotency import StoredResponse
from authserver.openbanking.idempotency import validate_key
from authserver.openbanking.message_signing import HEADER
from authserver.openbanking.message_signing import SIGNATURE_INVALID_CLAIM
from authserver.openbanking.message_signing import sign_response
from authserver.openbanking.message_signing import verify_request_signature
from authserver.resources.ob_requests import require_json


def verify_signature(client_id: str, body: bytes) -> None:
    """The request's ``x-jws-signature`` by a key of ``client_id``'s JWKS, or 400."""
    svc = services()
    client = svc.clients.get(client_id)
    try:
        if client is None:
            raise InvalidClientError()
        keys = svc.client_keys.key_set(client, None)  # registered jwks, or jwks_uri's
    except InvalidClientError:
        message = "The client has no usable registered keys."
        raise bad_request(OBError(SIGNATURE_INVALID_CLAIM, message, "kid")) from None
    verify_request_signature(
        request.headers.get(HEADER),
        body,
        client_jwks=keys,
        client_id=client_id,
        trust_anchor=svc.settings.payments.trust_anchor,
        now=svc.clock.time(),
        max_age=svc.settings.payments.signature_max_age,
        skew=svc.policy.clock_skew,
    )


def signed(response: Response) -> Response:
    """``response`` with our detached JWS over its exact body."""
    svc = services()
    settings = svc.settings
    signer = svc.keys.response_signer(settings.payments.response_signing_alg)
    response.headers[HEADER] = sign_response(
        response.get_data(),
        signer,
        issuer=settings.issuer,
        trust_anchor=settings.payments.trust_anchor,
        now=svc.clock.time(),
    )
    return response


def _stored(response: Response) -> StoredResponse:
    return StoredResponse(
        status=response.status_code,
        body=response.get_data(),
        headers=tuple((name, value) for name, value in response.headers.items()),
    )


def signed_idempotent_post(client_id: str, execute: Callable[[bytes], Response]) -> Response:
    """Check the envelope, then ``execute(body)`` once per (client, idempotency key)."""
    require_json()
    body = request.get_data()
    key = validate_key(request.headers.get(IDEMPOTENCY_HEADER))
    verify_signature(client_id, body)

    def run() -> StoredResponse:
        try:
            response = execute(body)
        except OBErrorResponse as exc:
            response = error_response(exc)
        return _stored(signed(response))

    svc = services()
    # The stored answer echoes account numbers: sealed at rest (DATA-1).
    idempotency = Idempotency(svc.store, svc.clock, cipher=svc.envelope)
    answer = idempotency.run(client_id, key, body, run)
    return Response(answer.body, status=answer.status, headers=list(answer.headers))
