"""Accounts benchmark: GET /open-banking/v4.0/aisp/accounts/{AccountId}/transactions (one
page of 100) with a DPoP-bound token carrying an account-access consent, gunicorn on
PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database and Redis prefix, migrates it and creates the
   signing keys (``benchmarks.harness.backends``);
2. in this process, on the same database and master key (``in_process`` of
   ``benchmarks.revocation_propagation``): registers one TPP (ES256, tokens for an
   hour), creates one user, seeds the demo accounts (a current account with a year of
   transactions, ``accounts.seed``), creates an account-access consent with Detail
   permissions and authorises it for the current account, and issues one DPoP-bound
   access token carrying the consent (the token endpoint's issuer, so it has its ledger
   row);
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app``;
4. signs one proof per request up front (``htm`` GET, ``htu`` the transactions URL,
   ``ath`` of the token, its own ``jti``), then warms up and times N requests from a few
   driver threads; a 200 counts only when it holds transactions;
5. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and cleans up whatever happened.

Each request verifies the RS256 access token and its revocation state, verifies the
ES256 proof and records its ``jti`` in Redis, checks the consent's grant (the consent and
the account's owner, read from SQL at most every 0.5 s per worker), reads one page of
transactions with its count in one query (counterparty identifications opened), renders
it and appends a hash-chained audit row. The seeded tables are analysed first.

Run from the repository root: ``.venv/bin/python -m benchmarks.accounts_transactions``.
"""

from __future__ import annotations

import secrets

from sqlalchemy import text

from authserver.accounts.seed import seed_demo_accounts
from authserver.accounts.sql import SqlAccountProvider
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import AISP_PREFIX
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
from tppkit.registration import create_client

CLIENT_ID = "bench-accounts-tpp"
USERNAME = "bench-user"
ACCESS_TOKEN_TTL = 3600  # the longest a client may ask for; the run is far shorter
ACTOR = "operator:benchmark"
PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
]


def parse_args(argv: list[str] | None) -> Options:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=False)
    return checked_options(parser, parser.parse_args(argv), dpop=True)


def prepare(env: dict[str, str], issuer: str, dpop_key: PrivateKey) -> tuple[str, str]:
    """The TPP, user, accounts, authorised consent and token; (resource path, token)."""
    with in_process(env) as svc:
        create_client(
            svc,
            CLIENT_ID,
            generate_key("ES256"),
            label="benchmark",
            actor=ACTOR,
            redirect_uris=[f"http://{LOOPBACK}/cb"],
            scopes=["openid", "accounts:read"],
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
        current = next(a for a in provider.accounts_of(user_id) if a.type_code == "CACC")
        consent = pages.consents.create(
            client_id=CLIENT_ID,
            kind="account_access",
            scopes=["accounts:read"],
            details={"Permissions": PERMISSIONS},
            expires_at=None,
            request_id="bench",
        )
        pages.consents.authorise(
            consent.consent_id, user_id=user_id, accounts=[current.account_id], request_id="bench"
        )
        db.session.commit()
        client = svc.clients.get(CLIENT_ID)
        assert client is not None
        subject = TokenSubject(
            sub=user_id,
            scopes=("accounts:read",),
            user_id=user_id,
            consent_id=consent.consent_id,
            dpop_jkt=str(dpop_key.thumbprint()),
        )
        token = str(svc.tokens.issue(client, subject)["access_token"])
        db.session.commit()
        # A bank's tables have planner statistics; a freshly seeded throw-away database
        # has none until autovacuum gets to it (up to a minute in), and without them the
        # page is planned as a probe of ``accounts`` per transaction. Measure the real plan.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return f"{AISP_PREFIX}/accounts/{current.account_id}/transactions", token


def transactions_answered(payload: bytes) -> bool:
    return b'"TransactionId"' in payload


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with bench_run("authserver-bench-accounts-") as run:
        issuer, port, workdir = run.issuer, run.port, run.workdir
        with backends(options, run.run_id, issuer, workdir) as env:
            dpop_key = generate_key("ES256")
            path, token = prepare(env, issuer, dpop_key)
            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):

                def make(nonce: str | None) -> Prepared:
                    proof = dpop_proof(dpop_key, "GET", issuer + path, access_token=token)
                    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
                    return Prepared("GET", path, None, headers)

                outcome = warm_up_and_run(
                    port,
                    options,
                    make,
                    transactions_answered,
                    nonce_from=None,
                    lifetime=None,
                    log=log,
                )

    return report(
        benchmark="accounts.transactions.dpop",
        stem="accounts_transactions",
        run_id=run.run_id,
        options=options,
        config={
            "resource": "GET /open-banking/v4.0/aisp/accounts/{AccountId}/transactions",
            "page_size": 100,
            "dpop_proof_alg": "ES256",
            "access_token_alg": "RS256 (default)",
            "access_token_ttl": ACCESS_TOKEN_TTL,
        },
        outcome=outcome,
        load_before=run.load_before,
    )


if __name__ == "__main__":
    raise SystemExit(main())
