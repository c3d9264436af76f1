"""An example TPP: the FAPI 2.0 code flow as a fintech's web app does it.

private_key_jwt, PAR, PKCE (S256), DPoP, JARM, then token, a protected resource
(/userinfo), refresh and revocation. It knows the server only through its discovery
document; copy it and change the settings below.

    python examples/tpp/app.py      # then open http://127.0.0.1:5001/

Settings (environment): TPP_ISSUER (http://127.0.0.1:5000), TPP_CLIENT_ID (demo-tpp),
TPP_KEY_FILE (instance/demo-client-private.jwk.json, written by `authserver demo`),
TPP_PORT (5001). The demo key is test-only: a real TPP keeps its key in an HSM or KMS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from flask import Flask
from flask import abort
from flask import redirect
from flask import render_template_string
from flask import request
from flask import session
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import import_key

ISSUER = os.environ.get("TPP_ISSUER", "http://127.0.0.1:5000")
CLIENT_ID = os.environ.get("TPP_CLIENT_ID", "demo-tpp")
KEY_FILE = os.environ.get("TPP_KEY_FILE", "instance/demo-client-private.jwk.json")
PORT = int(os.environ.get("TPP_PORT", "5001"))
REDIRECT_URI = f"http://127.0.0.1:{PORT}/callback"
SCOPE = "openid accounts:read"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
# The server also runs on 127.0.0.1, and cookies ignore ports: use our own cookie name.
app.config["SESSION_COOKIE_NAME"] = "tpp_session"
PENDING: dict[str, dict[str, Any]] = {}  # state -> what the callback needs (server-side)


def client_key() -> Any:
    data = json.loads(Path(KEY_FILE).read_text())
    data.pop("test_only", None)
    return import_key(data)


def http(method: str, url: str, form: dict[str, str] | None = None, **headers: str) -> Any:
    """One HTTP call; returns (status, headers, JSON body or None). 4xx/5xx are answers too."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, raw = error.code, error.headers, error.read()
    return status, got, json.loads(raw) if raw.strip() else None


def discovery() -> dict[str, Any]:
    return http("GET", f"{ISSUER}/.well-known/openid-configuration")[2]


def server_keys(meta: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(http("GET", meta["jwks_uri"])[2])


def client_auth() -> dict[str, str]:
    """private_key_jwt: a short-lived assertion whose audience is the issuer."""
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": ISSUER, "jti": secrets.token_urlsafe(16),
              "iat": now, "exp": now + 60}  # fmt: skip
    key = client_key()
    alg = key.alg or "ES256"
    return {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt.encode({"alg": alg, "kid": key.kid}, claims, key, [alg]),
    }


def dpop_proof(key: ECKey, method: str, url: str, token: str | None, nonce: str | None) -> str:
    """RFC 9449 proof: signed by the session's DPoP key, bound to method, URL (and token)."""
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url,
                              "iat": int(time.time())}  # fmt: skip
    if token:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, claims, key, ["ES256"])


def with_dpop(key: ECKey, method: str, url: str, form: Any = None, token: str = "") -> Any:
    """Send with a DPoP proof; if the server asks for a nonce, retry once with it."""
    nonce = None
    for _ in range(2):
        headers = {"DPoP": dpop_proof(key, method, url, token or None, nonce)}
        if token:
            headers["Authorization"] = f"DPoP {token}"
        status, got, body = http(method, url, form, **headers)
        nonce = got.get("DPoP-Nonce")
        if not (nonce and status in (400, 401)):
            break
    return status, body


@app.get("/")
def start_page() -> str:
    return render_template_string(PAGE, title="Example TPP", intro=START)


@app.get("/start")
def start() -> Any:
    """PAR: push the authorization request (PKCE, dpop_jkt, JARM) and send the user on."""
    meta, dpop_key = discovery(), ECKey.generate_key("P-256", private=True)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    form = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
            "scope": SCOPE, "state": state, "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
            "response_mode": "jwt", "dpop_jkt": dpop_key.thumbprint(), **client_auth()}  # fmt: skip
    status, _, body = http("POST", meta["pushed_authorization_request_endpoint"], form)
    if status != 201:
        return render_template_string(PAGE, title="PAR failed", sections={"Error": body}), 502
    PENDING[state] = {"verifier": verifier, "dpop_key": dpop_key}
    session["state"] = state
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "request_uri": body["request_uri"]})
    return redirect(f"{meta['authorization_endpoint']}?{query}")


@app.get("/callback")
def callback() -> Any:
    """JARM: verify the signed response (issuer's key, iss, aud, state), then use the code."""
    meta = discovery()
    algs = meta["authorization_signing_alg_values_supported"]
    claims = jwt.decode(request.args.get("response", ""), server_keys(meta), algs).claims
    expected = {"iss": {"essential": True, "value": ISSUER}, "aud": {"value": CLIENT_ID}}
    jwt.JWTClaimsRegistry(**expected).validate(claims)
    state = claims.get("state")
    if state != session.pop("state", None) or state not in PENDING:
        abort(400, "state does not match this browser's request")
    if "code" not in claims:  # the user denied, or the server refused
        return render_template_string(PAGE, title="Not authorized", sections={"Answer": claims})
    pending = PENDING.pop(state)
    return result_page(meta, claims["code"], pending["verifier"], pending["dpop_key"])


def result_page(meta: dict[str, Any], code: str, verifier: str, key: ECKey) -> str:
    """Token (DPoP-bound), the protected resource, one refresh, then revocation."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier, **client_auth()}  # fmt: skip
    status, tokens = with_dpop(key, "POST", meta["token_endpoint"], form)
    if status != 200:
        return render_template_string(PAGE, title="Token refused", sections={"Error": tokens})
    keys = server_keys(meta)
    algs = ["RS256", "PS256", "ES256"]
    access = jwt.decode(tokens["access_token"], keys, algorithms=algs).claims
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=algs).claims
    _, resource = with_dpop(key, "GET", meta["userinfo_endpoint"], token=tokens["access_token"])
    # A refresh token is used exactly once: the answer carries its successor.
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            **client_auth()}  # fmt: skip
    _, refreshed = with_dpop(key, "POST", meta["token_endpoint"], form)
    revoke = {"token": refreshed["refresh_token"], "token_type_hint": "refresh_token",
              **client_auth()}  # fmt: skip
    revoked, _, _ = http("POST", meta["revocation_endpoint"], revoke)
    sections = {
        "Resource response (GET /userinfo with DPoP)": resource,
        "ID token (decoded, signature verified)": id_token,
        "Access token (decoded, signature verified)": access,
        "Refresh": {"token_type": refreshed["token_type"], "expires_in": refreshed["expires_in"]},
        "Revocation of the new refresh token": {"status": revoked},
    }
    return render_template_string(PAGE, title="Connected", sections=sections)


PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{{ title }}</title>
<body style="font-family: sans-serif; max-width: 50rem; margin: 2rem auto">
<h1>{{ title }}</h1>{{ intro | safe if intro }}
{% for name, value in (sections or {}).items() %}<h2>{{ name }}</h2>
<pre id="section-{{ loop.index }}">{{ value | tojson(indent=2) }}</pre>{% endfor %}
</body></html>"""
START = """<p>An example fintech. It will read your accounts at the bank through
FAPI 2.0.</p><p><a id="connect" href="/start">Connect your bank</a></p>"""

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=PORT)
