"""Authorization responses as a TPP's redirect_uri receives them: plain (+ RFC 9207 iss) or JARM.

JARM is verified strictly: only ``response`` in the redirect query, a FAPI alg, a kid
found in the server's /jwks, iss = issuer, aud = client_id, exp at most 10 minutes out.
"""

from __future__ import annotations

import html
import re
import urllib.parse

from joserfc.jwk import KeySet

from conformance.checks import check_audience
from conformance.checks import check_entropy
from conformance.checks import check_time_claims
from conformance.checks import fail
from conformance.checks import header
from conformance.checks import verify_signed
from tppkit import HttpResponse
from tppkit import Tpp

JARM_MODES = ("jwt", "query.jwt")
JARM_MAX_LIFETIME = 600
_PAGE_ERROR = re.compile(r"Error: <code>([a-z_]+)</code>")
_PAGE_MESSAGE = re.compile(r"<p>([^<]+)</p>")


def verify_jarm(query: dict[str, str], tpp: Tpp, keys: KeySet) -> dict[str, str]:
    """The response parameters inside a strictly verified JARM JWT (iss kept, aud/exp/iat not)."""
    if set(query) != {"response"}:
        raise fail(f"JARM redirect must carry only response=, got {sorted(query)}")
    _, claims = verify_signed(query["response"], keys, "JARM response")
    if claims.get("iss") != tpp.issuer:
        raise fail(f"JARM iss {claims.get('iss')!r}, wanted {tpp.issuer!r}")
    check_audience(claims.get("aud"), tpp.client_id, "JARM response")
    check_time_claims(claims, "JARM response", max_lifetime=JARM_MAX_LIFETIME)
    return {k: str(v) for k, v in claims.items() if k not in ("aud", "exp", "iat")}


def describe(response: HttpResponse) -> str:
    """A short account of an unexpected answer: an error page's code and message, or the body."""
    shown = _PAGE_ERROR.search(response.text)
    message = _PAGE_MESSAGE.search(response.text)
    if shown:
        detail = f": {html.unescape(message.group(1))}" if message else ""
        return f"HTTP {response.status} error page {shown.group(1)}{detail}"
    if response.status in (301, 302, 303, 307, 308):
        return f"HTTP {response.status} to {response.location[:100]}"
    return f"HTTP {response.status} {response.text[:120]!r}"


def redirect_query(response: HttpResponse, tpp: Tpp) -> dict[str, str]:
    """The query of a 303 to the registered redirect_uri; nothing may ride in the fragment."""
    if response.status != 303:
        raise fail(f"authorization: {describe(response)}, wanted a 303 redirect to the client")
    location = response.location
    if not location.startswith(tpp.redirect_uri):
        raise fail(f"authorization redirect to {location[:80]!r}, not the redirect_uri")
    parts = urllib.parse.urlsplit(location)
    if parts.fragment:
        raise fail("authorization response parameters in the fragment")
    return dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def read_authorization_response(
    response: HttpResponse, tpp: Tpp, keys: KeySet, *, jarm: bool
) -> dict[str, str]:
    """Response parameters, after the iss (RFC 9207) or JARM checks; code entropy checked."""
    query = redirect_query(response, tpp)
    if jarm:
        params = verify_jarm(query, tpp, keys)
    else:
        if "response" in query:
            raise fail("a JARM response came back although plain query mode was requested")
        params = query
        if params.get("iss") != tpp.issuer:
            raise fail(f"authorization response iss {params.get('iss')!r}, wanted {tpp.issuer!r}")
    if "code" in params:
        check_entropy(params["code"], "authorization code")
    return params


def is_error_page(response: HttpResponse) -> bool:
    return response.status == 400 and header(response, "Content-Type").startswith("text/html")


def expect_front_channel_error(
    response: HttpResponse, tpp: Tpp, keys: KeySet, errors: tuple[str, ...], *, jarm: bool = False
) -> str:
    """An error page (HTTP 400 HTML) or a redirect to the client with one of ``errors``."""
    if is_error_page(response):
        # The suite accepts any error page (a screenshot); one that names a code must name
        # an accepted one, or the check passed for another reason than the one under test.
        shown = _PAGE_ERROR.search(response.text)
        if shown and shown.group(1) not in errors:
            raise fail(f"{describe(response)}; wanted {' / '.join(errors)}")
        return describe(response) if shown else "error page HTTP 400 (no code shown)"
    if response.status == 303 and response.location.startswith(tpp.redirect_uri):
        params = read_authorization_response(response, tpp, keys, jarm=jarm)
        if params.get("error") in errors:
            return f"redirect error={params['error']}"
        raise fail(
            f"authorization redirect with {sorted(params)}, wanted error {' / '.join(errors)}"
        )
    raise fail(
        f"authorization: {describe(response)}, "
        f"wanted an error page or a redirect with {' / '.join(errors)}"
    )
