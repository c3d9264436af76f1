"""``authserver audit``: check the chain and stream it to a SIEM."""

from __future__ import annotations

import json
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path

import click

from authserver.audit.service import to_json
from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@json_option
def verify(as_json: bool) -> None:
    """Walk the hash chain; exit 1 and name the first broken row if any."""
    with app_services() as svc:
        report = svc.audit.verify()
    data = {
        "ok": report.ok,
        "checked": report.checked,
        "broken_id": report.broken_id,
        "reason": report.reason,
    }
    emit(
        data,
        as_json,
        lambda d: (
            f"audit chain intact: {d['checked']} events"
            if d["ok"]
            else f"audit chain broken at event {d['broken_id']}: {d['reason']}"
        ),
    )
    if not report.ok:
        sys.exit(1)


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
