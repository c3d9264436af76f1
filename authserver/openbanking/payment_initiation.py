"""Request bodies of a domestic single immediate payment (UK OB v4.0 Payment Initiation API).

``POST /domestic-payment-consents`` (``OBWriteDomesticConsent4``) and ``POST
/domestic-payments`` (``OBWriteDomestic2``) are parsed here and nowhere else: every field is
checked, every failure is collected, and one ``OBErrorResponse1`` lists them all (400, each
with its code and JSON Path). The value rules (amount, currency, account identifiers) live in
:mod:`authserver.openbanking.payment_rules`.

What we accept, narrowed from the specification's schemas:

- ``Data``: ``ReadRefundAccount`` (Yes/No), ``Initiation``, ``Authorisation``
  {``AuthorisationType`` Any/Single, ``CompletionDateTime`` with its zone},
  ``SCASupportData`` {``RequestedSCAExemptionType``, ``AppliedAuthenticationApproach``,
  ``ReferencePaymentOrderId``}; for a payment, ``ConsentId`` (1-128) and ``Initiation``.
- ``Initiation``: ``InstructionIdentification`` and ``EndToEndIdentification`` (1-35),
  ``LocalInstrument`` (``UK.OBIE.FPS``, ``UK.OBIE.BACS`` or ``UK.OBIE.CHAPS``; the code set's
  other instruments are ``U026``), ``InstructedAmount`` {``Amount``, ``Currency``},
  ``DebtorAccount`` and ``CreditorAccount`` {``SchemeName``, ``Identification``, ``Name``
  (1-350, required for the creditor), ``SecondaryIdentification`` (1-34)},
  ``RemittanceInformation`` in the v4.0 shape: ``Unstructured`` (up to 10 lines of 1-140
  printable ASCII) and ``Structured`` (up to 10 items holding only ``CreditorReferenceInformation``
  {``Reference`` and ``Issuer``, 1-35 printable ASCII, ``Code``}).
- ``Risk``: ``PaymentContextCode``, ``MerchantCategoryCode`` (3-4),
  ``MerchantCustomerIdentification`` (1-70), ``ContractPresentIndicator``,
  ``BeneficiaryPrepopulatedIndicator``,
  ``PaymentPurposeCode`` and ``CategoryPurposeCode`` (four capitals: the ISO external code
  lists change more often than this module), ``BeneficiaryAccountType``.

Refused as unexpected (``U005``), although the specification allows them, because a domestic
single immediate payment here has no use for them and an unchecked field is a field nobody
shows the customer: ``CreditorAgent``, ``CreditorPostalAddress``, ``UltimateCreditor``,
``UltimateDebtor``, ``RegulatoryReporting``, ``SupplementaryData``, an account's ``Proxy``,
``Structured`` remittance members other than ``CreditorReferenceInformation``
(``ReferredDocumentInformation``, ``ReferredDocumentAmount``, ``Invoicer``, ``Invoicee``,
``TaxRemittance``, ``AdditionalRemittanceInformation``) and ``Risk.DeliveryAddress``.
Every string also refuses control characters. ``CompletionDateTime`` is checked for form, not
for being in the future (that needs the clock: the consent service's rule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import TypeVar

from authserver.openbanking import payment_context as context
from authserver.openbanking import payment_rules as rules
from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.fields import Problems
from authserver.openbanking.fields import canonical_json
from authserver.openbanking.fields import choice
from authserver.openbanking.fields import items
from authserver.openbanking.fields import join
from authserver.openbanking.fields import load_object
from authserver.openbanking.fields import member_object
from authserver.openbanking.fields import members
from authserver.openbanking.fields import optional_text
from authserver.openbanking.fields import text
from authserver.openbanking.payment_context import Authorisation

T = TypeVar("T")

UNSUPPORTED_LOCAL_INSTRUMENT = "U026"  # UK.OBIE.Unsupported.LocalInstrument

LOCAL_INSTRUMENTS = ("UK.OBIE.FPS", "UK.OBIE.BACS", "UK.OBIE.CHAPS")
ID_MAX = 35  # InstructionIdentification, EndToEndIdentification
NAME_MAX = 350  # CreditorAccount.Name, DebtorAccount.Name
SECONDARY_ID_MAX = 34
CONSENT_ID_MAX = 128
UNSTRUCTURED_MAX = 140
REFERENCE_MAX = 35  # CreditorReferenceInformation.Reference and Issuer
REMITTANCE_ITEMS_MAX = 10  # ours: the standard sets no bound
CREDITOR_REFERENCE_CODES = ("DISP", "FXDR", "PUOR", "RPIN", "RADM", "SCOR")


@dataclass(frozen=True)
class AccountReference:
    """``DebtorAccount`` or ``CreditorAccount``."""

    scheme_name: str
    identification: str
    name: str | None
    secondary_identification: str | None


@dataclass(frozen=True)
class DomesticInitiation:
    """A checked ``Initiation``; ``canonical_json`` is what a payment must equal exactly.

    Values are kept as sent (``"10.50"`` stays ``"10.50"`` in the canonical text): the
    payment's Initiation must match the consent's, not merely mean the same amount."""

    instruction_identification: str
    end_to_end_identification: str
    local_instrument: str | None
    amount: Decimal
    currency: str
    debtor_account: AccountReference | None
    creditor_account: AccountReference
    unstructured: tuple[str, ...]
    references: tuple[str, ...]
    canonical_json: str

    def canonical(self) -> dict[str, Any]:
        """The Initiation as a fresh dict (for storing in the consent and echoing back)."""
        result: dict[str, Any] = json.loads(self.canonical_json)
        return result


@dataclass(frozen=True)
class DomesticPaymentConsentRequest:
    """A checked ``OBWriteDomesticConsent4``."""

    initiation: DomesticInitiation
    read_refund_account: bool
    authorisation: Authorisation | None
    sca_support_data_json: str | None
    risk_json: str


@dataclass(frozen=True)
class DomesticPaymentRequest:
    """A checked ``OBWriteDomestic2``."""

    consent_id: str
    initiation: DomesticInitiation
    risk_json: str


def parse_domestic_payment_consent(body: bytes | str) -> DomesticPaymentConsentRequest:
    """Parse ``POST /domestic-payment-consents``; raise 400 listing every failing field."""
    problems = Problems()
    root = members(problems, load_object(body), "", required=("Data", "Risk"))
    data_optional = ("ReadRefundAccount", "Authorisation", "SCASupportData")
    data = member_object(problems, root, "Data", required=("Initiation",), optional=data_optional)
    initiation = _initiation(problems, data)
    refund = data.get("ReadRefundAccount", "No")
    choice(problems, refund, "Data.ReadRefundAccount", ("Yes", "No"))
    authorisation = context.authorisation(problems, data)
    sca = context.sca_support_data(problems, data)
    risk = context.risk(problems, root)
    problems.raise_if_any()
    return DomesticPaymentConsentRequest(
        initiation=_parsed(initiation),
        read_refund_account=refund == "Yes",
        authorisation=authorisation,
        sca_support_data_json=canonical_json(sca) if sca is not None else None,
        risk_json=canonical_json(risk),
    )


def parse_domestic_payment(body: bytes | str) -> DomesticPaymentRequest:
    """Parse ``POST /domestic-payments``; raise 400 listing every failing field."""
    problems = Problems()
    root = members(problems, load_object(body), "", required=("Data", "Risk"))
    data = member_object(problems, root, "Data", required=("ConsentId", "Initiation"))
    consent_id = optional_text(problems, data, "Data", "ConsentId", CONSENT_ID_MAX)
    initiation = _initiation(problems, data)
    risk = context.risk(problems, root)
    problems.raise_if_any()
    return DomesticPaymentRequest(_parsed(consent_id), _parsed(initiation), canonical_json(risk))


def _parsed(value: T | None) -> T:
    """A part that parsed: once no problem was recorded, every part has a value."""
    if value is None:
        raise RuntimeError("a part failed without recording a problem")
    return value


def _initiation(problems: Problems, data: dict[str, Any]) -> DomesticInitiation | None:
    """``Data.Initiation``; None when absent (reported with ``Data``) or failing."""
    path = "Data.Initiation"
    if "Initiation" not in data:
        return None
    before = len(problems.errors)
    required = (
        "InstructionIdentification",
        "EndToEndIdentification",
        "InstructedAmount",
        "CreditorAccount",
    )
    optional = ("LocalInstrument", "DebtorAccount", "RemittanceInformation")
    found = members(problems, data["Initiation"], path, required=required, optional=optional)
    if found is None:
        return None
    instruction_id = optional_text(problems, found, path, "InstructionIdentification", ID_MAX)
    end_to_end_id = optional_text(problems, found, path, "EndToEndIdentification", ID_MAX)
    local_instrument = _local_instrument(problems, found, path)
    money = member_object(
        problems, found, "InstructedAmount", required=("Amount", "Currency"), path=path
    )
    money_path = join(path, "InstructedAmount")
    currency = None
    if "Currency" in money:
        currency = rules.currency(problems, money["Currency"], join(money_path, "Currency"))
    amount = None
    if "Amount" in money:
        amount = rules.amount(problems, money["Amount"], join(money_path, "Amount"), currency)
    debtor = _account(problems, found, path, "DebtorAccount", name_required=False)
    creditor = _account(problems, found, path, "CreditorAccount", name_required=True)
    unstructured, references = _remittance(problems, found, path)
    if len(problems.errors) > before:
        return None
    return DomesticInitiation(
        instruction_identification=_parsed(instruction_id),
        end_to_end_identification=_parsed(end_to_end_id),
        local_instrument=local_instrument,
        amount=_parsed(amount),
        currency=_parsed(currency),
        debtor_account=debtor,
        creditor_account=_parsed(creditor),
        unstructured=unstructured,
        references=references,
        canonical_json=canonical_json(found),
    )


def _local_instrument(problems: Problems, parent: dict[str, Any], path: str) -> str | None:
    if "LocalInstrument" not in parent:
        return None
    value, where = parent["LocalInstrument"], join(path, "LocalInstrument")
    if not isinstance(value, str):
        problems.add(FIELD_INVALID, "Must be a string.", where)
        return None
    if value not in LOCAL_INSTRUMENTS:
        problems.add(UNSUPPORTED_LOCAL_INSTRUMENT, "Local instrument not supported.", where)
        return None
    return value


def _account(
    problems: Problems, parent: dict[str, Any], path: str, name: str, *, name_required: bool
) -> AccountReference | None:
    required = ("SchemeName", "Identification") + (("Name",) if name_required else ())
    optional = ("SecondaryIdentification",) + (() if name_required else ("Name",))
    found = member_object(problems, parent, name, required=required, optional=optional, path=path)
    where = join(path, name)
    scheme = None
    if "SchemeName" in found:
        scheme = rules.scheme(problems, found["SchemeName"], join(where, "SchemeName"))
    identification = None
    if "Identification" in found:
        identification = rules.identification(
            problems, found["Identification"], join(where, "Identification"), scheme
        )
    holder = optional_text(problems, found, where, "Name", NAME_MAX)
    secondary = optional_text(problems, found, where, "SecondaryIdentification", SECONDARY_ID_MAX)
    if scheme is None or identification is None:
        return None
    return AccountReference(scheme, identification, holder, secondary)


def _remittance(
    problems: Problems, parent: dict[str, Any], path: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found = member_object(
        problems,
        parent,
        "RemittanceInformation",
        optional=("Unstructured", "Structured"),
        path=path,
    )
    where = join(path, "RemittanceInformation")
    lines: list[str] = []
    if "Unstructured" in found:
        array_path = join(where, "Unstructured")
        for index, line in enumerate(
            items(problems, found["Unstructured"], array_path, max_items=REMITTANCE_ITEMS_MAX)
        ):
            checked = text(
                problems,
                line,
                join(array_path, index),
                max_length=UNSTRUCTURED_MAX,
                ascii_only=True,
            )
            lines.extend([checked] if checked is not None else [])
    references: list[str] = []
    if "Structured" in found:
        array_path = join(where, "Structured")
        for index, item in enumerate(
            items(problems, found["Structured"], array_path, max_items=REMITTANCE_ITEMS_MAX)
        ):
            references.extend(_creditor_reference(problems, item, join(array_path, index)))
    return tuple(lines), tuple(references)


def _creditor_reference(problems: Problems, item: Any, path: str) -> list[str]:
    structured = members(problems, item, path, required=("CreditorReferenceInformation",))
    if structured is None:
        return []
    info = member_object(
        problems,
        structured,
        "CreditorReferenceInformation",
        optional=("Code", "Issuer", "Reference"),
        path=path,
    )
    where = join(path, "CreditorReferenceInformation")
    if "Code" in info:
        choice(problems, info["Code"], join(where, "Code"), CREDITOR_REFERENCE_CODES)
    optional_text(problems, info, where, "Issuer", REFERENCE_MAX, ascii_only=True)
    reference = optional_text(problems, info, where, "Reference", REFERENCE_MAX, ascii_only=True)
    return [reference] if reference is not None else []
