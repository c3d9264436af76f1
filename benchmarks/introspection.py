"""Introspection benchmark: POST /introspect by a resource server, gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database and Redis prefix, migrates it and creates the
   signing keys, exactly like ``benchmarks.token_endpoint`` (whose helpers it imports);
2. registers through the CLI one TPP (ES256 key, ``--access-token-ttl 3600``) and one
   resource server (``clients create --resource-server``: no grants, no redirect URIs,
   its own ES256 key), which may introspect every access token of the issuer's audience;
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app``;
4. gets one access token for the TPP (``client_credentials``) and checks one
   introspection answer (with ``--jwt`` its signature by the server's published key,
   ``typ`` and ``aud``);
5. signs every resource-server client assertion up front (each with its own ``jti``,
   single use, valid 290 s), then warms up and times N ``POST /introspect`` of that token
   from a few driver threads; with ``--jwt`` each asks
   ``Accept: application/token-introspection+jwt`` (RFC 9701, a PS256-signed answer);
6. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and cleans up whatever happened.

A 200 counts only when the answer (the JWT's ``token_introspection`` claim with
``--jwt``) says ``"active": true``. Each request verifies the ES256 assertion and records
its ``jti`` in Redis, verifies the RS256 access token, checks it against the process's
revocation view (a listener thread per worker, started by its first check) and answers
JSON or signs the PS256 JWT.

Run from the repository root: ``.venv/bin/python -m benchmarks.introspection``.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

from joserfc import jwt

from benchmarks.harness import ASSERTION_LIFETIME
from benchmarks.harness import LOOPBACK
from benchmarks.harness import Options
from benchmarks.harness import Prepared
from benchmarks.harness import backends
from benchmarks.harness import bench_run
from benchmarks.harness import checked_options
from benchmarks.harness import gunicorn
from benchmarks.harness import register_client
from benchmarks.harness import report
from benchmarks.harness import server_arguments
from benchmarks.harness import warm_up_and_run
from tppkit import ASSERTION_TYPE
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import server_keys

TPP_CLIENT_ID = "bench-introspect-tpp"
RS_CLIENT_ID = "bench-introspect-rs"
SCOPE = "accounts:read"
ACCESS_TOKEN_TTL = 3600  # the longest a client may ask for; the run is far shorter
PATH = "/introspect"
JWT_MEDIA_TYPE = "application/token-introspection+jwt"


def parse_args(argv: list[str] | None) -> tuple[Options, bool]:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=False)
    parser.add_argument(
        "--jwt",
        action="store_true",
        help=f"ask for signed answers (Accept: {JWT_MEDIA_TYPE}, RFC 9701)",
    )
    args = parser.parse_args(argv)
    return checked_options(parser, args, dpop=False), bool(args.jwt)


def register_resource_server(env: dict[str, str], workdir: Path) -> Any:
    """The BENCH-ONLY resource-server client through the CLI; its private key."""
    return register_client(
        env,
        workdir,
        None,
        "--resource-server",
        client_id=RS_CLIENT_ID,
        scope=None,
        name="Benchmark resource server",
    )


def access_token(http: UrllibTransport, tpp: Tpp) -> str:
    form = {"grant_type": "client_credentials", "scope": SCOPE, **tpp.auth_form()}
    response = http.request("POST", tpp.url("/token"), form=form)
    if response.status != 200:
        raise SystemExit(f"no access token: {response.status} {response.text[:300]}")
    return str(response.json()["access_token"])


def introspection_request(rs: Tpp, token: str, *, signed: bool) -> Prepared:
    """One POST /introspect with a fresh assertion (unique jti) of the resource server."""
    now = int(time.time())
    form = {
        "token": token,
        "token_type_hint": "access_token",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": rs.assertion(iat=now, exp=now + ASSERTION_LIFETIME),
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers["Accept"] = JWT_MEDIA_TYPE if signed else "application/json"
    return Prepared("POST", PATH, urllib.parse.urlencode(form).encode(), headers)


def _jwt_claims(compact: bytes) -> Any:
    """The payload of a compact JWS, unverified (the driver checks one signature up front)."""
    payload = compact.split(b".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))


def active_json(payload: bytes) -> bool:
    try:
        return json.loads(payload).get("active") is True
    except (ValueError, AttributeError):
        return False


def active_jwt(payload: bytes) -> bool:
    try:
        return _jwt_claims(payload)["token_introspection"]["active"] is True
    except (ValueError, IndexError, KeyError, TypeError):
        return False


def check_once(http: UrllibTransport, issuer: str, request: Prepared, *, signed: bool) -> None:
    """One untimed introspection, verified in full; stops the run when it is not right."""
    assert request.body is not None  # noqa: S101 - built above
    form = dict(urllib.parse.parse_qsl(request.body.decode()))
    response = http.request(
        "POST", issuer + PATH, form=form, headers={"Accept": request.headers["Accept"]}
    )
    kind = response.headers.get("Content-Type", "")
    if response.status != 200:
        raise SystemExit(f"introspection failed: {response.status} {response.text[:300]}")
    if signed:
        token = jwt.decode(response.body, server_keys(http, issuer), algorithms=["PS256"])
        claims = dict(token.claims)
        if (
            token.header.get("typ") != "token-introspection+jwt"
            or claims.get("aud") != RS_CLIENT_ID
        ):
            raise SystemExit(f"unexpected introspection JWT: {token.header} {claims}")
        body = claims["token_introspection"]
    else:
        body = response.json()
    if body.get("active") is not True:
        raise SystemExit(f"token not active: {body}")
    print(f"introspection answers {kind}: active, {body.get('token_type')} token of {body['sub']}")


def main(argv: list[str] | None = None) -> int:
    options, signed = parse_args(argv)
    redirect_uri = f"http://{LOOPBACK}/cb"  # never used: the TPP only uses client_credentials
    with bench_run("authserver-bench-introspect-") as run:
        issuer, port, workdir = run.issuer, run.port, run.workdir
        with backends(options, run.run_id, issuer, workdir) as env:
            tpp_key = register_client(
                env,
                workdir,
                redirect_uri,
                "--access-token-ttl",
                str(ACCESS_TOKEN_TTL),
                client_id=TPP_CLIENT_ID,
                scope=SCOPE,
            )
            tpp = Tpp(TPP_CLIENT_ID, tpp_key, "ES256", issuer, redirect_uri, scope=SCOPE)
            rs_key = register_resource_server(env, workdir)
            rs = Tpp(RS_CLIENT_ID, rs_key, "ES256", issuer, redirect_uri, scope="")

            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):
                http = UrllibTransport()
                token = access_token(http, tpp)
                check_once(
                    http, issuer, introspection_request(rs, token, signed=signed), signed=signed
                )

                def make(_nonce: str | None) -> Prepared:
                    return introspection_request(rs, token, signed=signed)

                outcome = warm_up_and_run(
                    port,
                    options,
                    make,
                    active_jwt if signed else active_json,
                    nonce_from=None,
                    lifetime=ASSERTION_LIFETIME,
                    log=log,
                )

    variant = ".jwt" if signed else ""
    return report(
        benchmark="introspection.resource_server.private_key_jwt" + variant,
        stem="introspection" + variant.replace(".", "-"),
        run_id=run.run_id,
        options=options,
        config={
            "caller": "resource-server client, ES256 private_key_jwt",
            "answer": f"{JWT_MEDIA_TYPE} (PS256)" if signed else "application/json",
            "introspected": "one RS256 access token (client_credentials, active)",
            "access_token_ttl": ACCESS_TOKEN_TTL,
        },
        outcome=outcome,
        load_before=run.load_before,
    )


if __name__ == "__main__":
    raise SystemExit(main())
