"""Making a domestic payment within its consent: every rule of ``POST /domestic-payments``
after the request parsed, and the one execution.

The token's consent must be the body's ``Data.ConsentId`` (else 400 ``U008``), a
domestic-payment consent of this client (else ``U008``), ``AUTH`` (else 400 ``U009``:
a consumed consent pays no second time), and the body's ``Initiation`` must equal the
consent's byte for byte in canonical JSON (else 400 ``U008``). Then the consent is used
up (AUTH → COND, compare-and-set) and the payment executed, recorded and audited in one
unit of work: of two racing payments exactly one commits, the other gets ``U009``.

The consent stores its Initiation with the account numbers sealed
(``payments/sealed_initiation.py``): ``create_consent`` is the one place that writes it,
and every rule here reads it opened through ``InitiationSeal.initiation``.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentGate
from authserver.checks.consent_gate import ConsentNotAuthorisedError
from authserver.checks.consent_gate import ConsentView
from authserver.clock import Clock
from authserver.events.outbox import EventOutbox
from authserver.openbanking.errors import CONSENT_MISMATCH
from authserver.openbanking.errors import INVALID_CONSENT_STATUS
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request
from authserver.openbanking.fields import canonical_json
from authserver.openbanking.payment_initiation import DomesticPaymentRequest
from authserver.payments.provider import RJCT
from authserver.payments.provider import Creditor
from authserver.payments.provider import Payment
from authserver.payments.provider import PaymentOrder
from authserver.payments.provider import PaymentProvider
from authserver.payments.sealed_initiation import InitiationSeal

KIND = "domestic_payment"
"""The consent kind (``consent.models.DOMESTIC_PAYMENT``)."""
AUTH = "AUTH"


def create_consent(
    consents: ConsentGate,
    initiations: InitiationSeal,
    *,
    client_id: str,
    scopes: list[str],
    initiation: Mapping[str, Any],
    details: Mapping[str, Any],
    request_id: str,
    expires_at: datetime | None = None,
) -> ConsentView:
    """A new payment consent (AWAU) whose ``details`` are ``details`` plus the checked
    ``initiation``, its account numbers sealed under the consent's id (chosen here, so the
    sealed values are bound to this consent's row from the first write)."""
    consent_id = str(uuid.uuid4())
    return consents.create(
        client_id=client_id,
        kind=KIND,
        scopes=scopes,
        details={**details, "Initiation": initiations.seal(consent_id, initiation)},
        expires_at=expires_at,
        request_id=request_id,
        consent_id=consent_id,
    )


def _consent_status_error() -> Exception:
    message = "The consent is not authorised or has been used."
    return bad_request(OBError(INVALID_CONSENT_STATUS, message, "Data.ConsentId"))


class DomesticPayments:
    def __init__(
        self,
        consents: ConsentGate,
        initiations: InitiationSeal,
        provider: PaymentProvider,
        audit: AuditTrail,
        clock: Clock,
        outbox: EventOutbox | None = None,
    ) -> None:
        self._consents = consents
        self._initiations = initiations
        self._provider = provider
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    def _consent(self, client_id: str, token_consent_id: str, consent_id: str) -> ConsentView:
        message = "The token was not granted for this consent."
        mismatch = bad_request(OBError(CONSENT_MISMATCH, message, "Data.ConsentId"))
        if not hmac.compare_digest(token_consent_id.encode(), consent_id.encode()):
            raise mismatch
        view = self._consents.view(consent_id)
        if view is None or view.client_id != client_id or view.kind != KIND:
            raise mismatch
        if view.status != AUTH or view.user_id is None or not view.selected_accounts:
            raise _consent_status_error()
        return view

    def pay(
        self,
        client_id: str,
        token_consent_id: str,
        request: DomesticPaymentRequest,
        *,
        request_id: str,
    ) -> tuple[Payment, ConsentView]:
        """The payment made (or recorded as rejected) and the consent it was made in."""
        view = self._consent(client_id, token_consent_id, request.consent_id)
        consented = canonical_json(self._initiations.initiation(view))
        if consented != request.initiation.canonical_json:
            message = "The Initiation differs from the consent's."
            raise bad_request(OBError(CONSENT_MISMATCH, message, "Data.Initiation"))
        initiation = request.initiation
        creditor = initiation.creditor_account
        order = PaymentOrder(
            payment_id=str(uuid.uuid4()),
            consent_id=view.consent_id,
            client_id=client_id,
            user_id=str(view.user_id),
            debtor_account_id=view.selected_accounts[0],
            amount=initiation.amount,
            currency=initiation.currency,
            creditor=Creditor(
                creditor.scheme_name,
                creditor.identification,
                creditor.name,
                creditor.secondary_identification,
            ),
            instruction_identification=initiation.instruction_identification,
            end_to_end_identification=initiation.end_to_end_identification,
            references=initiation.unstructured + initiation.references,
            at=self._clock.now(),
        )
        actor = f"client:{client_id}"
        try:
            payment = self._consents.consume(
                view.consent_id,
                actor=actor,
                reason=f"used by payment {order.payment_id}",
                request_id=request_id,
                then=lambda: self._execute(order, actor, request_id),
            )
        except ConsentNotAuthorisedError:
            raise _consent_status_error() from None
        return payment, view

    def _execute(self, order: PaymentOrder, actor: str, request_id: str) -> Payment:
        payment = self._provider.execute(order)
        if self._outbox is not None:
            # Staged with the payment; committed with the consent's move (ConsentGate.consume).
            self._outbox.payment_changed(
                payment_id=payment.payment_id,
                consent_id=payment.consent_id,
                client_id=payment.client_id,
                status=payment.status,
                status_reason=payment.status_reason,
            )
        self._audit.record(
            "payment.created",
            actor=actor,
            resource=f"payment:{payment.payment_id}",
            outcome="success" if payment.status != RJCT else "failure",
            changes={
                "consent_id": payment.consent_id,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "status": payment.status,
                "status_reason": payment.status_reason,
                "debtor_account_id": payment.debtor_account_id,
                # Masked by the audit trail (DATA-2): never the whole number.
                "creditor": {
                    "scheme": payment.creditor.scheme_name,
                    "account_number": payment.creditor.identification,
                },
            },
            request_id=request_id,
            commit=False,  # committed with the consent's move (ConsentGate.consume)
        )
        return payment

    def funds_available(self, view: ConsentView) -> bool:
        """Whether the consent's debtor account covers its Initiation's amount now."""
        if view.user_id is None or not view.selected_accounts:
            return False
        money = self._initiations.initiation(view).get("InstructedAmount", {})
        return self._provider.funds_available(
            view.user_id,
            view.selected_accounts[0],
            Decimal(str(money.get("Amount", "0"))),
            str(money.get("Currency", "")),
        )
