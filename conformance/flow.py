"""One TPP's authorization-code flow against the live server, step by step.

Each step runs the embedded checks that apply to it (PAR 201, iss or JARM, code and
token entropy, token-response headers, ID token), so modules only add what they test.

With ``sender_constrain=dpop`` every token request and every resource call carries a
DPoP proof by the flow's key (``Authorization: DPoP`` at the resource), PAR one only when
asked (``par_proof``, the suite's code binding), each through the use_dpop_nonce retry.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.callback import JARM_MODES
from conformance.callback import read_authorization_response
from conformance.checks import check_id_token
from conformance.checks import check_par_created
from conformance.checks import check_token_response
from conformance.checks import check_userinfo
from conformance.checks import fail
from conformance.context import Context
from conformance.dpop import AS
from conformance.dpop import RS
from conformance.dpop import NonceMemory
from conformance.dpop import exchange
from tppkit import Browser
from tppkit import HttpResponse
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import Transport
from tppkit import dpop_proof

Params = dict[str, str]
# What the OIDF suite repeats outside the request object (besides client_id): RFC 6749 §4.1.1
# and OIDC Core §6.1 make them part of a valid authorization request.
REPEATED = ("response_type", "scope", "redirect_uri")
ProofClaims = Callable[[], dict[str, Any]]


@dataclass
class Authorized:
    """A completed front channel: what was asked, the PKCE verifier and what came back."""

    params: Params
    verifier: str
    callback: Params


@dataclass
class Issued:
    body: dict[str, Any]
    id_claims: dict[str, Any]


def without(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``values`` updated by ``overrides``, where a None override removes the entry."""
    merged = {**values, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def no_claims() -> dict[str, Any]:
    return {}


class Flow:
    """One TPP and one user agent. Like the OIDF suite, the redirect to /authorize repeats
    response_type, scope and redirect_uri next to client_id and request_uri (OIDC Core
    §6.1), unless ``duplicates`` is False (#75); ``front`` adds more query parameters.

    DPoP (when configured): proofs are signed by ``dpop_key`` (the TPP's own by default),
    ``proof_claims()`` overrides claims of every proof (#12-#14), ``par_proof`` adds one at
    PAR, ``nonces`` is where server nonces are kept (the run's, unless a module brings its
    own), and ``backchannel`` carries PAR, token and resource requests."""

    def __init__(
        self,
        ctx: Context,
        tpp: Tpp,
        *,
        signed: bool = False,
        jarm: bool = False,
        duplicates: bool | None = None,
        dpop_key: PrivateKey | None = None,
        par_proof: bool = False,
        proof_claims: ProofClaims = no_claims,
        nonces: NonceMemory | None = None,
        backchannel: Transport | None = None,
    ):
        self.ctx = ctx
        self.tpp = tpp
        self.signed = signed
        self.jarm = jarm
        self.duplicates = ctx.duplicates if duplicates is None else duplicates
        self.sent: Params = {}
        self.front: Params = {}
        self.transport = ctx.transport()
        self.backchannel: Transport = backchannel or self.transport
        self.browser = Browser(self.transport, ctx.issuer)
        self.dpop_key = (dpop_key or ctx.dpop_key(tpp)) if ctx.dpop else None
        self.par_proof = par_proof
        self.proof_claims = proof_claims
        self.nonces = nonces or ctx.nonces

    @property
    def token_type(self) -> str:
        return "DPoP" if self.dpop_key is not None else "Bearer"

    def with_proof(
        self,
        method: str,
        url: str,
        role: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        key: PrivateKey | None = None,
        access_token: str | None = None,
    ) -> HttpResponse:
        """One back-channel request with a fresh proof for it, through the nonce retry."""
        signer = key or self.dpop_key
        assert signer is not None, "DPoP is not configured"

        def request(nonce: str | None) -> HttpResponse:
            claims = self.proof_claims()
            proof = dpop_proof(
                signer, method, url, access_token=access_token, nonce=nonce, **claims
            )
            fields = {**(headers or {}), "DPoP": proof}
            return self.backchannel.request(method, url, form=form, headers=fields)

        what = f"{method} {urllib.parse.urlsplit(url).path}"
        return exchange(request, role, self.nonces, what)

    def params(self, **overrides: str | None) -> tuple[Params, str]:
        if self.jarm:
            overrides.setdefault("response_mode", "jwt")
        return self.tpp.authorization_params(**overrides)

    def par_form(
        self, params: Params, *, outer: Params | None = None, **claims: Any
    ) -> dict[str, str]:
        """PAR body: plain parameters, or a request object (``claims`` override its claims),
        plus ``outer`` parameters beside them."""
        self.sent = params
        form = dict(outer or {})
        if self.signed:
            form["client_id"] = self.tpp.client_id
            form["request"] = self.tpp.request_object(params, **claims)
        else:
            form.update(params)
        return {**form, **self.tpp.auth_form()}

    def push(
        self, form: dict[str, str], *, proof: bool | None = None, dpop_key: PrivateKey | None = None
    ) -> HttpResponse:
        """POST /par, with a DPoP proof (by ``dpop_key``) when ``proof`` or ``par_proof``."""
        url = self.ctx.url("/par")
        if self.dpop_key is not None and (self.par_proof if proof is None else proof):
            return self.with_proof("POST", url, AS, form=form, key=dpop_key)
        return self.backchannel.request("POST", url, form=form)

    def push_ok(self, form: dict[str, str]) -> str:
        request_uri, _ = check_par_created(self.push(form))
        return request_uri

    def front_params(self) -> Params:
        """Query parameters besides client_id and request_uri for the authorization endpoint."""
        repeated = {k: v for k, v in self.sent.items() if k in REPEATED} if self.duplicates else {}
        return {**repeated, **self.front}

    def authorize(
        self, request_uri: str, *, approve: bool = True, tpp: Tpp | None = None
    ) -> HttpResponse:
        """The browser's whole trip: /authorize, login, consent; the response to the client."""
        username, password = self.ctx.user
        return self.browser.authorize(
            tpp or self.tpp,
            request_uri,
            username=username,
            password=password,
            approve=approve,
            extra=self.front_params(),
            one_time_code=self.ctx.one_time_code,
        )

    def visit(self, request_uri: str) -> HttpResponse:
        """One GET of the authorization endpoint, not followed."""
        query = {"client_id": self.tpp.client_id, "request_uri": request_uri, **self.front_params()}
        url = self.ctx.url("/authorize?" + urllib.parse.urlencode(query))
        return self.transport.request("GET", url)

    def callback(self, response: HttpResponse, params: Params) -> Params:
        """The verified authorization response; ``state`` must come back exactly as sent."""
        jarm = params.get("response_mode") in JARM_MODES
        found = read_authorization_response(response, self.tpp, self.ctx.server_keys(), jarm=jarm)
        if found.get("state") != params.get("state"):
            sent = "no state" if "state" not in params else "the state sent"
            raise fail(f"authorization response state {found.get('state')!r}, wanted {sent}")
        return found

    def complete(self, params: Params, verifier: str, form: dict[str, str]) -> Authorized:
        """Push ``form``, log in, approve, and return the verified response with a code."""
        response = self.authorize(self.push_ok(form))
        found = self.callback(response, params)
        if "code" not in found:
            raise fail(
                f"authorization failed: {found.get('error')} {found.get('error_description')}"
            )
        return Authorized(params, verifier, found)

    def authorized(self, **overrides: str | None) -> Authorized:
        params, verifier = self.params(**overrides)
        return self.complete(params, verifier, self.par_form(params))

    def token(
        self,
        form: dict[str, str],
        *,
        tpp: Tpp | None = None,
        auth: bool = True,
        proof: bool = True,
        dpop_key: PrivateKey | None = None,
        **assertion: Any,
    ) -> HttpResponse:
        """POST /token, authenticated as ``tpp`` (``assertion`` overrides claims) unless not,
        with a DPoP proof (by ``dpop_key``, else the flow's key) unless ``proof`` is False."""
        client = tpp or self.tpp
        body = {**form, **(client.auth_form(**assertion) if auth else {})}
        url = self.ctx.url("/token")
        if self.dpop_key is not None and proof:
            return self.with_proof("POST", url, AS, form=body, key=dpop_key)
        return self.backchannel.request("POST", url, form=body)

    def check_token(self, response: HttpResponse) -> dict[str, Any]:
        return check_token_response(response, self.token_type)

    def code_form(self, auth: Authorized, **overrides: str | None) -> dict[str, str]:
        form = {
            "grant_type": "authorization_code",
            "code": auth.callback["code"],
            "redirect_uri": auth.params.get("redirect_uri", self.tpp.redirect_uri),
            "code_verifier": auth.verifier,
        }
        return without(form, overrides)

    def issue(self, auth: Authorized) -> Issued:
        """Redeem the code; token-response and ID-token checks included."""
        body = self.check_token(self.token(self.code_form(auth)))
        claims: dict[str, Any] = {}
        if "openid" in auth.params.get("scope", "").split():
            claims = check_id_token(
                body.get("id_token"),
                keys=self.ctx.server_keys(),
                tpp=self.tpp,
                access_token=body["access_token"],
                nonce=auth.params.get("nonce"),
            )
        return Issued(body, claims)

    def userinfo(
        self, access_token: str, scheme: str | None = None, *, dpop_key: PrivateKey | None = None
    ) -> HttpResponse:
        """GET /userinfo with ``Authorization: <scheme> <token>`` (DPoP, with a proof carrying
        ``ath``, when DPoP is configured; Bearer otherwise)."""
        scheme = scheme or self.token_type
        url = self.ctx.url("/userinfo")
        headers = {"Authorization": f"{scheme} {access_token}"}
        if self.dpop_key is not None and scheme.lower() == "dpop":
            return self.with_proof(
                "GET", url, RS, headers=headers, key=dpop_key, access_token=access_token
            )
        return self.backchannel.request("GET", url, headers=headers)

    def check_resource(self, issued: Issued) -> None:
        check_userinfo(self.userinfo(issued.body["access_token"]), str(issued.id_claims["sub"]))

    def happy(self, **overrides: str | None) -> Issued:
        """The whole flow: PAR, login, consent, token, and the token used at /userinfo."""
        issued = self.issue(self.authorized(**overrides))
        self.check_resource(issued)
        return issued
