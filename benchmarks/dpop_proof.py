"""DPoP proof validation benchmark: the in-process cost of ``DPoPValidator.validate`` per request.

What it does, in one process and bounded in count:

1. builds a real app the way the tests do: ``load_settings(...)`` in a temporary folder,
   SQLite migrated with ``authserver.migrate.upgrade``, the in-process store, the
   system clock, ``create_app``;
2. for each scenario (ES256 and PS256, without and with a server nonce) signs N proofs
   with joserfc before timing, each with its own ``jti`` and the current ``iat``; the
   signing time of each proof is kept as the reference "build" cost;
3. validates a few untimed proofs (warm-up), then each of the N proofs once, timing every
   ``svc.dpop.validate([proof], "POST", "/token", require_nonce=...)`` call alone, inside
   an app context: signature verification, claim checks, thumbprint, nonce HMAC and the
   replay-cache ``first_use``;
4. prints mean and p50/p90/p99/max in microseconds per validation and per build, and writes
   JSON to ``benchmarks/results/`` (git-ignored). Exits 1 if any proof was refused.

Run from the repository root: ``.venv/bin/python -m benchmarks.dpop_proof`` (``--help``).
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import Key

from authserver import create_app
from authserver import migrate
from authserver.context import services
from authserver.crypto.jose import FapiJWSRegistry
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.errors import UseDPoPNonceError
from authserver.settings import load_settings
from benchmarks.harness import bench_run
from benchmarks.harness import git_commit
from benchmarks.harness import machine
from benchmarks.harness import percentile
from benchmarks.harness import write_result
from tppkit import new_key

ISSUER = "https://as.example.test"
PATH = "/token"
ALGS = ("ES256", "PS256")


@dataclass(frozen=True)
class Scenario:
    alg: str
    nonce: bool

    @property
    def name(self) -> str:
        return f"{self.alg} {'with nonce' if self.nonce else 'no nonce'}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proofs", type=int, default=2000, help="timed proofs per scenario")
    parser.add_argument("--warmup", type=int, default=100, help="untimed proofs per scenario")
    args = parser.parse_args(argv)
    # Proofs are signed before timing with iat = now; all must be validated well inside
    # the 60 s past window, which bounds N (a PS256 proof takes ~1-2 ms to sign).
    if not 1 <= args.proofs <= 10000 or not 0 <= args.warmup <= 1000:
        parser.error("--proofs must be in 1..10000 and --warmup in 0..1000")
    return args


def build_proofs(key: Key, alg: str, count: int, nonce: str | None) -> tuple[list[str], list[int]]:
    """``count`` proofs for POST /token made now, and the nanoseconds each took to sign."""
    registry = FapiJWSRegistry([alg])
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    proofs: list[str] = []
    costs: list[int] = []
    for _ in range(count):
        began = time.perf_counter_ns()
        claims: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "htm": "POST",
            "htu": ISSUER + PATH,
            "iat": int(time.time()),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        proofs.append(jwt.encode(header, claims, key, registry=registry))
        costs.append(time.perf_counter_ns() - began)
    return proofs, costs


def time_validations(validate: Callable[[str], object], proofs: list[str]) -> tuple[list[int], int]:
    """Nanoseconds per validation, and how many proofs were refused."""
    costs: list[int] = []
    refused = 0
    gc.collect()
    for proof in proofs:
        began = time.perf_counter_ns()
        try:
            validate(proof)
        except (InvalidDPoPProofError, UseDPoPNonceError):
            refused += 1
        costs.append(time.perf_counter_ns() - began)
    return costs, refused


def summarise_us(costs_ns: list[int]) -> dict[str, float]:
    ordered = sorted(costs_ns)
    summary = {"mean": statistics.fmean(ordered)}
    for name, fraction in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)):
        summary[name] = percentile(ordered, fraction)
    return {name: round(value / 1000, 1) for name, value in summary.items()}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = f"sqlite:///{workdir / 'authserver.db'}"
    migrate.upgrade(database_url)
    settings = load_settings(
        env="test",
        issuer=ISSUER,
        instance_path=workdir / "instance",
        database_url=database_url,
        redis_url=None,
        # BENCH-ONLY master key, thrown away with the folder.
        master_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        log_level="WARNING",
    )
    app = create_app(settings)
    results: dict[str, Any] = {}
    with app.app_context():
        svc = services(app)
        for alg in ALGS:
            key = new_key(alg)
            for scenario in (Scenario(alg, nonce=False), Scenario(alg, nonce=True)):
                nonce = svc.dpop.nonces.current() if scenario.nonce else None

                def validate(proof: str, required: bool = scenario.nonce) -> object:
                    return svc.dpop.validate([proof], "POST", PATH, require_nonce=required)

                warmup, _ = build_proofs(key, alg, args.warmup, nonce)
                proofs, build_costs = build_proofs(key, alg, args.proofs, nonce)
                _, warm_refused = time_validations(validate, warmup)
                costs, refused = time_validations(validate, proofs)
                results[scenario.name] = {
                    "alg": alg,
                    "nonce": scenario.nonce,
                    "proofs": len(proofs),
                    "refused": refused + warm_refused,
                    "validate_us": summarise_us(costs),
                    "build_us": summarise_us(build_costs),
                    "proof_bytes": len(proofs[0]),
                }
        from authserver.db import db

        db.session.remove()
        db.engine.dispose()
    return results


def print_table(results: dict[str, Any]) -> None:
    columns = ("mean", "p50", "p90", "p99", "max")
    print(f"{'scenario':<20} {'what':<9}" + "".join(f"{c + ' µs':>11}" for c in columns))
    for name, result in results.items():
        for what in ("validate", "build"):
            row = result[f"{what}_us"]
            print(f"{name:<20} {what:<9}" + "".join(f"{row[c]:>11.1f}" for c in columns))
    for name, result in results.items():
        print(
            f"{name}: {result['proofs']} proofs of {result['proof_bytes']} bytes, "
            f"{result['refused']} refused"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with bench_run("authserver-bench-dpop-") as scaffold:
        results = run(args, scaffold.workdir)
    report = {
        "benchmark": "dpop_proof.validate",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(scaffold.load_before),
        "config": {
            "proofs": args.proofs,
            "warmup": args.warmup,
            "backends": "SQLite + in-process store",
            "clock": "system",
            "htu": ISSUER + PATH,
            "rsa_bits": 2048,
        },
        "results": results,
    }
    print(f"load average before the run {scaffold.load_before} on {os.cpu_count()} cpus")
    print_table(results)
    write_result("dpop_proof", scaffold.run_id, report)
    return 0 if all(r["refused"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
