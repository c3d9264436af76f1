"""Resource-server benchmark: GET /userinfo with a DPoP-bound token, gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database and Redis prefix, migrates it and creates the
   signing keys, exactly like ``benchmarks.token_endpoint`` (whose helpers it imports);
   with ``--nonce`` the server requires DPoP nonces;
2. registers one TPP through the CLI with ``--dpop-bound-access-tokens`` and
   ``--access-token-ttl 3600``, and one user (``users create``, password on stdin);
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app``;
4. obtains one DPoP-bound access token with the openid scope by a scripted login
   (``conformance.tpp``: PAR with a DPoP header, ``Browser.authorize`` through login and
   consent, the code for tokens with a proof by the same key);
5. signs one proof per request up front (``htm`` GET, ``htu`` /userinfo, ``ath`` of the
   token, its own ``jti``; the nonce when required), then warms up and times N
   ``GET /userinfo`` with ``Authorization: DPoP <token>`` from a few driver threads;
6. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and cleans up whatever happened.

Each request verifies the RS256 access token, checks the revocation deny-set in Redis,
verifies the ES256 proof, records its ``jti`` in Redis and answers the subject.

Run from the repository root: ``.venv/bin/python -m benchmarks.resource_server``.
"""

from __future__ import annotations

import secrets

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
from benchmarks.harness import run_cli
from benchmarks.harness import server_arguments
from benchmarks.harness import warm_up_and_run
from tppkit import Browser
from tppkit import HttpResponse
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit import read_callback
from tppkit import server_keys

CLIENT_ID = "bench-rs-tpp"
SCOPE = "openid accounts:read"
USERNAME = "bench-user"
ACCESS_TOKEN_TTL = 3600  # the longest a client may ask for; the run is far shorter
RESOURCE = "/userinfo"


def parse_args(argv: list[str] | None) -> Options:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=False)
    return checked_options(parser, parser.parse_args(argv), dpop=True)


class DPoPSession:
    """The TPP's back end during the login: one DPoP key, the server nonce once asked for."""

    def __init__(self, http: UrllibTransport, tpp: Tpp, key: PrivateKey) -> None:
        self.http = http
        self.tpp = tpp
        self.key = key
        self.nonce: str | None = None

    def post(self, path: str, form: dict[str, str]) -> HttpResponse:
        """POST ``form`` with a fresh client assertion and proof; one retry on use_dpop_nonce."""
        url = self.tpp.url(path)
        for attempt in range(2):
            proof = dpop_proof(self.key, "POST", url, nonce=self.nonce)
            body = {**form, **self.tpp.auth_form()}  # an assertion is single use
            response = self.http.request("POST", url, form=body, headers={"DPoP": proof})
            asked = response.status == 400 and b'"use_dpop_nonce"' in response.body
            fresh = {k.lower(): v for k, v in response.headers.items()}.get("dpop-nonce")
            if fresh and (asked or self.nonce is not None):
                self.nonce = fresh
            if not (asked and attempt == 0):
                break
        return response


def dpop_bound_token(http: UrllibTransport, tpp: Tpp, key: PrivateKey, password: str) -> str:
    """One DPoP-bound access token with the openid scope, through PAR, login and consent."""
    session = DPoPSession(http, tpp, key)
    params, verifier = tpp.authorization_params()
    pushed = session.post("/par", params)
    if pushed.status != 201:
        raise SystemExit(f"PAR failed: {pushed.status} {pushed.text}")
    leaving = Browser(http, tpp.issuer).authorize(
        tpp, pushed.json()["request_uri"], username=USERNAME, password=password
    )
    callback = read_callback(leaving, server_keys(http, tpp.issuer), tpp)
    if "code" not in callback.params:
        raise SystemExit(f"no code at the redirect_uri: {callback.params}")
    issued = session.post(
        "/token",
        {
            "grant_type": "authorization_code",
            "code": callback.params["code"],
            "redirect_uri": tpp.redirect_uri,
            "code_verifier": verifier,
        },
    )
    body = issued.json() if issued.status == 200 else {}
    if body.get("token_type") != "DPoP" or "openid" not in body.get("scope", "").split():
        raise SystemExit(f"no DPoP-bound openid token: {issued.status} {issued.text}")
    print(f"DPoP-bound access token for {body['scope']!r}, expires in {body['expires_in']} s")
    return str(body["access_token"])


def userinfo_request(issuer: str, key: PrivateKey, token: str, nonce: str | None) -> Prepared:
    proof = dpop_proof(key, "GET", issuer + RESOURCE, access_token=token, nonce=nonce)
    return Prepared("GET", RESOURCE, None, {"Authorization": f"DPoP {token}", "DPoP": proof})


def subject_answered(payload: bytes) -> bool:
    return b'"sub"' in payload


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    redirect_uri = f"http://{LOOPBACK}/cb"  # never contacted: the scripted browser stops there
    with bench_run("authserver-bench-rs-") as run:
        issuer, port, workdir = run.issuer, run.port, run.workdir
        with backends(options, run.run_id, issuer, workdir) as env:
            client_key = register_client(
                env,
                workdir,
                redirect_uri,
                "--access-token-ttl",
                str(ACCESS_TOKEN_TTL),
                "--dpop-bound-access-tokens",
                client_id=CLIENT_ID,
                scope=SCOPE,
            )
            password = secrets.token_urlsafe(18)  # BENCH-ONLY, dropped with the database
            run_cli(env, "users", "create", USERNAME, stdin=password + "\n")
            tpp = Tpp(CLIENT_ID, client_key, "ES256", issuer, redirect_uri, scope=SCOPE)
            dpop_key = generate_key("ES256")

            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):
                token = dpop_bound_token(UrllibTransport(), tpp, dpop_key, password)

                def make(nonce: str | None) -> Prepared:
                    return userinfo_request(issuer, dpop_key, token, nonce)

                def nonce_from() -> str:
                    return fetch_nonce(port, make(None))

                outcome = warm_up_and_run(
                    port,
                    options,
                    make,
                    subject_answered,
                    nonce_from=nonce_from if options.nonce else None,
                    lifetime=None,
                    log=log,
                )

    variant = ".nonce" if options.nonce else ""
    return report(
        benchmark="resource_server.userinfo.dpop" + variant,
        stem="resource_server" + variant.replace(".", "-"),
        run_id=run.run_id,
        options=options,
        config={
            "resource": f"GET {RESOURCE}",
            "dpop_proof_alg": "ES256",
            "access_token_alg": "RS256 (default)",
            "access_token_ttl": ACCESS_TOKEN_TTL,
        },
        outcome=outcome,
        load_before=run.load_before,
    )


if __name__ == "__main__":
    raise SystemExit(main())
