"""hypothesis-generated bodies for the OAuth form endpoints: ``/par``, ``/token``,
``/revoke`` and ``/introspect``.

Each body is a list of (name, value) pairs (names repeat sometimes), mixing the parameters
the endpoint knows with random ones, and values that are valid (a fresh, correctly signed
client assertion, a real client id, the grant types), near-valid (JWT-shaped junk, JSON
claims and authorization details) or hostile (control characters, lone surrogates escaped,
huge strings). A fraction is sent as raw bytes under a random media type instead.
"""

from __future__ import annotations

import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import bounded
from tests.fuzz.recorder import Recorder
from tests.fuzz.world import ISSUER
from tests.fuzz.world import World
from tppkit import ASSERTION_TYPE

ENDPOINTS = ("/par", "/token", "/revoke", "/introspect")
NAMES = (
    "grant_type", "client_id", "client_assertion", "client_assertion_type", "scope", "code",
    "redirect_uri", "code_verifier", "refresh_token", "token", "token_type_hint",
    "response_type", "state", "nonce", "code_challenge", "code_challenge_method", "request",
    "request_uri", "claims", "authorization_details", "prompt", "max_age", "acr_values",
)  # fmt: skip
MEDIA_TYPES = ("application/json", "text/plain", "multipart/form-data", "", "application/xml")


def _values(world: World) -> st.SearchStrategy[str]:
    known = st.sampled_from([
        world.tpp.client_id, ASSERTION_TYPE, "client_credentials", "authorization_code",
        "refresh_token", "code", "S256", "plain", "openid accounts:read", "payments:write",
        world.tpp.redirect_uri, "access_token", "urn:ietf:params:oauth:request_uri:x",
        '{"id_token":{"openbanking_intent_id":{"value":"' + world.account_consent + '"}}}',
        '[{"type":"account_access","consent_id":"' + world.account_consent + '"}]',
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "a.b.c", "[]", "{}", "null", "0" * 5000,
    ])  # fmt: skip
    return st.one_of(known, st.text(max_size=80), st.text(alphabet='{}[]":,.\\', max_size=40))


def _assertion(world: World) -> str:
    now = int(world.svc.clock.time())
    return world.tpp.assertion(iat=now, exp=now + 60)


def _pairs(world: World) -> st.SearchStrategy[list[tuple[str, str]]]:
    name = st.one_of(st.sampled_from(NAMES), st.text(max_size=20))
    return st.lists(st.tuples(name, _values(world)), max_size=12)


def run_forms(world: World, recorder: Recorder, examples: int) -> None:
    """``examples`` bodies per endpoint; one in three carries a valid client assertion."""
    for path in ENDPOINTS:
        _run_one(world, recorder, path, examples)


def _run_one(world: World, recorder: Recorder, path: str, examples: int) -> None:
    client = world.app.test_client()
    drawn = st.tuples(
        _pairs(world),
        st.integers(0, 2),
        st.one_of(st.none(), st.sampled_from(MEDIA_TYPES)),
    )

    @bounded(examples)
    @given(case=drawn)
    def fuzz(case: tuple[list[tuple[str, str]], int, str | None]) -> None:
        pairs, authenticated, raw_media_type = case
        if authenticated == 0:
            pairs = [
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", _assertion(world)),
                *pairs,
            ]
        body = urllib.parse.urlencode(pairs, errors="surrogatepass").encode()
        media_type = raw_media_type or "application/x-www-form-urlencoded"
        response = client.post(path, data=body, content_type=media_type, base_url=ISSUER)
        recorder.record(f"POST {path}", response, f"{media_type} {body!r:.300}")

    fuzz()
