"""Part 7 across processes: two ``authserver run`` processes sharing PostgreSQL and Redis
receive a payment each on the same consent (different idempotency keys) at the same
moment; exactly one payment and one debit are made, the other is refused with ``U009``.
A real server runs on the real clock, so proofs and signatures carry the real time."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from authserver.accounts.models import AccountBalanceRow
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.openbanking.fields import canonical_json
from authserver.payments.models import DomesticPaymentRow
from authserver.pisp.service import create_consent
from authserver.tokens.access_token import TokenSubject
from tests.conftest import TEST_DATABASE_URL
from tests.conftest import TEST_REDIS_URL
from tests.payments.kit import DEBTOR
from tests.payments.kit import INITIATION
from tests.payments.kit import authorise
from tests.payments.kit import debtor_account
from tests.payments.kit import payment_body
from tests.revocation.test_propagation import http
from tests.revocation.test_propagation import resource_servers
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.ob_signing import ob_signature

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.postgres,
    pytest.mark.skipif(
        TEST_DATABASE_URL is None or TEST_REDIS_URL is None,
        reason="needs PostgreSQL and Redis: separate processes share both",
    ),
]
PAYMENTS = PISP_PREFIX + "/domestic-payments"


def test_two_processes_racing_on_one_consent_pay_once(
    app: Flask, svc: Services, tpp: Tpp, user: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    debtor_account(app, svc, user)
    view = create_consent(
        experience(app).consents,
        svc.initiations,
        client_id=tpp.client_id,
        scopes=["payments:write"],
        initiation=json.loads(canonical_json(INITIATION)),
        details={"Risk": {}},
        request_id="t",
    )
    db.session.commit()
    authorise(app, view.consent_id, user)
    key = generate_key("ES256")
    svc.keys.ensure_keys()  # before any server starts, so no two processes race to
    client = svc.clients.get(tpp.client_id)
    assert client is not None
    subject = TokenSubject(
        sub=user,
        scopes=("payments:write",),
        user_id=user,
        consent_id=view.consent_id,
        dpop_jkt=str(key.thumbprint()),
    )
    token = str(svc.tokens.issue(client, subject)["access_token"])
    db.session.commit()
    body = json.dumps(payment_body(view.consent_id)).encode()
    issuer = svc.settings.issuer

    with resource_servers(cli_env, [tmp_path / "a.log", tmp_path / "b.log"]) as bases:
        requests = [
            urllib.request.Request(  # noqa: S310 -- loopback
                base + PAYMENTS,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"DPoP {token}",
                    "DPoP": dpop_proof(key, "POST", issuer + PAYMENTS, access_token=token),
                    "x-idempotency-key": f"key-{index}",
                    "x-jws-signature": ob_signature(
                        tpp.key, body, client_id=tpp.client_id, alg=tpp.alg
                    ),
                },
            )
            for index, base in enumerate(bases)
        ]
        barrier = threading.Barrier(len(requests))
        answers: list[tuple[int, dict[str, str], bytes]] = []

        def send(request: urllib.request.Request) -> None:
            barrier.wait()
            answers.append(http(request))

        threads = [threading.Thread(target=send, args=(r,)) for r in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [201, 400], [b for _, _, b in answers]
    refused: dict[str, Any] = json.loads(next(b for s, _, b in answers if s == 400))
    assert refused["Errors"][0]["ErrorCode"] == "U009"
    db.session.rollback()
    made = db.session.scalars(
        sa.select(DomesticPaymentRow.status).where(DomesticPaymentRow.consent_id == view.consent_id)
    ).all()
    assert made == ["ACSC"]
    balance = db.session.scalar(
        sa.select(AccountBalanceRow.amount_minor).where(AccountBalanceRow.account_id == DEBTOR)
    )
    assert balance == 10000 - 2550
