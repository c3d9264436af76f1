"""PAR and authorization-endpoint modules (RFC 9126 under FAPI 2.0)."""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import urllib.parse

from conformance.callback import describe
from conformance.callback import expect_front_channel_error
from conformance.checks import check_par_created
from conformance.checks import fail
from conformance.context import Context
from conformance.flow import Authorized
from conformance.flow import Flow
from conformance.modules.common import PAR_REQUEST_ERRORS
from conformance.modules.common import accepted_or_rejected
from conformance.modules.common import rejected
from conformance.runner import Module

UNREGISTERED = "https://unregistered.example.com/cb"
RESPONSE_TYPE_ERRORS = ("unsupported_response_type", "invalid_request")
EXPIRED_URI_ERRORS = ("invalid_request_uri",)


def registered_redirect_uri(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params(redirect_uri=UNREGISTERED)
    return rejected(flow, flow.par_form(params), PAR_REQUEST_ERRORS, PAR_REQUEST_ERRORS)


def tolerate_unregistered(ctx: Context) -> str:
    tpp = dataclasses.replace(ctx.tpps[0], redirect_uri=UNREGISTERED)
    flow = Flow(ctx, tpp)
    params, verifier = flow.params()
    note, _ = accepted_or_rejected(
        flow, params, verifier, flow.par_form(params), PAR_REQUEST_ERRORS
    )
    return f"unregistered redirect_uri {note} (either is allowed)"


def without_par(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params()
    url = ctx.url("/authorize?" + urllib.parse.urlencode(params))
    response = flow.transport.request("GET", url)
    keys = ctx.server_keys()
    return expect_front_channel_error(response, flow.tpp, keys, ("invalid_request",))


def without_redirect_uri(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, verifier = flow.params(redirect_uri=None)
    note, _ = accepted_or_rejected(flow, params, verifier, flow.par_form(params))
    return note + (" (registered redirect_uri used)" if note == "accepted" else "")


def _response_type(ctx: Context, response_type: str) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params(response_type=response_type)
    par_errors = (*RESPONSE_TYPE_ERRORS, "unauthorized_client")
    return rejected(flow, flow.par_form(params), par_errors, RESPONSE_TYPE_ERRORS)


def non_matching_intent_id(ctx: Context) -> str:
    """OBUK: an essential ``openbanking_intent_id`` naming no consent of this client must
    be refused (at PAR, or by the authorization endpoint), never authorised."""
    flow = Flow(ctx, ctx.tpps[0])
    unknown = "urn-conformance-" + secrets.token_hex(8)
    claims = {"id_token": {"openbanking_intent_id": {"value": unknown, "essential": True}}}
    params, _ = flow.params(claims=json.dumps(claims))
    return rejected(flow, flow.par_form(params), PAR_REQUEST_ERRORS, PAR_REQUEST_ERRORS)


def code_id_token(ctx: Context) -> str:
    return _response_type(ctx, "code id_token")


def token_response_type(ctx: Context) -> str:
    return _response_type(ctx, "token")


def reuse_before_completion(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, verifier = flow.params()
    request_uri = flow.push_ok(flow.par_form(params))
    first = flow.visit(request_uri)
    if first.status != 303:
        raise fail(f"first visit: {describe(first)}, wanted a 303 towards login")
    response = flow.authorize(request_uri)
    if response.status == 303 and response.location.startswith(flow.tpp.redirect_uri):
        flow.check_resource(
            flow.issue(Authorized(params, verifier, flow.callback(response, params)))
        )
        return "second visit before login completed the flow"
    keys = ctx.server_keys()
    note = expect_front_channel_error(response, flow.tpp, keys, EXPIRED_URI_ERRORS)
    return f"WARNING: second visit refused ({note}); the suite only warns"


def reuse_after_completion(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, verifier = flow.params()
    request_uri = flow.push_ok(flow.par_form(params))
    flow.callback(flow.authorize(request_uri), params)
    again = flow.authorize(request_uri)
    to_client = again.status == 303 and again.location.startswith(flow.tpp.redirect_uri)
    if to_client and "error" not in flow.callback(again, params):
        return "WARNING: the spent request_uri was accepted again (the suite only warns)"
    return expect_front_channel_error(again, flow.tpp, ctx.server_keys(), EXPIRED_URI_ERRORS)


def expired_request_uri(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params()
    request_uri, expires_in = check_par_created(flow.push(flow.par_form(params)))
    configured = ctx.config.request_uri_expiry_wait
    wait = expires_in + 1 if configured is None else configured
    time.sleep(wait)
    response = flow.authorize(request_uri)
    note = expect_front_channel_error(response, flow.tpp, ctx.server_keys(), EXPIRED_URI_ERRORS)
    return f"expires_in {expires_in}, used after {wait:g} s: {note}"


def other_client(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params()
    request_uri = flow.push_ok(flow.par_form(params))
    other = ctx.tpps[1]
    response = flow.authorize(request_uri, tpp=other)
    errors = (*PAR_REQUEST_ERRORS, "invalid_request_uri")
    return expect_front_channel_error(response, other, ctx.server_keys(), errors)


def request_uri_in_body(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params()
    outer = {"request_uri": "urn:ietf:params:oauth:request_uri:conformance-test"}
    errors = (*PAR_REQUEST_ERRORS, "request_uri_not_supported")
    return rejected(flow, flow.par_form(params, outer=outer), errors)


def invalid_http_method(ctx: Context) -> str:
    transport = ctx.transport()
    statuses = []
    for method in ("GET", "PUT"):
        response = transport.request(method, ctx.url("/par"))
        if not 400 <= response.status < 600:
            raise fail(f"{method} /par: HTTP {response.status}, wanted 4xx or 5xx")
        statuses.append(f"{method} {response.status}")
    return ", ".join(statuses)


MODULES = [
    Module(39, "ensure-registered-redirect-uri", registered_redirect_uri),
    Module(40, "plain-fapi-tolerate-unregistered-redirect-uri", tolerate_unregistered),
    Module(41, "ensure-unsigned-authorization-request-without-using-par-fails", without_par),
    Module(42, "ensure-redirect-uri-in-authorization-request", without_redirect_uri),
    Module(43, "ensure-response-type-code-idtoken-fails", code_id_token),
    Module(45, "ensure-response-type-token-fails", token_response_type),
    Module(
        62,
        "par-ensure-reused-request-uri-prior-to-auth-completion-succeeds",
        reuse_before_completion,
    ),
    Module(58, "ensure-server-handles-non-matching-intent-id", non_matching_intent_id),
    Module(63, "par-attempt-reuse-request_uri", reuse_after_completion),
    Module(64, "par-attempt-to-use-expired-request_uri", expired_request_uri),
    Module(67, "par-attempt-to-use-request_uri-for-different-client", other_client),
    Module(68, "par-authorization-request-containing-request_uri-form-param", request_uri_in_body),
    Module(69, "par-attempt-invalid-http-method", invalid_http_method),
]
