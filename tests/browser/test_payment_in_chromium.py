"""A domestic payment as a TPP and a person meet it, in Chromium.

The TPP creates a v4.0 domestic-payment consent through the API (client-credentials token,
``x-idempotency-key``, an ``x-jws-signature`` made with its registered key), names it in PAR
with RFC 9396 ``authorization_details`` of type ``payment_initiation``; the user signs in on
a phone-sized screen, reads the amount, the payee and the payee's masked account, picks
the account to pay from and approves. With the token the TPP pays once; a second payment
with a new idempotency key is refused because the consent is used. The server is a real
process on loopback with the demo user and accounts of ``authserver demo``; every back-end
request is DPoP-bound with server nonces.

Set ``AUTHSERVER_SCREENSHOT_DIR`` to keep the consent page's screenshot.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_code_flow_in_chromium import CHROMIUM_ARGS
from tests.browser.test_code_flow_in_chromium import CallbackServer
from tests.browser.test_code_flow_in_chromium import DPoPClient
from tests.browser.test_code_flow_in_chromium import LiveServer
from tests.browser.test_code_flow_in_chromium import Received
from tests.browser.test_code_flow_in_chromium import approve_and_wait
from tests.browser.test_code_flow_in_chromium import asks_for_nonce
from tests.browser.test_code_flow_in_chromium import authorize_url
from tests.browser.test_code_flow_in_chromium import callback_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import chromium  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import header
from tests.browser.test_code_flow_in_chromium import keep_screenshot
from tests.browser.test_code_flow_in_chromium import live_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import one_time_code
from tests.browser.test_code_flow_in_chromium import register_tpp_via_cli
from tests.browser.test_code_flow_in_chromium import sign_in
from tppkit import HttpResponse
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.local_server import cli
from tppkit.ob_signing import ob_signature

pytestmark = [pytest.mark.browser, pytest.mark.subprocess]

CLIENT_ID = "pay-by-bank"
CLIENT_NAME = "Pay By Bank"
SCOPE = "openid payments:write"
PISP = "/open-banking/v4.0/pisp"
INITIATION: dict[str, Any] = {
    "InstructionIdentification": "ACME412",
    "EndToEndIdentification": "FRESCO.21302.GFX.20",
    "LocalInstrument": "UK.OBIE.FPS",
    "InstructedAmount": {"Amount": "45.00", "Currency": "GBP"},
    "CreditorAccount": {
        "SchemeName": "UK.OBIE.IBAN",
        "Identification": "GB29NWBK60161331926819",
        "Name": "ACME Ltd",
    },
    "RemittanceInformation": {
        "Structured": [{"CreditorReferenceInformation": {"Reference": "INV-2041"}}]
    },
}


@pytest.fixture
def pisp_tpp(
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Tpp:
    client, _answer = register_tpp_via_cli(
        live_server, callback_server, CLIENT_ID, CLIENT_NAME, SCOPE, tmp_path
    )
    return client


def signed_post(client: DPoPClient, path: str, token: str, body: Any) -> HttpResponse:
    """POST ``body`` under the PISP prefix: DPoP (a nonce retry keeps the same idempotency
    key and signature), a new ``x-idempotency-key``, the TPP's detached JWS over the exact
    bytes the transport sends for ``json_body``."""
    signature = ob_signature(
        client.tpp.key, json.dumps(body).encode(), client_id=client.tpp.client_id
    )
    key = uuid.uuid4().hex
    url = client.tpp.url(PISP + path)
    response: HttpResponse | None = None
    for attempt in range(2):
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": dpop_proof(client.key, "POST", url, access_token=token, nonce=client.nonce),
            "x-idempotency-key": key,
            "x-jws-signature": signature,
        }
        response = client.http.request("POST", url, headers=headers, json_body=body)
        client.nonce = header(response, "DPoP-Nonce") or client.nonce
        if not (attempt == 0 and asks_for_nonce(response)):
            break
    assert response is not None
    return response


def pay_from_first_account(
    chromium_path: Path,
    authorize_url: str,
    user: dict[str, Any],
    callback: CallbackServer,
    screenshot: Path,
) -> tuple[Received, str]:
    """Sign in on a phone-sized page, read the payment, pick the first account, approve;
    the redirect that reached the TPP and the AccountId picked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812})  # a phone
            page.set_default_timeout(15_000)
            page.goto(authorize_url)
            sign_in(
                page,
                user["username"],
                user["password"],
                totp_secret=user["totp_secret"],
                lands_on="**/consent/confirm",
            )
            # Dynamic linking: the payment is confirmed with a fresh code beside its amount
            # and payee (a passkey user confirms with the passkey instead).
            assert page.locator(".amount").inner_text() == "£45.00"
            assert page.locator(".payee").inner_text() == "ACME Ltd"
            page.get_by_label("One-time code").fill(one_time_code(user["totp_secret"]))
            page.get_by_role("button", name="Verify").click()
            page.wait_for_url("**/consent")

            assert CLIENT_NAME in page.get_by_role("heading", level=1).inner_text()
            assert page.locator(".amount").inner_text() == "£45.00"
            assert page.locator(".payee").inner_text() == "ACME Ltd"
            assert page.locator(".payee-account").inner_text() == "••••6819"
            assert page.locator(".reference").inner_text() == "INV-2041"
            assert "GB29NWBK60161331926819" not in page.content()
            group = page.get_by_role("group", name="Choose the account to pay from")
            radios = group.get_by_role("radio")
            assert radios.count() >= 2
            chosen = radios.first.get_attribute("value")
            assert chosen
            radios.first.check()
            # Nothing wider than the phone: no sideways scrolling (Playwright evaluates
            # through the DevTools protocol, outside the page's CSP).
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(screenshot), full_page=True)

            approve_and_wait(page, callback)
            assert callback.received, "the browser never reached the redirect_uri"
        finally:
            browser.close()
    return callback.received[0], chosen


