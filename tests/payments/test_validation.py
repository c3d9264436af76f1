"""API-2: every field of a domestic payment consent or payment, each failure with its Path."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.payment_initiation import parse_domestic_payment
from authserver.openbanking.payment_initiation import parse_domestic_payment_consent

INITIATION = "Data.Initiation"
AMOUNT = "Data.Initiation.InstructedAmount.Amount"
CURRENCY = "Data.Initiation.InstructedAmount.Currency"
CREDITOR = "Data.Initiation.CreditorAccount"
VALID_IBAN = "GB33BUKB20201555555555"


def consent_body(**initiation_changes: Any) -> dict[str, Any]:
    initiation: dict[str, Any] = {
        "InstructionIdentification": "ACME412",
        "EndToEndIdentification": "FRESCO.21302.GFX.20",
        "LocalInstrument": "UK.OBIE.FPS",
        "InstructedAmount": {"Amount": "165.88", "Currency": "GBP"},
        "DebtorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": "11280001234567",
        },
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": "08080021325698",
            "Name": "ACME Inc",
            "SecondaryIdentification": "0002",
        },
        "RemittanceInformation": {
            "Unstructured": ["Internal ops code 5120101"],
            "Structured": [{"CreditorReferenceInformation": {"Reference": "FRESCO-101"}}],
        },
    }
    initiation.update(initiation_changes)
    return {
        "Data": {"ReadRefundAccount": "Yes", "Initiation": initiation},
        "Risk": {"PaymentContextCode": "EcommerceMerchantInitiatedPayment"},
    }


def errors_of(body: Any, parse: Any = parse_domestic_payment_consent) -> list[tuple[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(OBErrorResponse) as caught:
        parse(raw)
    assert caught.value.status == 400
    return [
        (error["ErrorCode"], error.get("Path", "")) for error in caught.value.to_json()["Errors"]
    ]


def with_amount(amount: Any, currency: Any = "GBP") -> dict[str, Any]:
    return consent_body(InstructedAmount={"Amount": amount, "Currency": currency})


def with_creditor(**changes: Any) -> dict[str, Any]:
    creditor = {"SchemeName": "UK.OBIE.IBAN", "Identification": VALID_IBAN, "Name": "ACME Inc"}
    creditor.update(changes)
    return consent_body(CreditorAccount={k: v for k, v in creditor.items() if v is not None})


# -- a good request ------------------------------------------------------------------


def test_valid_consent_parses_with_decimal_amount_and_canonical_initiation() -> None:
    parsed = parse_domestic_payment_consent(json.dumps(consent_body()).encode())
    initiation = parsed.initiation
    assert initiation.amount == Decimal("165.88")
    assert initiation.currency == "GBP"
    assert initiation.creditor_account.name == "ACME Inc"
    assert initiation.references == ("FRESCO-101",)
    assert initiation.canonical() == consent_body()["Data"]["Initiation"]
    assert parsed.read_refund_account is True
    assert json.loads(parsed.risk_json) == consent_body()["Risk"]


def test_canonical_initiation_ignores_member_order_but_keeps_values_as_sent() -> None:
    body = consent_body()
    reordered = dict(reversed(list(body["Data"]["Initiation"].items())))
    first = parse_domestic_payment_consent(json.dumps(body))
    second = parse_domestic_payment_consent(json.dumps({**body, "Data": {"Initiation": reordered}}))
    assert first.initiation.canonical_json == second.initiation.canonical_json
    short = parse_domestic_payment_consent(json.dumps(with_amount("165.8")))
    padded = parse_domestic_payment_consent(json.dumps(with_amount("165.80")))
    assert short.initiation.amount == padded.initiation.amount
    assert short.initiation.canonical_json != padded.initiation.canonical_json


def test_valid_payment_parses_consent_id_and_initiation() -> None:
    body = consent_body()
    payment = {
        "Data": {"ConsentId": "pdc-1", "Initiation": body["Data"]["Initiation"]},
        "Risk": body["Risk"],
    }
    parsed = parse_domestic_payment(json.dumps(payment).encode())
    assert parsed.consent_id == "pdc-1"
    consent = parse_domestic_payment_consent(json.dumps(body))
    assert parsed.initiation == consent.initiation
    assert parsed.risk_json == consent.risk_json


def test_valid_iban_creditor_and_jpy_whole_amount_pass() -> None:
    body = with_creditor()
    body["Data"]["Initiation"]["InstructedAmount"] = {"Amount": "1000", "Currency": "JPY"}
    parsed = parse_domestic_payment_consent(json.dumps(body))
    assert parsed.initiation.creditor_account.identification == VALID_IBAN


# -- amount and currency -------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-1.00", "1000000.01", "1e3", "1,00", " 10.00", "10.", ".5", 10, ""]
)
def test_amount_outside_range_or_pattern_is_field_invalid(amount: Any) -> None:
    assert errors_of(with_amount(amount)) == [("U002", AMOUNT)]


def test_amount_of_exactly_one_million_passes() -> None:
    parsed = parse_domestic_payment_consent(json.dumps(with_amount("1000000.00")))
    assert parsed.initiation.amount == Decimal("1000000")


def test_three_decimals_in_gbp_is_field_invalid() -> None:
    assert errors_of(with_amount("10.001")) == [("U002", AMOUNT)]


def test_decimals_follow_the_currency_minor_units() -> None:
    assert errors_of(with_amount("100.5", "JPY")) == [("U002", AMOUNT)]
    parse_domestic_payment_consent(json.dumps(with_amount("1.234", "BHD")))  # three minor units


def test_non_ascii_digits_are_not_an_amount() -> None:
    assert errors_of(with_amount("\u0661\u0660")) == [("U002", AMOUNT)]  # Arabic-Indic 10


@pytest.mark.parametrize("currency", ["XYZ", "gbp", "GB", "GBPX", 826])
def test_unknown_or_malformed_currency_is_field_invalid(currency: Any) -> None:
    assert errors_of(with_amount("10", currency)) == [("U002", CURRENCY)]


@pytest.mark.parametrize("currency", ["XAU", "XXX", "XDR"])
def test_iso_code_without_minor_units_is_unsupported_currency(currency: str) -> None:
    assert errors_of(with_amount("10", currency)) == [("U023", CURRENCY)]


# -- accounts --------------------------------------------------------------------------


def test_iban_with_bad_check_digit_is_refused() -> None:
    bad = "GB34BUKB20201555555555"
    assert errors_of(with_creditor(Identification=bad)) == [("U021", f"{CREDITOR}.Identification")]


@pytest.mark.parametrize(
    "iban",
    ["GB33BUKB2020155555555", "gb33bukb20201555555555", "GB33 BUKB 2020 1555 5555 55", "ZZ33ABC"],
)
def test_iban_of_wrong_length_case_or_country_is_refused(iban: str) -> None:
    assert errors_of(with_creditor(Identification=iban)) == [("U021", f"{CREDITOR}.Identification")]


@pytest.mark.parametrize("identification", ["0808002132569", "080800213256981", "08-08-0021325698"])
def test_sort_code_account_number_must_be_14_digits(identification: str) -> None:
    body = with_creditor(SchemeName="UK.OBIE.SortCodeAccountNumber", Identification=identification)
    assert errors_of(body) == [("U021", f"{CREDITOR}.Identification")]


@pytest.mark.parametrize("scheme", ["UK.OBIE.BBAN", "UK.OBIE.PAN", "UK.OBIE.Wallet", "US.ABA"])
def test_other_schemes_are_unsupported(scheme: str) -> None:
    assert errors_of(with_creditor(SchemeName=scheme)) == [("U027", f"{CREDITOR}.SchemeName")]


def test_debtor_account_follows_the_same_rules() -> None:
    body = consent_body(DebtorAccount={"SchemeName": "UK.OBIE.IBAN", "Identification": "GB00"})
    assert errors_of(body) == [("U021", f"{INITIATION}.DebtorAccount.Identification")]


@pytest.mark.parametrize("name", ["\u202eCompany Ltd", "Pay\u200dee", "A\u2066B"])
def test_a_creditor_name_with_invisible_formatting_is_refused(name: str) -> None:
    # A bidi override would make the payee read differently on the consent page.
    assert errors_of(with_creditor(Name=name)) == [("U002", "Data.Initiation.CreditorAccount.Name")]


def test_creditor_name_is_required_and_bounded() -> None:
    assert errors_of(with_creditor(Name=None)) == [("U004", f"{CREDITOR}.Name")]
    assert errors_of(with_creditor(Name="x" * 351)) == [("U002", f"{CREDITOR}.Name")]
    assert errors_of(with_creditor(Name="ACME\nInc")) == [("U002", f"{CREDITOR}.Name")]


def test_secondary_identification_at_most_34() -> None:
    body = with_creditor(SecondaryIdentification="1" * 35)
    assert errors_of(body) == [("U002", f"{CREDITOR}.SecondaryIdentification")]


# -- identifiers and references -----------------------------------------------------------


@pytest.mark.parametrize("field", ["InstructionIdentification", "EndToEndIdentification"])
def test_identifiers_are_1_to_35_characters(field: str) -> None:
    parse_domestic_payment_consent(json.dumps(consent_body(**{field: "x" * 35})))
    assert errors_of(consent_body(**{field: "x" * 36})) == [("U002", f"{INITIATION}.{field}")]
    assert errors_of(consent_body(**{field: ""})) == [("U002", f"{INITIATION}.{field}")]
    assert errors_of(consent_body(**{field: 7})) == [("U002", f"{INITIATION}.{field}")]


def test_consent_id_is_at_most_128_characters() -> None:
    body = consent_body()
    payment = {"Data": {"ConsentId": "c" * 129, "Initiation": body["Data"]["Initiation"]}}
    payment["Risk"] = {}
    assert errors_of(payment, parse_domestic_payment) == [("U002", "Data.ConsentId")]


UNSTRUCTURED = f"{INITIATION}.RemittanceInformation.Unstructured[0]"
REFERENCE = (
    f"{INITIATION}.RemittanceInformation.Structured[0].CreditorReferenceInformation.Reference"
)


def test_unstructured_reference_of_140_passes_and_141_is_refused() -> None:
    ok = consent_body(RemittanceInformation={"Unstructured": ["r" * 140]})
    parse_domestic_payment_consent(json.dumps(ok))
    long = consent_body(RemittanceInformation={"Unstructured": ["r" * 141]})
    assert errors_of(long) == [("U002", UNSTRUCTURED)]


@pytest.mark.parametrize("line", ["Caf\u00e9 bill", "tab\there", "bell\x07"])
def test_reference_must_be_printable_ascii(line: str) -> None:
    body = consent_body(RemittanceInformation={"Unstructured": [line]})
    assert errors_of(body) == [("U002", UNSTRUCTURED)]


def test_structured_reference_is_printable_ascii_up_to_35() -> None:
    for bad in ("R" * 36, "R\u00e9f"):
        structured = [{"CreditorReferenceInformation": {"Reference": bad}}]
        body = consent_body(RemittanceInformation={"Structured": structured})
        assert errors_of(body) == [("U002", REFERENCE)]


def test_local_instrument_outside_domestic_ones_is_unsupported() -> None:
    body = consent_body(LocalInstrument="UK.OBIE.SWIFT")
    assert errors_of(body) == [("U026", f"{INITIATION}.LocalInstrument")]


# -- shape: unknown, missing, not an object ----------------------------------------------


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ((), "Extra"),
        (("Data",), "Data.Extra"),
        (("Data", "Initiation"), f"{INITIATION}.Extra"),
        (("Data", "Initiation", "InstructedAmount"), f"{INITIATION}.InstructedAmount.Extra"),
        (("Data", "Initiation", "CreditorAccount"), f"{CREDITOR}.Extra"),
        (("Data", "Initiation", "DebtorAccount"), f"{INITIATION}.DebtorAccount.Extra"),
        (
            ("Data", "Initiation", "RemittanceInformation"),
            f"{INITIATION}.RemittanceInformation.Extra",
        ),
        (("Risk",), "Risk.Extra"),
    ],
)
def test_unknown_field_at_each_level_is_unexpected(where: tuple[str, ...], path: str) -> None:
    body = consent_body()
    target = body
    for name in where:
        target = target[name]
    target["Extra"] = "x"
    assert errors_of(body) == [("U005", path)]


@pytest.mark.parametrize(
    "field", ["CreditorAgent", "UltimateCreditor", "RegulatoryReporting", "SupplementaryData"]
)
def test_spec_fields_we_refuse_are_unexpected(field: str) -> None:
    assert errors_of(consent_body(**{field: {}})) == [("U005", f"{INITIATION}.{field}")]


def test_missing_required_fields_are_each_listed() -> None:
    assert errors_of({"Data": {"Initiation": {}}}) == [
        ("U004", "Risk"),
        ("U004", f"{INITIATION}.InstructionIdentification"),
        ("U004", f"{INITIATION}.EndToEndIdentification"),
        ("U004", f"{INITIATION}.InstructedAmount"),
        ("U004", f"{INITIATION}.CreditorAccount"),
    ]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"Data": NaN}', b"\xff\xfe", b""])
def test_body_that_is_not_a_json_object_is_invalid_format(body: bytes) -> None:
    assert errors_of(body) == [("U010", "")]


def test_duplicate_members_are_invalid_format() -> None:
    assert errors_of(b'{"Data": {}, "Data": {}, "Risk": {}}') == [("U010", "")]


def test_member_that_must_be_an_object_but_is_not() -> None:
    assert errors_of({"Data": [], "Risk": None}) == [("U002", "Data"), ("U002", "Risk")]


def test_consent_data_options_are_checked() -> None:
    body = consent_body()
    body["Data"]["ReadRefundAccount"] = "Maybe"
    body["Data"]["Authorisation"] = {"AuthorisationType": "Any", "CompletionDateTime": "tomorrow"}
    body["Data"]["SCASupportData"] = {"AppliedAuthenticationApproach": "NONE"}
    assert errors_of(body) == [
        ("U002", "Data.ReadRefundAccount"),
        ("U002", "Data.Authorisation.CompletionDateTime"),
        ("U002", "Data.SCASupportData.AppliedAuthenticationApproach"),
    ]
    body["Data"]["ReadRefundAccount"] = "No"
    body["Data"]["Authorisation"]["CompletionDateTime"] = "2030-01-01T10:00:00+00:00"
    body["Data"]["SCASupportData"]["AppliedAuthenticationApproach"] = "SCA"
    parsed = parse_domestic_payment_consent(json.dumps(body))
    assert parsed.authorisation is not None
    assert parsed.authorisation.completion_date_time is not None


# -- many at once ------------------------------------------------------------------------


def test_every_failing_field_is_listed_together() -> None:
    body = with_creditor(Identification="GB34BUKB20201555555555", Name="")
    initiation = body["Data"]["Initiation"]
    initiation["InstructedAmount"] = {"Amount": "10.001", "Currency": "GBP"}
    initiation["EndToEndIdentification"] = "e" * 36
    initiation["RemittanceInformation"] = {"Unstructured": ["r" * 141]}
    initiation["Colour"] = "blue"
    body["Risk"] = {"ContractPresentIndicator": "yes"}
    errors = errors_of(body)
    assert sorted(errors) == sorted(
        [
            ("U005", f"{INITIATION}.Colour"),
            ("U002", f"{INITIATION}.EndToEndIdentification"),
            ("U002", AMOUNT),
            ("U021", f"{CREDITOR}.Identification"),
            ("U002", f"{CREDITOR}.Name"),
            ("U002", UNSTRUCTURED),
            ("U002", "Risk.ContractPresentIndicator"),
        ]
    )


def test_error_messages_never_echo_the_input() -> None:
    secret = "GB34BUKB20201555555555"
    with pytest.raises(OBErrorResponse) as caught:
        parse_domestic_payment_consent(json.dumps(with_creditor(Identification=secret)))
    assert secret not in json.dumps(caught.value.to_json())


def test_parsing_does_not_change_the_callers_body() -> None:
    body = consent_body()
    snapshot = copy.deepcopy(body)
    parse_domestic_payment_consent(json.dumps(body))
    assert body == snapshot
