"""Successful-flow modules: happy flow (plain and JARM), user rejection, state/nonce/scope
variants, the optional claims parameter, and Authorization-scheme case."""

from __future__ import annotations

import json
import secrets

from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from conformance.checks import check_userinfo
from conformance.checks import fail
from conformance.config import FAPI_ALGS
from conformance.context import Context
from conformance.flow import Flow
from conformance.modules.common import accepted_or_rejected
from conformance.runner import Module


def happy_flow(ctx: Context) -> str:
    flows = [Flow(ctx, tpp) for tpp in ctx.tpps]
    issued = [flow.happy() for flow in flows]
    used = f"{flows[0].token_type} token works at /userinfo"
    note = f"2 clients: PAR, login, consent, iss, token, ID token, {used}"
    return note + access_token_alg_warning(issued[0].body["access_token"])


def access_token_alg_warning(access_token: str) -> str:
    """FAPI 2.0 SP §5.4.1 limits every JWT to PS256/ES256/EdDSA; the suite cannot see inside
    an access token, so a JWT one signed otherwise is only a warning here."""
    try:
        alg = extract_compact(access_token.encode()).headers().get("alg")
    except (JoseError, ValueError):
        return ""  # opaque: nothing to say
    return "" if alg in FAPI_ALGS else f"; WARNING: access-token JWT signed {alg} (FAPI §5.4.1)"


def happy_flow_jarm(ctx: Context) -> str:
    """JARM (response_mode=jwt) for both clients; the request-object client also signs."""
    Flow(ctx, ctx.signing_tpp(), signed=True, jarm=True).happy()
    Flow(ctx, ctx.tpps[1], jarm=True).happy()
    return "JARM verified strictly (only response=, kid from /jwks, iss, aud, exp ≤ 10 min)"


def _user_rejects(ctx: Context, *, jarm: bool) -> str:
    flow = Flow(ctx, ctx.tpps[0], jarm=jarm)
    params, _ = flow.params()
    response = flow.authorize(flow.push_ok(flow.par_form(params)), approve=False)
    callback = flow.callback(response, params)
    if callback.get("error") != "access_denied":
        raise fail(f"after Deny: {sorted(callback)}, wanted error=access_denied")
    return "access_denied with iss and state" + (" inside JARM" if jarm else "")


def user_rejects(ctx: Context) -> str:
    return _user_rejects(ctx, jarm=False)


def user_rejects_jarm(ctx: Context) -> str:
    return _user_rejects(ctx, jarm=True)


def without_state(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    flow.check_resource(flow.issue(flow.authorized(state=None)))
    return "succeeded; no state returned"


def without_nonce(ctx: Context) -> str:
    Flow(ctx, ctx.tpps[0]).happy(nonce=None)
    return "succeeded; no nonce in the ID token"


def nonce_64(ctx: Context) -> str:
    Flow(ctx, ctx.tpps[0]).happy(nonce=secrets.token_urlsafe(48))
    return "64-character nonce returned intact"


def other_scope_order(ctx: Context) -> str:
    tpp = ctx.tpps[0]
    scope = " ".join(reversed(tpp.scope.split()))
    Flow(ctx, tpp).happy(scope=scope)
    return f"scope {scope!r} succeeded"


ACR_SCA = "urn:openbanking:psd2:sca"


def essential_acr_sca(ctx: Context) -> str:
    """An essential ``acr`` of SCA: the ID token must say it, or the client must hear
    ``unmet_authentication_requirements`` (RFC 9470) when the user has no second factor."""
    claims = json.dumps({"id_token": {"acr": {"essential": True, "value": ACR_SCA}}})
    flow = Flow(ctx, ctx.tpps[0])
    if ctx.config.totp_secret is None:
        params, _ = flow.params(claims=claims)
        callback = flow.callback(flow.authorize(flow.push_ok(flow.par_form(params))), params)
        if callback.get("error") != "unmet_authentication_requirements":
            raise fail(
                f"password-only user: {sorted(callback)}, wanted unmet_authentication_requirements"
            )
        return (
            "password-only user: unmet_authentication_requirements (configure totp_secret for SCA)"
        )
    issued = flow.happy(claims=claims)
    if issued.id_claims.get("acr") != ACR_SCA:
        raise fail(f"ID token acr {issued.id_claims.get('acr')!r}, wanted {ACR_SCA}")
    return f"password + one-time code: acr {ACR_SCA}, amr {issued.id_claims.get('amr')}"


def claims_parameter(ctx: Context) -> str:
    claims = {"id_token": {"unknown_claim_xyz": None}, "userinfo": {"name": {"essential": False}}}
    Flow(ctx, ctx.tpps[0]).happy(claims=json.dumps(claims))
    return "claims parameter with unknown claims accepted and ignored"


def scheme_case(ctx: Context) -> str:
    """RFC 9110 §11.1: the auth-scheme is case-insensitive (DPoP variants for DPoP tokens)."""
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    schemes = ("DPoP", "dpop", "DPOP") if ctx.dpop else ("bearer", "BEARER", "BeArEr")
    for scheme in schemes:
        response = flow.userinfo(issued.body["access_token"], scheme=scheme)
        try:
            check_userinfo(response, str(issued.id_claims["sub"]))
        except AssertionError as failed:
            raise fail(f"Authorization: {scheme} …: {failed}") from None
    return f"{' / '.join(schemes)} scheme accepted at /userinfo"


def _long_value(ctx: Context, name: str, length: int) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    value = secrets.token_urlsafe(length)[:length]
    params, verifier = flow.params(**{name: value})
    note, _ = accepted_or_rejected(flow, params, verifier, flow.par_form(params))
    return f"{length}-character {name}: {note}" + (" intact" if note == "accepted" else "")


def long_nonce(ctx: Context) -> str:
    return _long_value(ctx, "nonce", 384)


def long_state(ctx: Context) -> str:
    return _long_value(ctx, "state", 1200)


def only_client_id_and_request_uri(ctx: Context) -> str:
    Flow(ctx, ctx.tpps[0], duplicates=False).happy()
    return "authorization endpoint given only client_id + request_uri succeeded"


MODULES = [
    Module(2, "happy-flow", happy_flow),
    Module(2, "happy-flow[jarm]", happy_flow_jarm),
    Module(3, "user-rejects-authentication", user_rejects),
    Module(3, "user-rejects-authentication[jarm]", user_rejects_jarm),
    Module(5, "ensure-authorization-request-without-state-success", without_state),
    Module(6, "ensure-authorization-request-without-nonce-success", without_nonce),
    Module(7, "ensure-authorization-request-with-64-char-nonce-success", nonce_64),
    Module(8, "ensure-other-scope-order-succeeds", other_scope_order),
    Module(9, "test-claims-parameter-identity-claims", claims_parameter),
    Module(59, "test-essential-acr-sca-claim", essential_acr_sca),
    Module(10, "access-token-type-header-case-sensitivity", scheme_case),
    Module(22, "ensure-authorization-request-with-long-nonce", long_nonce),
    Module(23, "ensure-authorization-request-with-long-state", long_state),
    Module(75, "par-without-duplicate-parameters", only_client_id_and_request_uri),
]
