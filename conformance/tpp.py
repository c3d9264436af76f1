"""A TPP (client) toolkit: keys, private_key_jwt assertions, request objects, PKCE, and a
scripted browser that logs in and consents — over any HTTP transport.

The conformance runner drives a live server through ``UrllibTransport``; the test
suite drives the Flask test client through the same ``Transport`` protocol.
TEST-ONLY keys: everything generated here is for tests and conformance runs.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

from joserfc import jwk
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PrivateKey = jwk.ECKey | jwk.RSAKey | jwk.OKPKey


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", self.headers.get("location", ""))


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        """One request, never following redirects; cookies are kept between calls."""
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """Real HTTP to a live server (loopback only in this project's runs)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self._timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(req, timeout=self._timeout) as resp:
                return HttpResponse(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return HttpResponse(err.code, dict(err.headers), err.read())


def generate_key(alg: str = "ES256") -> PrivateKey:
    """A TEST-ONLY signing key with its RFC 7638 thumbprint as kid."""
    key: PrivateKey
    if alg == "ES256":
        key = jwk.ECKey.generate_key("P-256", private=True)
    elif alg == "EdDSA":
        key = jwk.OKPKey.generate_key("Ed25519", private=True)
    else:
        key = jwk.RSAKey.generate_key(2048, private=True)
    return jwk.import_key(  # type: ignore[return-value]
        key.as_dict(private=True), parameters={"kid": key.thumbprint(), "alg": alg, "use": "sig"}
    )


def public_jwks(*keys: PrivateKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def _dpop_alg(key: PrivateKey) -> str:
    named = key.as_dict(private=False).get("alg")
    if isinstance(named, str):
        return named
    if isinstance(key, jwk.ECKey):
        return "ES256"
    return "EdDSA" if isinstance(key, jwk.OKPKey) else "PS256"


def dpop_proof(
    key: PrivateKey,
    method: str,
    url: str,
    *,
    access_token: str | None = None,
    nonce: str | None = None,
    **claim_overrides: Any,
) -> str:
    """A TEST-ONLY RFC 9449 DPoP proof for one request, signed by ``key``.

    Header: typ dpop+jwt, the key's alg and its public JWK. Claims: a fresh jti, htm,
    htu (``url`` without query and fragment), iat now; ath when ``access_token`` is
    given, nonce when ``nonce`` is. ``claim_overrides`` replace claims (None removes one).
    """
    alg = _dpop_alg(key)
    parts = urllib.parse.urlsplit(url)
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()),
    }
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(claim_overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    with warnings.catch_warnings():
        # FAPI 2.0 names EdDSA (Ed25519 here); joserfc warns that RFC 9864 deprecates it.
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        return jwt.encode(header, claims, key, algorithms=[alg])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_params(url: str) -> dict[str, str]:
    parts = urllib.parse.urlsplit(url)
    return dict(urllib.parse.parse_qsl(parts.query or parts.fragment, keep_blank_values=True))


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


@dataclass
class Tpp:
    """One registered client as the TPP sees itself."""

    client_id: str
    key: PrivateKey
    alg: str
    issuer: str
    redirect_uri: str
    scope: str = "openid accounts:read"
    base_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return (self.base_url or self.issuer) + path

    def assertion(
        self, *, alg: str | None = None, key: PrivateKey | None = None, **overrides: Any
    ) -> str:
        """A client assertion; ``overrides`` replace claims (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        header = {"alg": alg or self.alg, "kid": str(signer.kid)}
        return jwt.encode(header, claims, signer, algorithms=[header["alg"]])

    def auth_form(self, **overrides: Any) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**overrides),
        }

    def authorization_params(self, **overrides: Any) -> tuple[dict[str, str], str]:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update({k: v for k, v in overrides.items() if v is not None})
        for name in [k for k, v in overrides.items() if v is None]:
            params.pop(name, None)
        return params, verifier

    def request_object(
        self,
        params: dict[str, str],
        *,
        alg: str | None = None,
        key: PrivateKey | None = None,
        **overrides: Any,
    ) -> str:
        """A signed request object; ``overrides`` replace claims (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            **params,
            "iss": self.client_id,
            "aud": self.issuer,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        header = {"alg": alg or self.alg, "kid": str(signer.kid), "typ": "oauth-authz-req+jwt"}
        return jwt.encode(header, claims, signer, algorithms=[header["alg"]])


@dataclass
class Callback:
    """What reached the redirect_uri, with a JARM response already verified and unpacked."""

    params: dict[str, str]
    raw: HttpResponse


class Browser:
    """Scripted user: follows /authorize → /login → /consent like a person clicking."""

    def __init__(self, transport: Transport, base_url: str) -> None:
        self.transport = transport
        self.base_url = base_url

    def _absolute(self, location: str) -> str:
        return urllib.parse.urljoin(self.base_url + "/", location)

    def authorize(
        self,
        tpp: Tpp,
        request_uri: str,
        *,
        username: str,
        password: str,
        approve: bool = True,
        extra: dict[str, str] | None = None,
    ) -> HttpResponse:
        """Returns the response that leaves the server towards the client (303 or form_post).

        ``extra`` adds query parameters next to client_id and request_uri (the OIDF suite
        repeats response_type, scope and redirect_uri there, as OIDC Core §6.1 asks).
        """
        query = urllib.parse.urlencode(
            {"client_id": tpp.client_id, "request_uri": request_uri, **(extra or {})}
        )
        response = self.transport.request("GET", f"{self.base_url}/authorize?{query}")
        while response.status == 303 and not response.location.startswith(tpp.redirect_uri):
            url = self._absolute(response.location)
            page = self.transport.request("GET", url)
            if url.endswith("/login"):
                form = {
                    "csrf_token": csrf_token(page.text),
                    "username": username,
                    "password": password,
                    "submit": "Sign in",
                }
            elif url.endswith("/consent"):
                decision = {"approve": "Approve"} if approve else {"deny": "Deny"}
                form = {"csrf_token": csrf_token(page.text), **decision}
            else:
                return page
            response = self.transport.request("POST", url, form=form)
        return response


def server_keys(transport: Transport, base_url: str) -> KeySet:
    return KeySet.import_key_set(transport.request("GET", f"{base_url}/jwks").json())


def read_callback(response: HttpResponse, keys: KeySet, tpp: Tpp) -> Callback:
    """Unpack an authorization response: plain query (+iss) or JARM (verified)."""
    if response.status == 303:
        params = query_params(response.location)
    else:
        match = re.search(r'name="response" value="([^"]+)"', response.text)
        params = {"response": match.group(1)} if match else {}
    if "response" in params:
        token = jwt.decode(params["response"], keys, algorithms=["PS256", "ES256"])
        claims = dict(token.claims)
        if claims.get("iss") != tpp.issuer or claims.get("aud") != tpp.client_id:
            raise AssertionError(f"JARM iss/aud wrong: {claims}")
        params = {k: str(v) for k, v in claims.items() if k not in ("aud", "exp", "iat")}
    return Callback(params, response)
