"""The parts of a payment request around its Initiation: ``Authorisation``, ``SCASupportData``
(consents only) and ``Risk``, each checked member by member (see
:mod:`authserver.openbanking.payment_initiation` for what is accepted and refused).

``PaymentPurposeCode`` and ``CategoryPurposeCode`` are checked as four capitals, not against
the ISO external code lists, which change more often than this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.fields import Problems
from authserver.openbanking.fields import boolean
from authserver.openbanking.fields import choice
from authserver.openbanking.fields import join
from authserver.openbanking.fields import member_object
from authserver.openbanking.fields import members
from authserver.openbanking.fields import optional_text

PAYMENT_CONTEXT_CODES = (
    "BillingGoodsAndServicesInAdvance",
    "BillingGoodsAndServicesInArrears",
    "EcommerceMerchantInitiatedPayment",
    "FaceToFacePointOfSale",
    "TransferToSelf",
    "TransferToThirdParty",
)
BENEFICIARY_ACCOUNT_TYPES = (
    "Business",
    "BusinessSavingsAccount",
    "Charity",
    "Collection",
    "Corporate",
    "Ewallet",
    "Government",
    "Investment",
    "ISA",
    "JointPersonal",
    "Pension",
    "Personal",
    "PersonalSavingsAccount",
    "Premier",
    "Wealth",
)
SCA_EXEMPTIONS = (
    "BillPayment",
    "ContactlessTravel",
    "EcommerceGoods",
    "EcommerceServices",
    "Kiosk",
    "Parking",
    "PartyToParty",
)
SCA_MEMBERS = (
    "RequestedSCAExemptionType",
    "AppliedAuthenticationApproach",
    "ReferencePaymentOrderId",
)
RISK_MEMBERS = (
    "PaymentContextCode",
    "MerchantCategoryCode",
    "MerchantCustomerIdentification",
    "ContractPresentIndicator",
    "BeneficiaryPrepopulatedIndicator",
    "PaymentPurposeCode",
    "CategoryPurposeCode",
    "BeneficiaryAccountType",
)
_PURPOSE_CODE = re.compile(r"[A-Z]{4}")
_ZONED_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


@dataclass(frozen=True)
class Authorisation:
    authorisation_type: str
    completion_date_time: datetime | None


def authorisation(problems: Problems, data: dict[str, Any]) -> Authorisation | None:
    if "Authorisation" not in data:
        return None
    found = member_object(
        problems,
        data,
        "Authorisation",
        required=("AuthorisationType",),
        optional=("CompletionDateTime",),
        path="Data",
    )
    kind = None
    if "AuthorisationType" in found:
        path = "Data.Authorisation.AuthorisationType"
        kind = choice(problems, found["AuthorisationType"], path, ("Any", "Single"))
    completion = None
    if "CompletionDateTime" in found:
        completion = _zoned_date_time(
            problems, found["CompletionDateTime"], "Data.Authorisation.CompletionDateTime"
        )
    return Authorisation(kind, completion) if kind is not None else None


def _zoned_date_time(problems: Problems, value: Any, path: str) -> datetime | None:
    """ISO 8601 with its zone, as the standard requires of every date-time."""
    if isinstance(value, str) and _ZONED_DATE_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    problems.add(FIELD_INVALID, "Must be an ISO 8601 date-time with its zone.", path)
    return None


def sca_support_data(problems: Problems, data: dict[str, Any]) -> dict[str, Any] | None:
    if "SCASupportData" not in data:
        return None
    found = member_object(problems, data, "SCASupportData", optional=SCA_MEMBERS, path="Data")
    where = "Data.SCASupportData"
    if "RequestedSCAExemptionType" in found:
        path = join(where, "RequestedSCAExemptionType")
        choice(problems, found["RequestedSCAExemptionType"], path, SCA_EXEMPTIONS)
    if "AppliedAuthenticationApproach" in found:
        path = join(where, "AppliedAuthenticationApproach")
        choice(problems, found["AppliedAuthenticationApproach"], path, ("CA", "SCA"))
    optional_text(problems, found, where, "ReferencePaymentOrderId", 40)
    return found


def risk(problems: Problems, root: dict[str, Any] | None) -> dict[str, Any]:
    if root is None or "Risk" not in root:
        return {}  # its absence is reported with the body's members
    found = members(problems, root["Risk"], "Risk", optional=RISK_MEMBERS)
    if found is None:
        return {}
    if "PaymentContextCode" in found:
        choice(
            problems, found["PaymentContextCode"], "Risk.PaymentContextCode", PAYMENT_CONTEXT_CODES
        )
    optional_text(problems, found, "Risk", "MerchantCategoryCode", 4, min_length=3)
    optional_text(problems, found, "Risk", "MerchantCustomerIdentification", 70)
    for flag in ("ContractPresentIndicator", "BeneficiaryPrepopulatedIndicator"):
        if flag in found:
            boolean(problems, found[flag], join("Risk", flag))
    for code in ("PaymentPurposeCode", "CategoryPurposeCode"):
        if code in found and not (
            isinstance(found[code], str) and _PURPOSE_CODE.fullmatch(found[code])
        ):
            problems.add(FIELD_INVALID, "Must be an ISO 20022 purpose code.", join("Risk", code))
    if "BeneficiaryAccountType" in found:
        path = "Risk.BeneficiaryAccountType"
        choice(problems, found["BeneficiaryAccountType"], path, BENEFICIARY_ACCOUNT_TYPES)
    return found
