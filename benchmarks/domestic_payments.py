"""Payments benchmark: POST /open-banking/v4.0/pisp/domestic-payments end to end (signed,
idempotent, DPoP-bound), gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database and Redis prefix, migrates it and creates the
   signing keys (``benchmarks.harness.backends``);
2. in this process, on the same database and master key (``in_process`` of
   ``benchmarks.revocation_propagation``): registers one TPP (ES256 key in its JWKS,
   DPoP-bound tokens for an hour), creates one user, seeds the demo accounts
   (``accounts.seed``) and, since a consent pays once, one payment consent per request
   (warm-up included): each created as the consent API does (``pisp.service.create_consent``,
   the account numbers sealed), authorised for the user's savings account (AWAU -> AUTH,
   as the consent page does) and carried by its own DPoP-bound access token (the token
   endpoint's issuer, with its ledger row); every payment is 0.01 GBP, so the seeded
   balance covers them all;
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app``;
4. signs every request up front: the exact body (``Data.ConsentId`` and the consent's
   ``Initiation``), its ``x-jws-signature`` (a detached ES256 JWS with the UK OB
   protected headers, ``tppkit.ob_signing``), its own ``x-idempotency-key`` and its own
   DPoP proof (``htm`` POST, ``htu`` the payments URL, ``ath`` of its token, its own
   ``jti``); then warms up and times N requests from a few driver threads. A 201 counts
   only when it holds a ``DomesticPaymentId`` and the payment was not rejected;
5. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and cleans up whatever happened.

Each request verifies the RS256 access token and its revocation state, verifies the
ES256 proof and records its ``jti`` in Redis, claims the idempotency key in Redis,
verifies the request's JWS against the client's JWKS, reads the consent and opens its
sealed Initiation, compares it, moves the consent AUTH -> COND (compare-and-set), locks
and debits the balance, records the payment (creditor sealed) and two audit rows, stores
the response under the idempotency key and signs the response (PS256/ES256, the server's
key).

Run from the repository root: ``.venv/bin/python -m benchmarks.domestic_payments``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

from authserver.accounts.seed import seed_demo_accounts
from authserver.accounts.sql import SqlAccountProvider
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.openbanking.payment_initiation import parse_domestic_payment_consent
from authserver.pisp.service import create_consent
from authserver.tokens.access_token import TokenSubject
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import checked_options
from benchmarks.harness import gunicorn
from benchmarks.harness import report
from benchmarks.harness import server_arguments
from benchmarks.harness import warm_up_and_run
from benchmarks.revocation_propagation import in_process
from tppkit import PrivateKey
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.ob_signing import ob_signature
from tppkit.registration import create_client

CLIENT_ID = "bench-payments-tpp"
USERNAME = "bench-user"
ACCESS_TOKEN_TTL = 3600  # the longest a client may ask for; the run is far shorter
ACTOR = "operator:benchmark"
SCOPE = "payments:write"
PATH = f"{PISP_PREFIX}/domestic-payments"
CREATED = 201
DEFAULT_REQUESTS = 500  # each needs its own consent and token, made before the run
DEFAULT_WARMUP = 50


def initiation(number: int) -> dict[str, Any]:
    """The Initiation of consent ``number``: 0.01 GBP to a fixed payee."""
    return {
        "InstructionIdentification": f"BENCH{number}",
        "EndToEndIdentification": f"BENCH.E2E.{number}",
        "LocalInstrument": "UK.OBIE.FPS",
        "InstructedAmount": {"Amount": "0.01", "Currency": "GBP"},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.IBAN",
            "Identification": "GB82WEST12345698765432",  # a well-known example IBAN
            "Name": "ACME Inc",
        },
        "RemittanceInformation": {"Unstructured": [f"Benchmark {number}"]},
    }


def parse_args(argv: list[str] | None) -> Options:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=False)
    parser.set_defaults(requests=DEFAULT_REQUESTS, warmup=DEFAULT_WARMUP)
    args = parser.parse_args(argv)
    if args.nonce:  # the proofs are signed without a server nonce
        parser.error("--nonce is not supported by this benchmark")
    return checked_options(parser, args, dpop=True)


def prepare(
    env: dict[str, str], count: int, tpp_key: PrivateKey, dpop_key: PrivateKey
) -> list[tuple[bytes, str]]:
    """The TPP, user, accounts and ``count`` authorised payment consents, each with its
    token; the payment body and token of each."""
    with in_process(env) as svc:
        create_client(
            svc,
            CLIENT_ID,
            tpp_key,
            label="benchmark",
            actor=ACTOR,
            redirect_uris=[f"http://{LOOPBACK}/cb"],
            scopes=["openid", SCOPE],
            access_token_ttl=ACCESS_TOKEN_TTL,
            dpop_bound_access_tokens=True,
        )
        pages = experience()
        password = secrets.token_urlsafe(18)  # BENCH-ONLY, dropped with the database
        user_id = pages.users.create(USERNAME, password, actor=ACTOR).user.id
        provider = pages.accounts
        assert isinstance(provider, SqlAccountProvider)
        seed_demo_accounts(provider, user_id, svc.clock.now())
        db.session.commit()
        # The savings account only grows in the demo data: it covers count x 0.01 GBP.
        debtor = next(a for a in provider.accounts_of(user_id) if a.type_code == "SVGS")
        client = svc.clients.get(CLIENT_ID)
        assert client is not None
        prepared: list[tuple[bytes, str]] = []
        for number in range(count):
            body = {"Data": {"Initiation": initiation(number)}, "Risk": {}}
            checked = parse_domestic_payment_consent(json.dumps(body)).initiation.canonical()
            consent = create_consent(
                svc.consents,
                svc.initiations,
                client_id=CLIENT_ID,
                scopes=[SCOPE],
                initiation=checked,
                details={"Risk": {}},
                request_id="bench",
            )
            pages.consents.authorise(
                consent.consent_id,
                user_id=user_id,
                accounts=[debtor.account_id],
                request_id="bench",
            )
            subject = TokenSubject(
                sub=user_id,
                scopes=(SCOPE,),
                user_id=user_id,
                consent_id=consent.consent_id,
                dpop_jkt=str(dpop_key.thumbprint()),
            )
            token = str(svc.tokens.issue(client, subject)["access_token"])
            db.session.commit()
            payment = {
                "Data": {"ConsentId": consent.consent_id, "Initiation": initiation(number)},
                "Risk": {},
            }
            prepared.append((json.dumps(payment).encode(), token))
    return prepared


def paid(payload: bytes) -> bool:
    """A payment made: it has its id and was not rejected (e.g. for want of funds)."""
    try:
        data = json.loads(payload)["Data"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(data.get("DomesticPaymentId")) and data.get("Status") != "RJCT"


def requests_of(
    prepared: list[tuple[bytes, str]], issuer: str, tpp_key: PrivateKey, dpop_key: PrivateKey
) -> Iterator[Prepared]:
    """One signed request per consent, in order, signed when asked for (just before its part)."""
    for body, token in prepared:
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": dpop_proof(dpop_key, "POST", issuer + PATH, access_token=token),
            "Content-Type": "application/json",
            "x-idempotency-key": uuid.uuid4().hex,
            "x-jws-signature": ob_signature(tpp_key, body, client_id=CLIENT_ID, alg="ES256"),
        }
        yield Prepared("POST", PATH, body, headers)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with bench_run("authserver-bench-payments-") as run:
        issuer, port, workdir = run.issuer, run.port, run.workdir
        with backends(options, run.run_id, issuer, workdir) as env:
            tpp_key = generate_key("ES256")
            dpop_key = generate_key("ES256")
            count = options.warmup + options.requests
            print(f"preparing {count} authorised payment consents and their tokens")
            signed = requests_of(prepare(env, count, tpp_key, dpop_key), issuer, tpp_key, dpop_key)
            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):
                outcome = warm_up_and_run(
                    port,
                    options,
                    lambda nonce: next(signed),
                    paid,
                    nonce_from=None,
                    lifetime=None,
                    log=log,
                    ok_status=CREATED,
                )

    return report(
        benchmark="pisp.domestic_payments.signed.idempotent.dpop",
        stem="domestic_payments",
        run_id=run.run_id,
        options=options,
        config={
            "resource": "POST /open-banking/v4.0/pisp/domestic-payments",
            "amount": "0.01 GBP",
            "request_signature_alg": "ES256 (x-jws-signature, detached)",
            "dpop_proof_alg": "ES256",
            "access_token_alg": "RS256 (default)",
            "access_token_ttl": ACCESS_TOKEN_TTL,
            "consents": "one AUTH consent and token per request, made before the run",
        },
        outcome=outcome,
        load_before=run.load_before,
        ok_status=CREATED,
    )


if __name__ == "__main__":
    raise SystemExit(main())
