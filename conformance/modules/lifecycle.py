"""Local token-lifecycle modules (not OIDF modules), numbered after #79: RFC 7009 revocation
as the resource server (#80) and the token endpoint (#81) see it, RFC 7662 introspection by
a resource server (#82), and the RFC 9701 signed introspection response checked as a strict
client would (#83).

/revoke and /introspect authenticate the caller with private_key_jwt (``aud`` the issuer)
like the token endpoint, and carry no DPoP proof: RFC 9449 defines none for them. A
revocation may take up to ``REVOCATION_WAIT`` seconds to reach the resource server, so
what should be refused after one is polled for that long. #82 and #83 need the configured
``resource_server`` and are skipped without it.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from joserfc.jwk import KeySet

from conformance.checks import CLOCK_SLACK
from conformance.checks import check_audience
from conformance.checks import check_json_type
from conformance.checks import check_no_store
from conformance.checks import expect_error
from conformance.checks import fail
from conformance.checks import header
from conformance.checks import json_body
from conformance.checks import verify_signed
from conformance.context import Context
from conformance.context import Skip
from conformance.dpop import header_values
from conformance.dpop import thumbprint
from conformance.flow import Flow
from conformance.flow import Issued
from conformance.runner import Module
from tppkit import HttpResponse
from tppkit import Tpp

T = TypeVar("T")
REVOCATION = "revocation_endpoint"
INTROSPECTION = "introspection_endpoint"
JWT_MEDIA_TYPE = "application/token-introspection+jwt"
JWT_TYPE = "token-introspection+jwt"
REVOCATION_WAIT = 2.0
POLL_SECONDS = 0.1
IAT_WINDOW = 60
INACTIVE: dict[str, Any] = {"active": False}
ACTIVE_FIELDS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type")
_CHALLENGE_ERROR = re.compile(r'error="([^"]*)"')


def endpoint(ctx: Context, name: str) -> str:
    url = ctx.metadata().get(name)
    if not isinstance(url, str) or not url:
        raise Skip(f"discovery lists no {name}")
    return url


def resource_server(ctx: Context) -> Tpp:
    rs = ctx.config.resource_server
    if rs is None:
        raise Skip("no resource_server configured (a client made with --resource-server)")
    return Tpp(rs.client_id, rs.key, rs.alg, ctx.issuer, "")


def unknown_token() -> str:
    return "conformance-unknown-" + secrets.token_urlsafe(24)


def eventually(probe: Callable[[], T], done: Callable[[T], bool]) -> tuple[T, float]:
    """``probe()`` until ``done`` or REVOCATION_WAIT has passed; the last result and its time."""
    start = time.monotonic()
    while True:
        result = probe()
        elapsed = time.monotonic() - start
        if done(result) or elapsed >= REVOCATION_WAIT:
            return result, elapsed
        time.sleep(POLL_SECONDS)


# --- RFC 7009 ------------------------------------------------------------------------------


def revoke(
    ctx: Context, tpp: Tpp, token: str, hint: str | None = None, *, auth: bool = True
) -> HttpResponse:
    form = {"token": token, **({"token_type_hint": hint} if hint else {})}
    form.update(tpp.auth_form() if auth else {"client_id": tpp.client_id})
    return ctx.transport().request("POST", endpoint(ctx, REVOCATION), form=form)


def check_revoked(response: HttpResponse, what: str) -> None:
    """RFC 7009 §2.2: 200 whether the token was known, foreign or revoked just now."""
    if response.status != 200:
        raise fail(
            f"revocation of {what}: HTTP {response.status} {response.text[:160]!r}, "
            "wanted 200 (RFC 7009 §2.2)"
        )


def resource_error(response: HttpResponse) -> str | None:
    """The error code of a resource server's WWW-Authenticate challenge (RFC 6750 §3)."""
    match = _CHALLENGE_ERROR.search(" ".join(header_values(response, "WWW-Authenticate")))
    return match.group(1) if match else None


def refused_at_userinfo(flow: Flow, token: str, what: str) -> float:
    """401 invalid_token at /userinfo within REVOCATION_WAIT; returns how long it took."""
    response, took = eventually(lambda: flow.userinfo(token), lambda r: r.status != 200)
    error = resource_error(response)
    if response.status != 401 or error != "invalid_token":
        raise fail(
            f"{what} at /userinfo {took:.1f} s after its revocation: HTTP {response.status} "
            f"error {error!r}, wanted 401 invalid_token (RFC 7009 §2, RFC 6750 §3.1)"
        )
    return took


