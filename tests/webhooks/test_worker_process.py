"""The real ``authserver webhooks worker``, killed with SIGKILL in the middle of a delivery
(the receiver holds the request open), loses nothing: the next worker takes the claim
after its lease and delivers the same signed event; operators then see no dead letter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import select

from authserver.context import Services
from authserver.db import db
from authserver.events.models import DELIVERED
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.experience import experience
from tests.ob_consents import create_consent
from tests.webhooks.kit import EventsCaller
from tests.webhooks.kit import running_receiver
from tppkit import Tpp

DEADLINE = 90.0  # generous: two cores shared by many test runs


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def worker_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "authserver", "webhooks", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
        if process.stderr is not None:
            process.stderr.close()


def _delivery(app: Flask) -> WebhookDelivery:
    with app.app_context():
        row = db.session.scalars(select(WebhookDelivery)).one()
        db.session.expunge(row)
        db.session.remove()
        return row


def test_sigkill_mid_delivery_loses_no_event(
    app: Flask,
    services_: Services,
    tpp: Tpp,
    user: str,
    caller: EventsCaller,
    cli_env: dict[str, str],
) -> None:
    env = {
        **cli_env,
        "AUTHSERVER_WEBHOOKS__LEASE_SECONDS": "2",
        "AUTHSERVER_WEBHOOKS__POLL_SECONDS": "0.2",
    }
    with running_receiver(hold=True) as receiver:
        assert caller.subscribe(receiver.url, ["consent.authorised"]).status_code == 201
        consent_id = create_consent(app, services_, tpp.client_id)
        with app.app_context():
            experience(app).consents.authorise(
                consent_id, user_id=user, accounts=["a"], request_id="t"
            )
            db.session.remove()

        with worker_process(env) as first:
            assert receiver.arrived.wait(DEADLINE), "the first worker never delivered"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(30)
        claimed = _delivery(app)
        assert claimed.status == PENDING
        assert claimed.claim_token is not None
        receiver.release.set()  # the held request now finds its worker gone

        with worker_process(env):
            wait_for(lambda: _delivery(app).status == DELIVERED, "the redelivery")
        tokens = receiver.tokens()

    assert len(tokens) == 2
    assert tokens[0] == tokens[1]
    delivered = _delivery(app)
    assert delivered.attempts == 1
    assert delivered.claim_token is None
    dead = subprocess.run(
        [sys.executable, "-m", "authserver", "webhooks", "dead-letters", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=True,
    )
    assert json.loads(dead.stdout) == []
