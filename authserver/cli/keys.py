"""``authserver keys``: inspect and rotate signing keys."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.cli.common import operator
from authserver.context import Services
from authserver.keys.service import KeyService

use_option = click.option(
    "--use",
    type=click.Choice(["token", "webhook"]),
    default="token",
    show_default=True,
    help="Which key ring: token keys (/jwks) or webhook keys (/v1/.well-known/jwks.json).",
)


def _ring(svc: Services, use: str) -> KeyService:
    return svc.webhook_keys if use == "webhook" else svc.keys


@click.group()
def keys() -> None:
    """Signing keys and the published JWKS."""


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'KID':45} {'ALG':6} {'STATE':8} {'AGE(d)':>7}  PUBLISHED"]
    for row in rows:
        lines.append(
            f"{row['kid']:45} {row['alg']:6} {row['state']:8} {row['age_days']:7.2f}  "
            f"{'yes' if row['published'] else 'no'}"
        )
    return "\n".join(lines)


@keys.command("list")
@use_option
@json_option
def list_keys(use: str, as_json: bool) -> None:
    """List every key with its state (active, retired, expired) and age."""
    with app_services() as svc:
        ring = _ring(svc, use)
        ring.ensure_keys()
        rows = [
            {
                **asdict(info),
                "created_at": info.created_at.isoformat(),
                "retired_at": info.retired_at.isoformat() if info.retired_at else None,
            }
            for info in ring.list_keys()
        ]
    emit(rows, as_json, _table)


@keys.command("rotate")
@click.option("--if-due", is_flag=True, help="Rotate only keys older than the rotation age.")
@use_option
@json_option
def rotate(if_due: bool, use: str, as_json: bool) -> None:
    """Make new active keys; the old ones stay published for the overlap period."""
    with app_services() as svc:
        ring = _ring(svc, use)
        ring.ensure_keys()
        fresh = ring.rotate_due() if if_due else ring.rotate()
        rotated = [{"kid": row.kid, "alg": row.alg} for row in fresh]
        if rotated:
            svc.audit.record(
                "keys.rotated",
                actor=operator(),
                resource="signing_keys",
                changes={"new": rotated, "use": use},
            )
    emit(
        rotated,
        as_json,
        lambda r: "\n".join(f"new {k['alg']} key {k['kid']}" for k in r) or "no key was due",
    )
