"""The runner's DPoP client side without a server: the use_dpop_nonce retry (AS and RS
shapes, one retry only, nonces learnt only from a challenge), the DPoP-Nonce syntax check,
and the reshaped proofs the negative checks send. Keys are generated per test (TEST-ONLY).
"""

from __future__ import annotations

import json
from typing import Any

from joserfc import jwk
from joserfc import jws

from conformance.config import ClientConfig
from conformance.config import Config
from conformance.context import Context
from conformance.dpop import AS
from conformance.dpop import RS
from conformance.dpop import NonceMemory
from conformance.dpop import bad_signature
from conformance.dpop import exchange
from conformance.dpop import nonce_problem
from conformance.dpop import reshaped
from conformance.flow import Flow
from conformance.wire import WireResponse
from tppkit import HttpResponse
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit import segment_json

URL = "https://as.example.test/token"


def as_challenge(nonce: str | None = "n-1") -> HttpResponse:
    headers = {"Content-Type": "application/json"}
    if nonce is not None:
        headers["DPoP-Nonce"] = nonce
    return HttpResponse(400, headers, json.dumps({"error": "use_dpop_nonce"}).encode())


def rs_challenge(nonce: str = "n-1") -> HttpResponse:
    challenge = 'DPoP algs="ES256", error="use_dpop_nonce"'
    return HttpResponse(401, {"WWW-Authenticate": challenge, "DPoP-Nonce": nonce}, b"")


def ok(nonce: str | None = None) -> HttpResponse:
    return HttpResponse(200, {"DPoP-Nonce": nonce} if nonce else {}, b"{}")


class Script:
    """``request(nonce)`` answering from a list, remembering the nonces it was given."""

    def __init__(self, *responses: HttpResponse) -> None:
        self.responses = list(responses)
        self.nonces: list[str | None] = []

    def __call__(self, nonce: str | None) -> HttpResponse:
        self.nonces.append(nonce)
        return self.responses.pop(0)


def test_no_challenge_is_sent_once_and_no_offered_nonce_is_adopted() -> None:
    memory = NonceMemory()
    script = Script(ok(nonce="offered"))
    assert exchange(script, AS, memory, "POST /token").status == 200
    assert script.nonces == [None]
    assert memory.get(AS) is None
    assert memory.challenges == []


def test_an_as_challenge_is_retried_once_with_its_nonce_then_kept_fresh() -> None:
    memory = NonceMemory()
    script = Script(as_challenge("n-1"), ok(nonce="n-2"), ok())
    assert exchange(script, AS, memory, "POST /token").status == 200
    assert script.nonces == [None, "n-1"]
    assert memory.get(AS) == "n-2"  # the DPoP-Nonce of the later response replaced it
    (challenge,) = memory.challenges
    assert (challenge.what, challenge.nonce, challenge.retry_status) == ("POST /token", "n-1", 200)
    exchange(script, AS, memory, "POST /token")
    assert script.nonces[-1] == "n-2"
    assert memory.get(RS) is None


def test_a_resource_challenge_is_read_from_www_authenticate() -> None:
    memory = NonceMemory()
    script = Script(rs_challenge("r-1"), ok())
    assert exchange(script, RS, memory, "GET /userinfo").status == 200
    assert script.nonces == [None, "r-1"]


def test_only_one_retry() -> None:
    memory = NonceMemory()
    script = Script(as_challenge("n-1"), as_challenge("n-2"))
    assert exchange(script, AS, memory, "POST /par").status == 400
    assert script.nonces == [None, "n-1"]
    assert memory.challenges[0].retry_error == "use_dpop_nonce"


def test_a_challenge_without_a_nonce_is_logged_and_not_retried() -> None:
    memory = NonceMemory()
    script = Script(as_challenge(None))
    assert exchange(script, AS, memory, "POST /token").status == 400
    assert script.nonces == [None]
    assert memory.challenges[0].nonce == ""


def test_other_errors_are_no_challenge() -> None:
    body = json.dumps({"error": "invalid_dpop_proof"}).encode()
    script = Script(HttpResponse(400, {"DPoP-Nonce": "n"}, body))
    assert exchange(script, AS, NonceMemory(), "POST /token").status == 400
    assert script.nonces == [None]


def test_dpop_nonce_must_be_one_field_of_nqchars() -> None:
    def wire(*values: str) -> WireResponse:
        fields = [("DPoP-Nonce", v) for v in values]
        return WireResponse(200, dict(fields[:1]), b"", fields)

    assert nonce_problem(wire("abc-._~")) is None
    assert nonce_problem(wire()) is None
    assert "2 DPoP-Nonce" in str(nonce_problem(wire("a", "b")))
    assert "NQCHAR" in str(nonce_problem(wire('has "quote')))
    assert "NQCHAR" in str(nonce_problem(wire("has space")))


def test_reshaped_proofs_are_signed_again_unless_alg_none() -> None:
    key = generate_key("ES256")
    proof = dpop_proof(key, "GET", URL)
    public = jwk.import_key(key.as_dict(private=False))

    no_typ = reshaped(proof, key, {"typ": None, "tx_id": 1})
    header = segment_json(no_typ.split(".")[0])
    assert "typ" not in header
    assert header["tx_id"] == 1
    lenient = jws.JWSRegistry(strict_check_header=False)  # tx_id is no registered header
    assert jws.deserialize_compact(no_typ, public, algorithms=["ES256"], registry=lenient).payload

    no_alg = reshaped(proof, key, {"alg": None})
    assert "alg" not in segment_json(no_alg.split(".")[0])
    assert no_alg.split(".")[2]

    unsigned = reshaped(proof, key, {"alg": "none"})
    assert unsigned.endswith(".")
    assert segment_json(unsigned.split(".")[0])["alg"] == "none"

    tampered = bad_signature(proof)
    assert tampered != proof
    assert tampered.rsplit(".", 1)[0] == proof.rsplit(".", 1)[0]


class FakeTransport:
    def __init__(self, *responses: HttpResponse) -> None:
        self.responses = list(responses)
        self.sent: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        self.sent.append({"method": method, "url": url, "form": form, "headers": headers or {}})
        return self.responses.pop(0)


def test_the_token_retry_resends_the_same_body_with_a_new_proof_like_the_suite() -> None:
    """The suite re-creates only the DPoP proof; the client assertion goes again unchanged."""
    one, two = (
        ClientConfig(f"tpp-{n}", generate_key("ES256"), "ES256", "https://tpp.example/cb")
        for n in (1, 2)
    )
    config = Config(clients=(one, two), signed_client=None, username="u", password="p")
    ctx = Context.create("https://as.example.test", config)
    transport = FakeTransport(as_challenge("n-1"), ok())
    flow = Flow(ctx, ctx.tpps[0], backchannel=transport)
    assert flow.token({"grant_type": "authorization_code", "code": "c"}).status == 200
    first, second = transport.sent
    assert first["form"] == second["form"]
    assert first["headers"]["DPoP"] != second["headers"]["DPoP"]
    claims = [segment_json(sent["headers"]["DPoP"].split(".")[1]) for sent in (first, second)]
    assert "nonce" not in claims[0]
    assert claims[1]["nonce"] == "n-1"
    assert claims[0]["jti"] != claims[1]["jti"]
    assert claims[1]["htm"] == "POST"
    assert claims[1]["htu"] == URL
