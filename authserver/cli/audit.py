"""``authserver audit``: check the chain and stream it to a SIEM."""

from __future__ import annotations

import json
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from authserver.audit.service import to_json
from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("chain")
@json_option
def chain(as_json: bool) -> None:
    """Link every stored, unchained event into the hash chain now."""
    with app_services() as svc:
        linked = svc.audit.chain()
    emit({"linked": linked}, as_json, lambda d: f"linked {d['linked']} events")


@audit.command("verify")
@click.option(
    "--chain/--no-chain",
    "chain_first",
    default=False,
    help="Link pending events first (default: only check, so a stopped chainer shows).",
)
@json_option
def verify(chain_first: bool, as_json: bool) -> None:
    """Walk the hash chain and report the unchained window; exit 1 on a break or a stale window."""
    with app_services() as svc:
        if chain_first:
            svc.audit.chain()
        report = svc.audit.verify()
    data = {
        "ok": report.ok,
        "checked": report.checked,
        "broken_id": report.broken_id,
        "reason": report.reason,
        "unchained": report.unchained,
        "oldest_unchained_seconds": report.oldest_unchained_seconds,
    }
    emit(data, as_json, _verify_text)
    if not report.ok:
        sys.exit(1)


def _verify_text(data: dict[str, Any]) -> str:
    if not data["ok"]:
        return f"audit chain broken at event {data['broken_id']}: {data['reason']}"
    window = ""
    if data["unchained"]:
        age = data["oldest_unchained_seconds"]
        window = f"; {data['unchained']} events not chained yet (oldest {age:.1f} s)"
    return f"audit chain intact: {data['checked']} events{window}"


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-01-31T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit.command("export")
@click.option("--since", default=None, help="ISO 8601 timestamp; events at or after it.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
def export(since: str | None, output: Path | None) -> None:
    """Write events as JSON lines (one event per line) for a SIEM."""
    start = _parse_since(since)
    with app_services() as svc:
        stream = output.open("w") if output else sys.stdout
        try:
            for row in svc.audit.iter_events(start):
                stream.write(json.dumps(to_json(row), sort_keys=True) + "\n")
        finally:
            if output:
                stream.close()
