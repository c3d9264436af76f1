"""The side-by-side benchmark sends what it means to: every pre-rendered request is
well-formed HTTP/1.1, survives the pool file unchanged, and carries its own single-use
parts (assertion and DPoP ``jti``s) for the right server. No server, wrk or Node here:
the benchmark itself is run by hand (benchmarks/README.md)."""

from __future__ import annotations

import http.client
import io
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from benchmarks.harness.cpu import cpu_ms_between
from benchmarks.harness.cpu import tree_ticks
from benchmarks.harness.options import Prepared
from benchmarks.harness.wrk import read_pool
from benchmarks.harness.wrk import render
from benchmarks.harness.wrk import write_pool
from benchmarks.side_by_side import SCENARIOS
from benchmarks.side_by_side import Side
from tppkit import Tpp
from tppkit import generate_key
from tppkit import jwt_claims
from tppkit import jwt_header

ISSUER = "http://127.0.0.1:18080"


def _side() -> Side:
    key, dpop_client_key = generate_key("ES256"), generate_key("ES256")
    return Side(
        name="authserver",
        port=18080,
        issuer=ISSUER,
        token_path="/token",
        introspection_path="/introspect",
        jwks_path="/jwks",
        tpp=Tpp("bench-tpp", key, "ES256", ISSUER, "http://127.0.0.1/cb"),
        dpop_tpp=Tpp("bench-tpp-dpop", dpop_client_key, "ES256", ISSUER, "http://127.0.0.1/cb"),
        pid=0,
    )


def _parse(raw: bytes) -> tuple[str, str, http.client.HTTPMessage, bytes]:
    """Method, target, headers and body of one raw request, read the way a server does."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, _, header_block = head.partition(b"\r\n")
    method, target, version = request_line.decode("ascii").split(" ")
    assert version == "HTTP/1.1"
    headers = http.client.parse_headers(io.BytesIO(header_block + b"\r\n\r\n"))
    return method, target, headers, body


def _pool(name: str, count: int, tmp_path: Path) -> list[bytes]:
    side = _side()
    scenario = SCENARIOS[name]
    token = "a-token" if scenario.needs_token else None
    dpop_key = generate_key("ES256") if scenario.dpop else None
    rendered = [render(scenario.make(side, token, dpop_key), side.host) for _ in range(count)]
    path = tmp_path / "pool.bin"
    write_pool(path, rendered)
    read = read_pool(path)
    assert read == rendered
    return read


@pytest.mark.parametrize("name", ["token", "token_dpop", "introspection"])
def test_every_request_is_well_formed_and_single_use(name: str, tmp_path: Path) -> None:
    pool = _pool(name, 5, tmp_path)
    assertion_ids: set[str] = set()
    proof_ids: set[str] = set()
    for raw in pool:
        method, target, headers, body = _parse(raw)
        assert method == "POST"
        assert headers["Host"] == "127.0.0.1:18080"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert int(headers["Content-Length"]) == len(body)
        form = dict(urllib.parse.parse_qsl(body.decode("ascii"), strict_parsing=True))
        claims = jwt_claims(form["client_assertion"])
        assert claims["aud"] == ISSUER
        assert claims["exp"] - claims["iat"] <= 300  # authserver's assertion_max_lifetime
        assertion_ids.add(claims["jti"])
        if name == "introspection":
            assert target == "/introspect"
            assert form["token"] == "a-token"
            assert claims["sub"] == "bench-tpp"
        else:
            assert target == "/token"
            assert form["grant_type"] == "client_credentials"
        if name == "token_dpop":
            assert claims["sub"] == "bench-tpp-dpop"
            assert jwt_header(headers["DPoP"])["typ"] == "dpop+jwt"
            proof = jwt_claims(headers["DPoP"])
            assert (proof["htm"], proof["htu"]) == ("POST", ISSUER + "/token")
            proof_ids.add(proof["jti"])
        else:
            assert "DPoP" not in headers
    assert len(assertion_ids) == len(pool)
    assert len(proof_ids) == (len(pool) if name == "token_dpop" else 0)


def test_the_jwks_request_is_a_bodyless_get(tmp_path: Path) -> None:
    (raw,) = _pool("jwks", 1, tmp_path)
    method, target, headers, body = _parse(raw)
    assert (method, target, body) == ("GET", "/jwks", b"")
    assert "Content-Length" not in headers
    assert SCENARIOS["jwks"].reusable


@pytest.mark.parametrize(
    ("name", "body", "ok"),
    [
        ("token", b'{"access_token":"x","token_type":"Bearer"}', True),
        ("token", b'{"error":"invalid_client"}', False),
        ("token_dpop", b'{"access_token": "x", "token_type": "DPoP"}', True),
        ("token_dpop", b'{"access_token":"x","token_type":"Bearer"}', False),
        ("introspection", b'{"active":true}', True),
        ("introspection", b'{"active": false}', False),
        ("jwks", b'{"keys": []}', True),
    ],
)
def test_the_success_patterns_tell_answers_apart(name: str, body: bytes, ok: bool) -> None:
    """The Lua patterns use only %s besides literals, so their regex twin decides the same."""
    pattern = SCENARIOS[name].ok_pattern
    assert set(re.findall(r"%.", pattern)) <= {"%s"}
    assert (re.search(pattern.replace("%s", r"\s"), body.decode()) is not None) is ok


@pytest.mark.parametrize(
    ("header", "value"), [("X-Evil", "a\r\nInjected: 1"), ("Bad:Name", "v"), ("X", "a\nb")]
)
def test_a_header_that_would_split_the_request_is_refused(header: str, value: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        render(Prepared("GET", "/jwks", None, {header: value}), "127.0.0.1:1")


def test_cpu_time_counts_the_process_and_new_children() -> None:
    readings = tree_ticks(os.getpid())
    assert os.getpid() in readings
    assert all(ticks >= 0 for ticks in readings.values())
    # A child that appeared in the window counts in full; one that left is not subtracted.
    assert cpu_ms_between({1: 100, 2: 50}, {1: 150, 3: 20}) == pytest.approx(
        70 * 1000 / os.sysconf("SC_CLK_TCK")
    )
