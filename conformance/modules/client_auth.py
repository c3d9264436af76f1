"""private_key_jwt modules: at the token endpoint after a real authorization, and at PAR."""

from __future__ import annotations

import time
from typing import Any

from conformance.checks import check_par_created
from conformance.checks import expect_error
from conformance.context import Context
from conformance.flow import Flow
from conformance.runner import Module

CLIENT_ERRORS = ("invalid_client", "invalid_request")


def at_token(ctx: Context, errors: tuple[str, ...], flow: Flow | None = None, **claims: Any) -> str:
    """Redeem a fresh code with a bad assertion (``claims`` override it); must be refused."""
    flow = flow or Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    response = flow.token(flow.code_form(auth), **claims)
    return expect_error(response, *errors, what="token")


def at_par(ctx: Context, **claims: Any) -> Any:
    """Push a valid request authenticated with an assertion whose claims are overridden."""
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params()
    form = {**params, **flow.tpp.auth_form(**claims)}
    return flow.push(form)


def rs256_assertion(ctx: Context) -> str:
    tpp, key = ctx.rs256_signer()
    return at_token(ctx, ("invalid_client",), Flow(ctx, tpp), alg="RS256", key=key)


def no_assertion(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    form = {**flow.code_form(auth), "client_id": flow.tpp.client_id}
    response = flow.token(form, auth=False)
    return expect_error(response, *CLIENT_ERRORS, what="token")


def expired_assertion(ctx: Context) -> str:
    now = int(time.time())
    return at_token(ctx, CLIENT_ERRORS, iat=now - 360, exp=now - 300)


def wrong_aud(ctx: Context) -> str:
    return at_token(ctx, CLIENT_ERRORS, aud="https://other-as.example.com")


def no_sub(ctx: Context) -> str:
    return at_token(ctx, ("invalid_client",), sub=None)


def client_id_of_other_client(ctx: Context) -> str:
    """Client 2's client_id in the form while the assertion is client 1's."""
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    form = {**flow.code_form(auth), "client_id": ctx.tpps[1].client_id}
    response = flow.token(form)
    return expect_error(response, "invalid_client", "invalid_grant", what="token")


def nbf_8_seconds_ahead(ctx: Context) -> str:
    now = int(time.time())
    check_par_created(at_par(ctx, iat=now + 8, nbf=now + 8, exp=now + 68))
    return "PAR 201 with assertion iat and nbf now+8 s"


def nbf_over_60_ahead(ctx: Context) -> str:
    now = int(time.time())
    response = at_par(ctx, iat=now + 70, nbf=now + 70, exp=now + 130)
    return "rejected: " + expect_error(response, *CLIENT_ERRORS, what="PAR")


def _audience(ctx: Context, aud: Any) -> str:
    return "rejected: " + expect_error(at_par(ctx, aud=aud), *CLIENT_ERRORS, what="PAR")


def array_audience(ctx: Context) -> str:
    return _audience(ctx, [ctx.issuer])


def par_url_audience(ctx: Context) -> str:
    return _audience(ctx, ctx.url("/par"))


def token_url_audience(ctx: Context) -> str:
    return _audience(ctx, ctx.url("/token"))


MODULES = [
    Module(46, "ensure-client-id-in-token-endpoint", client_id_of_other_client),
    Module(51, "ensure-signed-client-assertion-with-RS256-fails", rs256_assertion),
    Module(52, "ensure-client-assertion-in-token-endpoint", no_assertion),
    Module(53, "ensure-client-assertion-with-exp-is-5-minutes-in-past-fails", expired_assertion),
    Module(54, "ensure-client-assertion-with-wrong-aud-fails", wrong_aud),
    Module(55, "ensure-client-assertion-with-no-sub-fails", no_sub),
    Module(
        65,
        "par-ensure-jwt-client-assertions-nbf-8-seconds-in-the-future-is-accepted",
        nbf_8_seconds_ahead,
    ),
    Module(
        66,
        "par-ensure-jwt-client-assertions-nbf-over-60-seconds-in-the-future-fails",
        nbf_over_60_ahead,
    ),
    Module(76, "par-test-array-as-audience-fails", array_audience),
    Module(77, "par-test-par-endpoint-url-as-audience-fails", par_url_audience),
    Module(78, "par-test-token-endpoint-url-as-audience-fails", token_url_audience),
]