def still_works(flow: Flow, token: str, after: str) -> None:
    """Still accepted at /userinfo throughout REVOCATION_WAIT (a revocation takes effect
    asynchronously, so one immediate request would prove little)."""
    response, took = eventually(lambda: flow.userinfo(token), lambda r: r.status != 200)
    if response.status != 200:
        raise fail(
            f"access token refused at /userinfo (HTTP {response.status} "
            f"{resource_error(response)!r}) {took:.1f} s after {after}, which must revoke nothing"
        )


def access_token_revocation(ctx: Context) -> str:
    endpoint(ctx, REVOCATION)
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    token = issued.body["access_token"]
    anonymous = revoke(ctx, flow.tpp, token, "access_token", auth=False)
    notes = ["no client auth: " + expect_error(anonymous, "invalid_client", what="revocation")]
    check_revoked(revoke(ctx, ctx.tpps[1], token, "access_token"), "another client's token")
    still_works(flow, token, "unauthenticated and other clients' revocations (RFC 7009 §2.1)")
    notes.append("another client's try: 200, token still works")
    check_revoked(revoke(ctx, flow.tpp, token, "access_token"), "the client's access token")
    took = refused_at_userinfo(flow, token, "revoked access token")
    notes.append(f"revoked: 200, then /userinfo 401 invalid_token after {took:.1f} s")
    check_revoked(revoke(ctx, flow.tpp, unknown_token()), "an unknown token")
    notes.append("unknown token: 200")
    return "; ".join(notes) + "; local check, not an OIDF module"


def refresh(flow: Flow, token: str) -> HttpResponse:
    form = {"grant_type": "refresh_token", "refresh_token": token, "scope": flow.tpp.scope}
    return flow.token(form)


def refresh_token_revocation(ctx: Context) -> str:
    endpoint(ctx, REVOCATION)
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    original = issued.body.get("refresh_token")
    if not isinstance(original, str):
        raise Skip("the server issued no refresh_token")
    check_revoked(revoke(ctx, ctx.tpps[1], original, "refresh_token"), "another client's token")
    refreshed = refresh(flow, original)
    if refreshed.status != 200:
        raise fail(
            f"refresh after another client's revocation attempt: HTTP {refreshed.status} "
            f"{refreshed.text[:120]!r}; that attempt must revoke nothing (RFC 7009 §2.1)"
        )
    body = flow.check_token(refreshed)
    current = str(body.get("refresh_token", original))
    check_revoked(revoke(ctx, flow.tpp, current, "refresh_token"), "the client's refresh token")
    refused = expect_error(refresh(flow, current), "invalid_grant", what="refresh")
    notes = ["another client's try: 200, refresh still works", f"revoked: 200, then {refused}"]
    if current != original:
        expect_error(refresh(flow, original), "invalid_grant", what="refresh (rotated-out token)")
        notes.append("its rotated-out predecessor too")
    took = [
        refused_at_userinfo(flow, response["access_token"], f"the {label} grant's access token")
        for label, response in (("code", issued.body), ("refresh", body))
    ]
    notes.append("both access tokens 401 invalid_token (after {:.1f}/{:.1f} s)".format(*took))
    if ctx.metadata().get(INTROSPECTION):
        own = introspected(ctx, introspect(ctx, flow.tpp, current), flow.tpp)
        check_inactive(own, "the client introspecting its revoked refresh token")
        notes.append("introspected by its client: {active: false}")
    return "; ".join(notes) + "; local check, not an OIDF module"


# --- RFC 7662 and RFC 9701 ---------------------------------------------------------------


def introspect(
    ctx: Context, caller: Tpp, token: str, *, accept: str = "application/json", auth: bool = True
) -> HttpResponse:
    form = {"token": token, **(caller.auth_form() if auth else {"client_id": caller.client_id})}
    url = endpoint(ctx, INTROSPECTION)
    return ctx.transport().request("POST", url, form=form, headers={"Accept": accept})


