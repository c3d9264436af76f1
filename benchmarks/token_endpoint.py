"""Token-endpoint benchmark: client_credentials + private_key_jwt, gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database (``authserver_bench_<run>``) and migrates it with
   ``authserver db upgrade``; picks a unique Redis key prefix;
2. registers one TPP (ES256 key) through the CLI and creates the signing keys; with
   ``--dpop`` the client is registered with ``--dpop-bound-access-tokens``, and with
   ``--nonce`` the server requires DPoP nonces (``AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED``);
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app`` from the repository root;
4. signs every client assertion (and with ``--dpop`` every DPoP proof, ES256, each with
   its own jti) up front, so the timed part measures the server, not the driver's
   signing; with ``--nonce`` the nonce is fetched first and put in every proof;
5. this process is the driver: a few threads, each with its own keep-alive
   ``http.client`` connection, warm up and then send the timed requests;
6. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and stops gunicorn, drops the database and deletes the
   Redis keys whatever happened.

Pre-signed proofs age: without a nonce a proof's ``iat`` must be at most 60 s old
(``oauth.dpop_past_window``); with one, the nonce is good for its 60 s step and the next
(``oauth.dpop_nonce_step``), so at least 60 s after it was fetched. DPoP runs are
therefore capped at ``--max-seconds`` 45, and a batch that would not stay valid for the
whole run is signed again (with a nonce from the next step) before the clock starts.

The harness (database, Redis prefix, gunicorn, driver, report) is ``benchmarks.harness``.

Run from the repository root: ``.venv/bin/python -m benchmarks.token_endpoint``.
"""

from __future__ import annotations

import functools
import time
import urllib.parse

from benchmarks.harness import ASSERTION_LIFETIME
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import checked_options
from benchmarks.harness import fetch_nonce
from benchmarks.harness import gunicorn
from benchmarks.harness import register_client
from benchmarks.harness import report
from benchmarks.harness import server_arguments
from benchmarks.harness import warm_up_and_run
from tppkit import ASSERTION_TYPE
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

CLIENT_ID = "bench-tpp"
SCOPE = "accounts:read"


def parse_args(argv: list[str] | None) -> Options:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=True)
    args = parser.parse_args(argv)
    return checked_options(parser, args, dpop=args.dpop)


# --- the requests ---------------------------------------------------------------------------


def token_request(tpp: Tpp, dpop_key: PrivateKey | None, nonce: str | None) -> Prepared:
    """client_credentials with a fresh assertion (unique jti) and, with a key, a fresh proof."""
    now = int(time.time())
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": tpp.assertion(iat=now, exp=now + ASSERTION_LIFETIME),
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if dpop_key is not None:
        headers["DPoP"] = dpop_proof(dpop_key, "POST", tpp.url("/token"), nonce=nonce)
    return Prepared("POST", "/token", urllib.parse.urlencode(form).encode(), headers)


def token_issued(payload: bytes, *, dpop: bool) -> bool:
    return b'"access_token"' in payload and (not dpop or b'"DPoP"' in payload)


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with bench_run("authserver-bench-") as run:
        issuer, port, workdir = run.issuer, run.port, run.workdir
        with backends(options, run.run_id, issuer, workdir) as env:
            flags = ["--dpop-bound-access-tokens"] if options.dpop else []
            key = register_client(
                env,
                workdir,
                f"http://{LOOPBACK}/cb",
                *flags,
                client_id=CLIENT_ID,
                scope=SCOPE,
                name="Benchmark TPP",
            )
            tpp = Tpp(CLIENT_ID, key, "ES256", issuer, f"http://{LOOPBACK}/cb", scope=SCOPE)
            # The DPoP key is the TPP's own, apart from its client-authentication key.
            dpop_key = generate_key("ES256") if options.dpop else None

            def make(nonce: str | None) -> Prepared:
                return token_request(tpp, dpop_key, nonce)

            def nonce_from() -> str:
                return fetch_nonce(port, make(None))

            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):
                outcome = warm_up_and_run(
                    port,
                    options,
                    make,
                    functools.partial(token_issued, dpop=options.dpop),
                    nonce_from=nonce_from if options.nonce else None,
                    lifetime=ASSERTION_LIFETIME,
                    log=log,
                )

    variant = (".dpop" if options.dpop else "") + (".nonce" if options.nonce else "")
    return report(
        benchmark="token_endpoint.client_credentials.private_key_jwt" + variant,
        stem="token_endpoint" + variant.replace(".", "-"),
        run_id=run.run_id,
        options=options,
        config={
            "client_key": "ES256",
            "dpop_proof_alg": "ES256" if options.dpop else None,
            "access_token_alg": "RS256 (default)",
        },
        outcome=outcome,
        load_before=run.load_before,
    )


if __name__ == "__main__":
    raise SystemExit(main())
