"""One TPP's authorization-code flow against the live server, step by step.

Each step runs the embedded checks that apply to it (PAR 201, iss or JARM, code and
token entropy, token-response headers, ID token), so modules only add what they test.
"""

from __future__ import annotations

import urllib.parse
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
from conformance.tpp import Browser
from conformance.tpp import HttpResponse
from conformance.tpp import Tpp

Params = dict[str, str]
# What the OIDF suite repeats outside the request object (besides client_id): RFC 6749 §4.1.1
# and OIDC Core §6.1 make them part of a valid authorization request.
REPEATED = ("response_type", "scope", "redirect_uri")


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


class Flow:
    """One TPP and one user agent. Like the OIDF suite, the redirect to /authorize repeats
    response_type, scope and redirect_uri next to client_id and request_uri (OIDC Core
    §6.1), unless ``duplicates`` is False (#75); ``front`` adds more query parameters."""

    def __init__(
        self,
        ctx: Context,
        tpp: Tpp,
        *,
        signed: bool = False,
        jarm: bool = False,
        duplicates: bool | None = None,
    ):
        self.ctx = ctx
        self.tpp = tpp
        self.signed = signed
        self.jarm = jarm
        self.duplicates = ctx.duplicates if duplicates is None else duplicates
        self.sent: Params = {}
        self.front: Params = {}
        self.transport = ctx.transport()
        self.browser = Browser(self.transport, ctx.issuer)

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

    def push(self, form: dict[str, str]) -> HttpResponse:
        return self.transport.request("POST", self.ctx.url("/par"), form=form)

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
        self, form: dict[str, str], *, tpp: Tpp | None = None, auth: bool = True, **assertion: Any
    ) -> HttpResponse:
        """POST /token, authenticated as ``tpp`` (``assertion`` overrides claims) unless not."""
        client = tpp or self.tpp
        body = {**form, **(client.auth_form(**assertion) if auth else {})}
        return self.transport.request("POST", self.ctx.url("/token"), form=body)

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
        body = check_token_response(self.token(self.code_form(auth)))
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

    def userinfo(self, access_token: str, scheme: str = "Bearer") -> HttpResponse:
        headers = {"Authorization": f"{scheme} {access_token}"}
        return self.transport.request("GET", self.ctx.url("/userinfo"), headers=headers)

    def check_resource(self, issued: Issued) -> None:
        check_userinfo(self.userinfo(issued.body["access_token"]), str(issued.id_claims["sub"]))

    def happy(self, **overrides: str | None) -> Issued:
        """The whole flow: PAR, login, consent, token, and the token used at /userinfo."""
        issued = self.issue(self.authorized(**overrides))
        self.check_resource(issued)
        return issued