def jwks_uri_keys(ctx: Context) -> KeySet:
    """The server's keys as a client finds them: from the jwks_uri that discovery names."""
    url = ctx.metadata().get("jwks_uri")
    if not isinstance(url, str) or not url:
        raise fail("discovery lists no jwks_uri to verify the introspection JWT with")
    response = ctx.transport().request("GET", url)
    if response.status != 200:
        raise fail(f"GET jwks_uri: HTTP {response.status}")
    jwks: Any = json_body(response)
    return KeySet.import_key_set(jwks)


def check_signed_response(
    ctx: Context, response: HttpResponse, caller: Tpp
) -> tuple[str, dict[str, Any]]:
    """RFC 9701 §5 as a strict client checks it; returns the alg and ``token_introspection``."""
    what = "introspection JWT"
    media_type = header(response, "Content-Type").split(";")[0].strip().lower()
    if media_type != JWT_MEDIA_TYPE:
        raise fail(f"{what}: Content-Type {media_type!r}, wanted {JWT_MEDIA_TYPE} (RFC 9701 §5)")
    jose_header, claims = verify_signed(response.text.strip(), jwks_uri_keys(ctx), what)
    if jose_header.get("typ") != JWT_TYPE:
        raise fail(f"{what}: typ {jose_header.get('typ')!r}, wanted {JWT_TYPE} (RFC 9701 §5)")
    offered = ctx.metadata().get("introspection_signing_alg_values_supported")
    if isinstance(offered, list) and jose_header["alg"] not in offered:
        raise fail(f"{what}: alg {jose_header['alg']} not in {offered} (discovery)")
    if claims.get("iss") != ctx.issuer:
        raise fail(f"{what}: iss {claims.get('iss')!r}, wanted {ctx.issuer!r}")
    check_audience(claims.get("aud"), caller.client_id, what)
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int) or abs(iat - time.time()) > IAT_WINDOW:
        raise fail(f"{what}: iat {iat!r} missing or more than {IAT_WINDOW} s from now")
    # RFC 9701 §5/§8.1: it must never pass for an access token.
    present = [name for name in ("sub", "exp") if name in claims]
    if present:
        raise fail(f"{what}: top-level {', '.join(present)} (RFC 9701 §5 forbids them)")
    inner = claims.get("token_introspection")
    if not isinstance(inner, dict) or not isinstance(inner.get("active"), bool):
        raise fail(f"{what}: token_introspection {inner!r} is no RFC 7662 object")
    return str(jose_header["alg"]), inner


def introspected(ctx: Context, response: HttpResponse, caller: Tpp) -> dict[str, Any]:
    """The RFC 7662 object of a 200 answer: JSON, or the RFC 9701 JWT a client registered
    with introspection_signed_response_alg always gets (checked strictly)."""
    if response.status != 200:
        raise fail(f"introspection: HTTP {response.status} {response.text[:160]!r}, wanted 200")
    check_no_store(response, "introspection")
    if header(response, "Content-Type").lower().startswith(JWT_MEDIA_TYPE):
        return check_signed_response(ctx, response, caller)[1]
    check_json_type(response, "introspection")
    return json_body(response)


def check_inactive(body: dict[str, Any], what: str) -> None:
    if body != INACTIVE:
        shown = sorted(body) if body.get("active") is False else body.get("active")
        raise fail(f"{what}: got {shown!r}, wanted exactly {{'active': false}} (RFC 7662 §2.2)")


