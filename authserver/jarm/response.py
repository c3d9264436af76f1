"""Build the authorization response in the requested mode: query (+iss) or a signed JWT."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Response
from flask import redirect
from flask import render_template
from werkzeug.wrappers import Response as BaseResponse

from authserver.checks.redirect_uri import csp_source
from authserver.clients.models import Client
from authserver.fapi import FapiPolicy
from authserver.keys.service import KeyService

JWT_MODES = {
    "jwt": "query.jwt",
    "query.jwt": "query.jwt",
    "fragment.jwt": "fragment.jwt",
    "form_post.jwt": "form_post.jwt",
}


def _append(uri: str, params: dict[str, str], *, fragment: bool = False) -> str:
    parts = urlsplit(uri)
    encoded = urlencode(params)
    if fragment:
        return urlunsplit(parts._replace(fragment=encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


def sign_response(
    params: dict[str, str],
    client: Client,
    *,
    keys: KeyService,
    issuer: str,
    now: float,
    policy: FapiPolicy,
) -> str:
    """JARM §4.1: iss, aud = client_id, exp, iat plus the response parameters."""
    claims = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": int(now),
        "exp": int(now) + policy.jarm_ttl,
    }
    claims.update(params)
    alg = client.authorization_signed_response_alg or policy.jarm_default_alg
    return keys.sign(claims, alg)


def authorization_response(
    redirect_uri: str,
    response_mode: str,
    params: dict[str, str],
    client: Client,
    *,
    keys: KeyService,
    issuer: str,
    policy: FapiPolicy,
    now: float,
) -> BaseResponse:
    """Send ``params`` (code+state, or error) to the validated redirect_uri."""
    mode = JWT_MODES.get(response_mode)
    if mode is None:
        # RFC 9207 §2: iss in every response, success or error, byte-identical to metadata.
        target = _append(redirect_uri, {**params, "iss": issuer})
        return redirect(target, code=303)  # FAPI 2.0 SP 5.3.2.2-10: 303, never 307
    # JARM: the redirect carries only `response`; iss lives inside the JWT.
    token = sign_response(params, client, keys=keys, issuer=issuer, now=now, policy=policy)
    if mode == "form_post.jwt":
        nonce = secrets.token_urlsafe(16)
        html = render_template(
            "authorization/form_post.html", action=redirect_uri, response=token, nonce=nonce
        )
        page = Response(html, mimetype="text/html")
        page.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; "
            f"form-action {csp_source(redirect_uri)}; "
            "frame-ancestors 'none'"
        )
        return page
    target = _append(redirect_uri, {"response": token}, fragment=mode == "fragment.jwt")
    return redirect(target, code=303)
