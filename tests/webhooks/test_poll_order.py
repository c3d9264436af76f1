"""A poller that continues from the last ``seq`` it saw never skips an event (PostgreSQL).

Sequence values are handed out at INSERT: without the per-client lock, a transaction that
took seq 2 could commit before the one holding seq 1, and a poll between the two commits
would move the cursor past 1. The lock makes the second writer wait for the first.
"""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import text

from authserver.context import Services
from authserver.db import db
from authserver.events.outbox import EventOutbox
from authserver.events.signer import WebhookSigner
from authserver.events.ssrf import guard_from_settings
from authserver.events.subscriptions import WebhookSubscriptions
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="SQLite has one writer at a time: commits are in seq order"
)
CLIENT = "poll-order-tpp"
DEADLINE_SECONDS = 60.0  # generous: only a broken lock makes the wait run this long


def outbox(svc: Services) -> EventOutbox:
    return EventOutbox(svc.clock, WebhookSigner(svc.webhook_keys, svc.settings.issuer))


def polled(app: Flask, svc: Services) -> list[int]:
    with app.app_context():
        found = WebhookSubscriptions(svc.clock, guard_from_settings(svc.settings))
        return [event.seq for event in found.events_after(CLIENT, 0)]


def waiting_on_advisory_lock(app: Flask) -> bool:
    with app.app_context():
        query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return bool(db.session.scalar(query))


def test_a_later_event_waits_for_the_earlier_one_to_commit(app: Flask, services_: Services) -> None:
    data = {"consent_id": "c1", "status": "AUTH"}
    finished = threading.Event()

    def second_writer() -> None:
        with app.app_context():
            outbox(services_).emit(CLIENT, "consent.authorised", data)
            db.session.commit()
        finished.set()

    with app.app_context():
        first = outbox(services_).emit(CLIENT, "consent.authorised", data).seq
        writer = threading.Thread(target=second_writer)
        writer.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not waiting_on_advisory_lock(app) and not finished.is_set():
            assert time.monotonic() < deadline, "the second writer neither waited nor finished"
            time.sleep(0.01)
        assert not finished.is_set(), "the second event committed before the first"
        assert polled(app, services_) == []
        db.session.commit()
    writer.join(DEADLINE_SECONDS)
    assert finished.is_set()
    seqs = polled(app, services_)
    assert seqs[0] == first
    assert len(seqs) == 2
    assert seqs[1] > seqs[0]
