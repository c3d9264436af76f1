"""The user's side of the code flow over any ``Transport``: a scripted browser that logs in
and consents, and the client reading what reached its redirect_uri (plain + ``iss``, or JARM).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from joserfc import jwt
from joserfc.jwk import KeySet

from tppkit.client import Tpp
from tppkit.transport import HttpResponse
from tppkit.transport import Transport


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
        one_time_code: Callable[[], str] | None = None,
    ) -> HttpResponse:
        """Returns the response that leaves the server towards the client (303 or form_post).

        ``one_time_code`` answers the TOTP page (``tppkit.totp.TotpCodes``) for a user with a
        second factor; without it the walk stops at that page and returns it.

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
            if page.status == 303:
                # A page may send the browser on (consent to the client with an error, a
                # stale step back to the login): follow it like a person's browser does.
                response = page
                continue
            if url.endswith("/login"):
                form = {
                    "csrf_token": csrf_token(page.text),
                    "username": username,
                    "password": password,
                    "submit": "Sign in",
                }
            elif url.endswith("/login/otp") and one_time_code is not None:
                form = {
                    "csrf_token": csrf_token(page.text),
                    "code": one_time_code(),
                    "submit": "Verify",
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