def test_tpp_pays_once_from_the_account_the_user_picked(
    chromium: Path,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    pisp_tpp: Tpp,
    tmp_path: Path,
) -> None:
    demo = cli(live_server.env, "demo", "--json")
    client = DPoPClient(UrllibTransport(), pisp_tpp, generate_key("ES256"))

    # 1. The payment consent, signed and idempotent, with a client-credentials token.
    issued = client.token(grant_type="client_credentials", scope="payments:write")
    assert issued.status == 200, issued.text
    service_token = issued.json()["access_token"]
    consent_body = {"Data": {"Initiation": INITIATION}, "Risk": {}}
    created = signed_post(client, "/domestic-payment-consents", service_token, consent_body)
    assert created.status == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Data"]["Status"] == "AWAU"

    # 2. PAR naming it, the RFC 9396 way.
    details = [{"type": "payment_initiation", "consent_id": consent_id}]
    params, verifier = pisp_tpp.authorization_params(authorization_details=json.dumps(details))
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text
    url = authorize_url(pisp_tpp, pushed)

    # 3. The person, in Chromium at phone width.
    screenshot = tmp_path / "payment-consent.png"
    arrived, debtor = pay_from_first_account(chromium, url, demo, callback_server, screenshot)
    keep_screenshot(screenshot)
    assert arrived.query.get("state") == params["state"], arrived.query

    # 4. The token names the consent and the account it is paid from.
    exchanged = client.token(
        grant_type="authorization_code",
        code=arrived.query["code"],
        redirect_uri=pisp_tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert exchanged.status == 200, exchanged.text
    tokens = exchanged.json()
    assert tokens["authorization_details"] == [
        {"type": "payment_initiation", "consent_id": consent_id, "debtor_account": debtor}
    ]
    access = tokens["access_token"]

    # 5. One payment; a second, with a new idempotency key, finds the consent used.
    payment_body = {"Data": {"ConsentId": consent_id, "Initiation": INITIATION}, "Risk": {}}
    paid = signed_post(client, "/domestic-payments", access, payment_body)
    assert paid.status == 201, paid.text
    assert paid.json()["Data"]["ConsentId"] == consent_id
    again = signed_post(client, "/domestic-payments", access, payment_body)
    assert again.status == 400, again.text
    errors = [(e["ErrorCode"], e.get("Path")) for e in again.json()["Errors"]]
    assert errors == [("U009", "Data.ConsentId")], errors

    consent = client.send(
        "GET", f"{PISP}/domestic-payment-consents/{consent_id}", access_token=service_token
    )
    assert consent.status == 200, consent.text
    assert consent.json()["Data"]["Status"] == "COND"
