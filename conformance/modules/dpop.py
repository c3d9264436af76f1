"""DPoP modules (RFC 9449 under FAPI 2.0): proof time claims (#12-#14), authorization-code
binding by ``dpop_jkt`` or a proof at PAR (#15-#19), holder of key required (#47), the
resource server's proof checks (#56), and #79, a local nonce round trip (not an OIDF module).

Each module is SKIPPED unless ``sender_constrain`` is ``dpop``. Other keys are TEST-ONLY
and generated per module.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from conformance.checks import expect_error
from conformance.checks import fail
from conformance.context import Context
from conformance.dpop import RS
from conformance.dpop import NonceMemory
from conformance.dpop import bad_signature
from conformance.dpop import exchange
from conformance.dpop import nonce_problem
from conformance.dpop import reshaped
from conformance.dpop import strip_url
from conformance.dpop import thumbprint
from conformance.flow import Flow
from conformance.runner import Module
from conformance.wire import Fields
from conformance.wire import WireTransport
from tppkit import HttpResponse
from tppkit import PrivateKey
from tppkit import Transport
from tppkit import ath
from tppkit import dpop_proof
from tppkit import generate_key

# What the suite accepts when the token endpoint sees a proof by the wrong key (or none).
KEY_ERRORS = ("invalid_request", "invalid_grant", "invalid_dpop_proof")
# ensure-mismatched-dpop-jkt-fails: dpop_jkt and the PAR proof disagree.
PAR_JKT_ERRORS = ("invalid_request", "invalid_dpop_proof")
# Fapi2DPoPNegativeConditions: what the suite appends to htu, and its extra members.
HTU_QUERY = "?allthedoorsonthisspaceshiphavebeen#programmedtohaveacheeryandsunnydisposition"
DEFAULT_PORTS = {"http": 80, "https": 443}


def other_key() -> PrivateKey:
    """A TEST-ONLY key the server has never seen."""
    return generate_key("ES256")


def nbf_exp(ctx: Context) -> str:
    ctx.require_dpop()

    def claims() -> dict[str, Any]:
        now = int(time.time())
        return {"nbf": now, "exp": now + 300}

    Flow(ctx, ctx.tpps[0], proof_claims=claims).happy()
    return "proofs with nbf now and exp now+5 min accepted at the token endpoint and /userinfo"


def _iat_offset(ctx: Context, seconds: int) -> str:
    ctx.require_dpop()

    def claims() -> dict[str, Any]:
        return {"iat": int(time.time()) + seconds}

    Flow(ctx, ctx.tpps[0], par_proof=True, proof_claims=claims).happy()
    return f"proofs with iat now{seconds:+d} s accepted at PAR, the token endpoint and /userinfo"


def iat_10_before(ctx: Context) -> str:
    return _iat_offset(ctx, -10)


def iat_10_after(ctx: Context) -> str:
    return _iat_offset(ctx, 10)


def mismatched_jkt_at_par(ctx: Context) -> str:
    """dpop_jkt names one key, the proof sent with the same pushed request another."""
    ctx.require_dpop()
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params(dpop_jkt=thumbprint(other_key()))
    response = flow.push(flow.par_form(params), proof=True)
    return "rejected: " + expect_error(response, *PAR_JKT_ERRORS, what="PAR")


def par_key_differs_at_token(ctx: Context) -> str:
    ctx.require_dpop()
    flow = Flow(ctx, ctx.tpps[0], par_proof=True)
    auth = flow.authorized()
    response = flow.token(flow.code_form(auth), dpop_key=other_key())
    return "token proof by another key than PAR's: " + expect_error(
        response, *KEY_ERRORS, what="token"
    )


def jkt_differs_at_token(ctx: Context) -> str:
    ctx.require_dpop()
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized(dpop_jkt=thumbprint(other_key()))
    response = flow.token(flow.code_form(auth))
    return "token proof by another key than dpop_jkt: " + expect_error(
        response, *KEY_ERRORS, what="token"
    )


def par_proof_binding(ctx: Context) -> str:
    ctx.require_dpop()
    Flow(ctx, ctx.tpps[0], par_proof=True).happy()
    return "code bound by the proof at PAR; same key at the token endpoint; token works"


def jkt_binding(ctx: Context) -> str:
    ctx.require_dpop()
    flow = Flow(ctx, ctx.tpps[0])
    assert flow.dpop_key is not None
    flow.happy(dpop_jkt=thumbprint(flow.dpop_key))
    return "code bound by dpop_jkt; matching proof at the token endpoint; token works"


def holder_of_key_required(ctx: Context) -> str:
    """The DPoP part: a valid code redemption without a proof is refused (400)."""
    ctx.require_dpop()
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    response = flow.token(flow.code_form(auth), proof=False)
    note = "no proof: " + expect_error(response, *KEY_ERRORS, what="token")
    scheme = urllib.parse.urlsplit(ctx.issuer).scheme
    reason = "the issuer is plain http" if scheme == "http" else "not implemented here"
    return f"{note}; TLS version/cipher probing skipped ({reason})"


# --- #56 dpop-negative-tests -------------------------------------------------------------

Build = Callable[[str | None], Fields]
"""Header fields of one resource request, its proofs carrying the given nonce."""


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    count: int = 0

    def record(self, label: str, response: HttpResponse, *, accept: bool, warn: bool) -> None:
        """``accept``: 200/201 wanted, else 400/401 (the suite's EnsureHttpStatusCodeIs…)."""
        self.count += 1
        wanted = (200, 201) if accept else (400, 401)
        if response.status in wanted:
            return
        what = "accepted" if accept else "refused"
        message = f"{label}: HTTP {response.status}, wanted it {what}"
        (self.warnings if warn else self.failures).append(message)


@dataclass
class ResourceProbe:
    """One DPoP-bound access token and the requests #56 makes with it, over raw HTTP."""

    key: PrivateKey
    token: str
    url: str
    nonces: NonceMemory
    wire: WireTransport

    def proof(self, nonce: str | None, *, key: PrivateKey | None = None, **claims: Any) -> str:
        claims.setdefault("access_token", self.token)
        return dpop_proof(key or self.key, "GET", self.url, nonce=nonce, **claims)

    def fields(self, *proofs: str, scheme: str = "DPoP", name: str = "DPoP") -> Fields:
        return [("Authorization", f"{scheme} {self.token}"), *((name, p) for p in proofs)]

    def send(
        self, label: str, build: Build, *, url: str | None = None, nonces: NonceMemory | None = None
    ) -> HttpResponse:
        target = url or self.url

        def request(nonce: str | None) -> HttpResponse:
            return self.wire.send("GET", target, build(nonce))

        return exchange(request, RS, nonces or self.nonces, f"GET /userinfo ({label})")

    def reshape(self, changes: dict[str, Any], **kwargs: Any) -> Build:
        return lambda n: self.fields(reshaped(self.proof(n), self.key, changes, **kwargs))

    def claims(self, **claims: Any) -> Build:
        return lambda n: self.fields(self.proof(n, **claims))


def _negatives(probe: ResourceProbe) -> list[tuple[str, Build]]:
    """Every proof the suite expects refused (400/401), in its order."""
    public = {k: v for k, v in probe.key.as_dict(private=False).items() if k != "alg"}
    wrong_ath = ath("not this access token")
    # The suite signs RS256 only with an RSA DPoP key (the jwk's own alg member dropped).
    rsa = public.get("kty") == "RSA"
    rs256 = [("RS256", probe.reshape({"alg": "RS256", "jwk": public}))] if rsa else []
    return [
        ("two DPoP header fields", lambda n: probe.fields(probe.proof(n), probe.proof(n))),
        ("malformed JWT (no signature part)", lambda n: probe.fields(_unsigned(probe.proof(n)))),
        ("no typ", probe.reshape({"typ": None})),
        ("no alg", probe.reshape({"alg": None})),
        ("no jwk", probe.reshape({"jwk": None})),
        *((f"no {name}", probe.claims(**{name: None})) for name in ("jti", "htm", "htu", "iat")),
        ("no ath", probe.claims(access_token=None)),
        ("typ dpop+jwt+wrongyousee", probe.reshape({"typ": "dpop+jwt+wrongyousee"})),
        *rs256,
        ("alg none", probe.reshape({"alg": "none"})),
        ("bad signature", lambda n: probe.fields(bad_signature(probe.proof(n)))),
        ("private key in jwk", probe.reshape({"jwk": probe.key.as_dict(private=True)})),
        ("htm PUT", probe.claims(htm="PUT")),
        ("other htu", probe.claims(htu=probe.url + "ohnonotagain")),
        ("wrong ath", probe.claims(ath=wrong_ath)),
        ("other key", lambda n: probe.fields(probe.proof(n, key=other_key()))),
        ("no proof", lambda n: probe.fields()),
        ("Bearer without proof (downgrade)", lambda n: probe.fields(scheme="Bearer")),
        ("Bearer with proof (downgrade)", lambda n: probe.fields(probe.proof(n), scheme="Bearer")),
    ]


def _unsigned(proof: str) -> str:
    head, payload, _ = proof.split(".")
    return f"{head}.{payload}"


def _positives(probe: ResourceProbe) -> list[tuple[str, Build, bool]]:
    """Proofs the suite expects accepted; the flag marks those it only warns about."""
    parts = urllib.parse.urlsplit(probe.url)
    upper = probe.url.replace(parts.scheme, parts.scheme.upper(), 1).replace(
        parts.netloc, parts.netloc.upper(), 1
    )
    positives: list[tuple[str, Build, bool]] = [
        ("all-caps DPOP header name", lambda n: probe.fields(probe.proof(n), name="DPOP"), True),
        ("htu with query and fragment", probe.claims(htu=strip_url(probe.url) + HTU_QUERY), False),
        (
            "extra header and claim members",
            lambda n: probe.fields(
                reshaped(
                    probe.proof(n, tx_id_key=int(time.time()) + 3600),
                    probe.key,
                    {"tx_id": int(time.time()) + 3600},
                )
            ),
            False,
        ),
        ("upper-case scheme and host in htu", probe.claims(htu=upper), True),
    ]
    if parts.port is None:
        port = DEFAULT_PORTS.get(parts.scheme, 443)
        explicit = f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
        positives.append(("explicit default port in htu", probe.claims(htu=explicit), True))
    return positives


def _iat_checks(probe: ResourceProbe, outcome: Outcome) -> list[str]:
    """iat ±1 h: refused unless the server required a nonce, when the suite wants it accepted
    (and only warns). Like the suite, each starts without a remembered resource nonce."""
    notes = []
    for label, offset in (("iat +1 h", 3600), ("iat -1 h", -3600)):
        fresh = NonceMemory()
        build = probe.claims(iat=int(time.time()) + offset)
        response = probe.send(label, build, nonces=fresh)
        used_nonce = bool(fresh.challenges)
        outcome.record(label, response, accept=used_nonce, warn=used_nonce)
        if used_nonce and response.status in (200, 201):
            notes.append(f"{label} accepted with a server nonce (as the suite then expects)")
    return notes


def negative_tests(ctx: Context) -> str:
    ctx.require_dpop()
    # An RSA DPoP key, so the RS256 case signs with the very key the token is bound to.
    key = generate_key("PS256")
    flow = Flow(ctx, ctx.tpps[0], dpop_key=key)
    issued = flow.happy()
    url = ctx.url("/userinfo")
    probe = ResourceProbe(key, issued.body["access_token"], url, flow.nonces, WireTransport())
    outcome = Outcome()
    for label, build in _negatives(probe):
        outcome.record(label, probe.send(label, build), accept=False, warn=False)
    for label, build, warn in _positives(probe):
        outcome.record(label, probe.send(label, build), accept=True, warn=warn)
    query_url = url + "?conformance=1"
    label = "request with a query, htu without"
    outcome.record(label, probe.send(label, probe.claims(), url=query_url), accept=True, warn=False)
    notes = _iat_checks(probe, outcome)
    fixed = probe.claims(jti=f"conformance-{int(time.time() * 1000)}")
    outcome.record("jti first use", probe.send("jti first use", fixed), accept=True, warn=False)
    outcome.record("jti reused", probe.send("jti reused", fixed), accept=False, warn=True)
    last = "correct proof still works"
    outcome.record(last, probe.send(last, probe.claims()), accept=True, warn=False)
    if outcome.failures:
        first, *rest = outcome.failures
        also = f" (also: {'; '.join(f.split(':')[0] for f in rest)})" if rest else ""
        raise fail(f"{len(outcome.failures)} of {outcome.count} sub-checks failed: {first}{also}")
    port = urllib.parse.urlsplit(url).port
    if port is not None:
        notes.append(f"explicit-default-port case not applicable (issuer port {port})")
    summary = f"{outcome.count} sub-checks as the suite expects at /userinfo"
    warnings = [f"WARNING: {w}" for w in outcome.warnings]
    return "; ".join([summary, *warnings, *notes])


# --- #79 (local) ---------------------------------------------------------------------------


class Recorder:
    """A Transport that keeps every response, to check each DPoP-Nonce it carries."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.responses: list[tuple[str, HttpResponse]] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        response = self.inner.request(method, url, form=form, headers=headers)
        self.responses.append((f"{method} {urllib.parse.urlsplit(url).path}", response))
        return response


def _challenge_problems(nonces: NonceMemory) -> list[str]:
    problems = []
    for challenge in nonces.challenges:
        if not challenge.nonce:
            problems.append(f"{challenge.what}: use_dpop_nonce without a DPoP-Nonce header")
        elif challenge.retry_status not in (200, 201):
            problems.append(
                f"{challenge.what}: the retry with the nonce given got HTTP "
                f"{challenge.retry_status} {challenge.retry_error or ''}".rstrip()
            )
    return problems


def nonce_round_trip(ctx: Context) -> str:
    """PASS when the server asks for no nonce, or every use_dpop_nonce retried with the nonce
    it gave succeeds (PAR with a proof, token, /userinfo); any DPoP-Nonce must be one field
    of NQCHARs. Starts with no remembered nonce. Local check, not an OIDF module."""
    ctx.require_dpop()
    nonces = NonceMemory()
    recorder = Recorder(WireTransport())
    flow = Flow(ctx, ctx.tpps[0], par_proof=True, nonces=nonces, backchannel=recorder)
    try:
        flow.happy()
    except AssertionError as failed:
        problems = _challenge_problems(nonces)
        raise fail("; ".join(problems) if problems else str(failed)) from None
    problems = _challenge_problems(nonces)
    problems += [
        f"{what}: {problem}"
        for what, response in recorder.responses
        if (problem := nonce_problem(response))
    ]
    if problems:
        raise fail("; ".join(problems))
    offered = sum(1 for _, r in recorder.responses if "dpop-nonce" in map(str.lower, r.headers))
    seen = f"DPoP-Nonce on {offered} of {len(recorder.responses)} back-channel responses"
    local = "local check, not an OIDF module"
    if not nonces.challenges:
        return (
            f"no use_dpop_nonce at PAR, token or /userinfo (nonces not required); {seen}; {local}"
        )
    where = ", ".join(c.what for c in nonces.challenges)
    return f"use_dpop_nonce at {where}; every retry with the given nonce succeeded; {seen}; {local}"


MODULES = [
    Module(12, "check-dpop-proof-nbf-exp", nbf_exp),
    Module(13, "ensure-dpopproof-with-iat-10seconds-before-succeeds", iat_10_before),
    Module(14, "ensure-dpopproof-with-iat-10seconds-after-succeeds", iat_10_after),
    Module(15, "ensure-mismatched-dpop-jkt-fails", mismatched_jkt_at_par),
    Module(
        16, "ensure-token-endpoint-fails-with-mismatched-dpop-proof-jkt", par_key_differs_at_token
    ),
    Module(17, "ensure-token-endpoint-fails-with-mismatched-dpop-jkt", jkt_differs_at_token),
    Module(18, "ensure-dpopproof-at-par-endpoint-binding-success", par_proof_binding),
    Module(19, "ensure-dpop-auth-code-binding-success", jkt_binding),
    Module(47, "ensure-holder-of-key-required", holder_of_key_required),
    Module(56, "dpop-negative-tests", negative_tests),
    Module(79, "dpop-server-nonce-round-trip", nonce_round_trip),
]
