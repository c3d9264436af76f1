"""``authserver webhooks``: the delivery worker and the operators' dead-letter tools."""

from __future__ import annotations

import os
import signal
import socket
import threading
from types import FrameType
from typing import Any

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.cli.common import operator
from authserver.context import Services
from authserver.events.signer import WebhookSigner
from authserver.events.ssrf import guard_from_settings
from authserver.events.worker import DeliveryWorker


@click.group()
def webhooks() -> None:
    """Webhook event delivery."""


def _worker(svc: Services) -> DeliveryWorker:
    return DeliveryWorker(
        svc.settings.webhooks,
        svc.clock,
        guard_from_settings(svc.settings),
        WebhookSigner(svc.webhook_keys, svc.settings.issuer),
    )


@webhooks.command("worker")
@click.option("--once", is_flag=True, help="Run one round and exit (cron, tests).")
def worker(once: bool) -> None:
    """Deliver due events until SIGTERM/SIGINT; several workers may run at once."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with app_services() as svc:
        svc.webhook_keys.ensure_keys()
        delivery = _worker(svc)
        click.echo(f"webhooks worker {socket.gethostname()}:{os.getpid()} started", err=True)
        while not stop.is_set():
            done = delivery.run_once()
            if once:
                break
            if done == 0:
                stop.wait(svc.settings.webhooks.poll_seconds)


@webhooks.command("redeliver")
@click.argument("event_id")
@json_option
def redeliver(event_id: str, as_json: bool) -> None:
    """Queue an event's deliveries again (dead-lettered or delivered ones)."""
    with app_services() as svc:
        count = _worker(svc).redeliver(event_id)
        if count == 0:
            raise click.ClickException("no delivery of that event to queue again")
        svc.audit.record(
            "webhooks.redelivered",
            actor=operator(),
            resource=f"webhook_event:{event_id}",
            changes={"deliveries": count},
        )
    emit({"event_id": event_id, "queued": count}, as_json, lambda r: f"queued {r['queued']}")


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'EVENT_ID':36} {'TYPE':24} {'ATTEMPTS':>8}  LAST_ERROR"]
    for row in rows:
        lines.append(
            f"{row['event_id']:36} {row['event_type']:24} {row['attempts']:8}  {row['last_error']}"
        )
    return "\n".join(lines)


@webhooks.command("dead-letters")
@json_option
def dead_letters(as_json: bool) -> None:
    """Deliveries that failed every attempt, oldest event first."""
    with app_services() as svc:
        rows = [
            {
                "event_id": event.event_id,
                "event_type": event.event_type,
                "client_id": event.client_id,
                "callback_url": delivery.callback_url,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
            }
            for delivery, event in _worker(svc).dead_letters()
        ]
    emit(rows, as_json, _table)