def check_active(ctx: Context, body: dict[str, Any], flow: Flow, issued: Issued) -> None:
    """An active access token described with what RFC 7662 §2.2 and RFC 9449 §6.2 name."""
    what = "introspection of an active access token"
    if body.get("active") is not True:
        raise fail(f"{what}: active {body.get('active')!r}, wanted true")
    missing = [name for name in ACTIVE_FIELDS if name not in body]
    if missing:
        raise fail(f"{what}: lacks {', '.join(missing)}")
    wanted = {
        "client_id": flow.tpp.client_id,
        "iss": ctx.issuer,
        "sub": issued.id_claims.get("sub", body["sub"]),
    }
    for name, value in wanted.items():
        if body[name] != value:
            raise fail(f"{what}: {name} {body[name]!r}, wanted {value!r}")
    granted = str(issued.body.get("scope", flow.tpp.scope)).split()
    if sorted(str(body["scope"]).split()) != sorted(granted):
        raise fail(f"{what}: scope {body['scope']!r}, wanted the granted {' '.join(granted)!r}")
    exp, iat, now = body["exp"], body["iat"], time.time()
    if not isinstance(exp, int) or not isinstance(iat, int) or not iat - CLOCK_SLACK < now < exp:
        raise fail(f"{what}: iat {iat!r} / exp {exp!r} do not bracket now")
    if not body["aud"] or not isinstance(body["jti"], str) or not body["jti"]:
        raise fail(f"{what}: empty aud or jti")
    cnf = body.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if str(body["token_type"]).lower() != flow.token_type.lower():
        raise fail(f"{what}: token_type {body['token_type']!r}, wanted {flow.token_type}")
    if flow.dpop_key is not None and jkt != thumbprint(flow.dpop_key):
        raise fail(f"{what}: cnf {cnf!r}, wanted jkt of the DPoP key (RFC 9449 §6.2)")
    if flow.dpop_key is None and jkt is not None:
        raise fail(f"{what}: cnf.jkt on a token issued without DPoP")


def introspection(ctx: Context) -> str:
    rs = resource_server(ctx)
    endpoint(ctx, INTROSPECTION)
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    token = issued.body["access_token"]
    anonymous = introspect(ctx, rs, token, auth=False)
    notes = ["no client auth: " + expect_error(anonymous, "invalid_client", what="introspection")]
    check_active(ctx, introspected(ctx, introspect(ctx, rs, token), rs), flow, issued)
    notes.append(f"resource server: active, all RFC 7662 fields, token_type {flow.token_type}")
    other = ctx.tpps[1]
    foreign = introspected(ctx, introspect(ctx, other, token), other)
    check_inactive(foreign, "another client introspecting the token")
    inactive = ["another client"]
    refresh_token = issued.body.get("refresh_token")
    if isinstance(refresh_token, str):
        check_inactive(
            introspected(ctx, introspect(ctx, rs, refresh_token), rs),
            "the resource server introspecting a client's refresh token",
        )
        inactive.append("the refresh token to the resource server")
    unknown = introspected(ctx, introspect(ctx, rs, unknown_token()), rs)
    check_inactive(unknown, "an unknown token")
    inactive.append("an unknown token")
    notes.append("exactly {active: false} for " + ", ".join(inactive))
    if not ctx.metadata().get(REVOCATION):
        notes.append("revoked-token case skipped (no revocation_endpoint)")
        return "; ".join(notes) + "; local check, not an OIDF module"
    check_revoked(revoke(ctx, flow.tpp, token, "access_token"), "the client's access token")
    body, took = eventually(
        lambda: introspected(ctx, introspect(ctx, rs, token), rs),
        lambda b: b.get("active") is not True,
    )
    check_inactive(body, f"the revoked token, {took:.1f} s after its revocation")
    notes.append(f"and for the revoked token (after {took:.1f} s)")
    return "; ".join(notes) + "; local check, not an OIDF module"


def signed_introspection(ctx: Context) -> str:
    rs = resource_server(ctx)
    endpoint(ctx, INTROSPECTION)
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    response = introspect(ctx, rs, issued.body["access_token"], accept=JWT_MEDIA_TYPE)
    if response.status != 200:
        raise fail(f"introspection JWT: HTTP {response.status} {response.text[:160]!r}")
    check_no_store(response, "introspection JWT")
    alg, inner = check_signed_response(ctx, response, rs)
    check_active(ctx, inner, flow, issued)
    unknown = introspect(ctx, rs, unknown_token(), accept=JWT_MEDIA_TYPE)
    if unknown.status != 200:
        raise fail(f"introspection JWT of an unknown token: HTTP {unknown.status}")
    check_inactive(check_signed_response(ctx, unknown, rs)[1], "introspection JWT, unknown token")
    return (
        f"{JWT_TYPE} signed {alg} by a jwks_uri key; iss, aud, fresh iat, no sub/exp; "
        "active token described, unknown one {active: false}; local check, not an OIDF module"
    )


MODULES = [
    Module(80, "revoked-access-token-refused-at-resource", access_token_revocation),
    Module(81, "revoked-refresh-token-refused", refresh_token_revocation),
    Module(82, "introspection-by-resource-server", introspection),
    Module(83, "introspection-signed-jwt-response", signed_introspection),
]
