"""Request-object (JAR, FAPI 2.0 Message Signing) modules, pushed to PAR by the signing client."""

from __future__ import annotations

import time
from typing import Any

from conformance.context import Context
from conformance.context import Skip
from conformance.flow import Flow
from conformance.modules.common import PAR_REQUEST_ERRORS
from conformance.modules.common import accepted_or_rejected
from conformance.modules.common import rejected
from conformance.runner import Module
from tppkit import b64url_json

OBJECT_ERRORS = ("invalid_request_object",)
# What the suite accepts at the authorization endpoint for a request object PAR let through.
FRONT_ERRORS = ("invalid_request", "invalid_request_object", "invalid_request_uri", "access_denied")
OTHER_AUDIENCE = "https://other-as.example.com"


def signed_flow(ctx: Context) -> Flow:
    return Flow(ctx, ctx.signing_tpp(), signed=True)


def succeeds(ctx: Context, **claims: Any) -> None:
    flow = signed_flow(ctx)
    params, verifier = flow.params()
    flow.check_resource(
        flow.issue(flow.complete(params, verifier, flow.par_form(params, **claims)))
    )


def refused(ctx: Context, front: tuple[str, ...] = (), **claims: Any) -> str:
    flow = signed_flow(ctx)
    params, _ = flow.params()
    return rejected(flow, flow.par_form(params, **claims), OBJECT_ERRORS, front)


def multiple_aud(ctx: Context) -> str:
    succeeds(ctx, aud=[ctx.issuer, "https://other1.example.com", "invalid"])
    return "aud [issuer, other, 'invalid'] accepted"


def nbf_8_seconds_ahead(ctx: Context) -> str:
    now = int(time.time())
    succeeds(ctx, iat=now + 8, nbf=now + 8, exp=now + 308)
    return "iat and nbf now+8 s accepted"


def _differing(ctx: Context, name: str) -> str:
    """A different value outside the request object, on the authorization-endpoint URL."""
    flow = signed_flow(ctx)
    params, verifier = flow.params()
    form = flow.par_form(params)
    flow.front = {name: f"outside-{params[name]}"}
    note, _ = accepted_or_rejected(flow, params, verifier, form)
    return f"{name} differing outside: {note}" + (
        " (inside value used)" if note == "accepted" else ""
    )


def different_nonce(ctx: Context) -> str:
    return _differing(ctx, "nonce")


def different_state(ctx: Context) -> str:
    return _differing(ctx, "state")


def state_only_outside(ctx: Context) -> str:
    flow = signed_flow(ctx)
    params, verifier = flow.params(state=None)
    form = flow.par_form(params)
    flow.front = {"state": "outside-only-state"}
    errors = ("invalid_request", "invalid_request_object", "access_denied")
    note, _ = accepted_or_rejected(flow, params, verifier, form, errors)
    return note + (" (outside state ignored, none returned)" if note == "accepted" else "")


def without_redirect_uri(ctx: Context) -> str:
    flow = signed_flow(ctx)
    params, _ = flow.params(redirect_uri=None)
    return rejected(flow, flow.par_form(params), PAR_REQUEST_ERRORS, PAR_REQUEST_ERRORS)


def without_exp(ctx: Context) -> str:
    return refused(ctx, FRONT_ERRORS, exp=None)


def without_nbf(ctx: Context) -> str:
    return refused(ctx, FRONT_ERRORS, nbf=None)


def expired(ctx: Context) -> str:
    now = int(time.time())
    return refused(ctx, nbf=now - 600, exp=now - 60)


def bad_aud(ctx: Context) -> str:
    return refused(ctx, aud=OTHER_AUDIENCE)


def exp_over_60(ctx: Context) -> str:
    now = int(time.time())
    return refused(ctx, nbf=now, exp=now + 70 * 60)


def nbf_over_60(ctx: Context) -> str:
    now = int(time.time())
    return refused(ctx, nbf=now - 70 * 60, exp=now + 300)


def rs256(ctx: Context) -> str:
    tpp, key = ctx.rs256_signer()
    flow = Flow(ctx, tpp, signed=True)
    params, _ = flow.params()
    form = flow.par_form(params, alg="RS256", key=key)
    return rejected(flow, form, OBJECT_ERRORS, OBJECT_ERRORS)


def _tampered(ctx: Context, change: str) -> str:
    flow = signed_flow(ctx)
    params, _ = flow.params()
    form = flow.par_form(params)
    head, payload, signature = form["request"].split(".")
    if change == "none":
        form["request"] = f"{b64url_json({'alg': 'none', 'typ': 'oauth-authz-req+jwt'})}.{payload}."
    else:
        middle = len(signature) // 2
        flipped = "A" if signature[middle] != "A" else "B"
        form["request"] = f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    return rejected(flow, form, OBJECT_ERRORS, OBJECT_ERRORS)


def alg_none(ctx: Context) -> str:
    return _tampered(ctx, "none")


def invalid_signature(ctx: Context) -> str:
    return _tampered(ctx, "signature")


def other_clients_key(ctx: Context) -> str:
    tpp = ctx.signing_tpp()
    other = ctx.tpps[1] if tpp.client_id != ctx.tpps[1].client_id else ctx.tpps[0]
    return refused(ctx, OBJECT_ERRORS, key=other.key, alg=other.alg)


def unsigned_at_par(ctx: Context) -> str:
    if ctx.signed is None:
        raise Skip("no signed_client (require_signed_request_object) configured")
    flow = Flow(ctx, ctx.signed)
    params, _ = flow.params()
    return rejected(flow, flow.par_form(params), ("invalid_request",), ("invalid_request",))


def request_uri_inside(ctx: Context) -> str:
    return refused(ctx, request_uri="urn:ietf:params:oauth:request_uri:conformance-test")


MODULES = [
    Module(4, "ensure-request-object-with-multiple-aud-succeeds", multiple_aud),
    Module(
        11,
        "ensure-request-object-with-nbf-8-seconds-in-the-future-is-accepted",
        nbf_8_seconds_ahead,
    ),
    Module(20, "ensure-different-nonce-inside-and-outside-request-object", different_nonce),
    Module(21, "ensure-different-state-inside-and-outside-request-object", different_state),
    Module(24, "ensure-request-object-without-exp-fails", without_exp),
    Module(25, "ensure-request-object-without-nbf-fails", without_nbf),
    Module(26, "state-only-outside-request-object-not-used", state_only_outside),
    Module(27, "ensure-request-object-without-redirect-uri-fails", without_redirect_uri),
    Module(28, "ensure-expired-request-object-fails", expired),
    Module(29, "ensure-request-object-with-bad-aud-fails", bad_aud),
    Module(30, "ensure-request-object-with-exp-over-60-fails", exp_over_60),
    Module(32, "ensure-request-object-with-nbf-over-60-fails", nbf_over_60),
    Module(34, "ensure-signed-request-object-with-RS256-fails", rs256),
    Module(35, "ensure-request-object-signature-algorithm-is-not-none", alg_none),
    Module(36, "ensure-request-object-with-invalid-signature-fails", invalid_signature),
    Module(37, "ensure-matching-key-in-authorization-request", other_clients_key),
    Module(38, "ensure-unsigned-request-at-par-endpoint-fails", unsigned_at_par),
    Module(74, "par-authorization-request-containing-request_uri", request_uri_inside),
]
