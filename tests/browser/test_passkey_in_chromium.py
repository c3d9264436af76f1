"""Passkeys in Chromium, through its virtual authenticator (DevTools protocol
``WebAuthn.enable`` / ``WebAuthn.addVirtualAuthenticator`` on Playwright's CDP session):
the demo user enrols a passkey, signs out, signs in with password and passkey, and approves
a payment on the confirmation page that shows the amount and the payee, with a passkey
assertion whose challenge commits to them (dynamic linking).

The server runs on ``http://localhost``: WebAuthn needs a secure context and a domain as
its RP ID (an IP address is not one), and localhost is both, on loopback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_code_flow_in_chromium import CHROMIUM_ARGS
from tests.browser.test_code_flow_in_chromium import CallbackServer
from tests.browser.test_code_flow_in_chromium import DPoPClient
from tests.browser.test_code_flow_in_chromium import LiveServer
from tests.browser.test_code_flow_in_chromium import approve_and_wait
from tests.browser.test_code_flow_in_chromium import authorize_url
from tests.browser.test_code_flow_in_chromium import callback_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import chromium  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import keep_screenshot
from tests.browser.test_code_flow_in_chromium import register_tpp_via_cli
from tests.browser.test_code_flow_in_chromium import sign_in
from tests.browser.test_payment_in_chromium import CLIENT_ID
from tests.browser.test_payment_in_chromium import CLIENT_NAME
from tests.browser.test_payment_in_chromium import INITIATION
from tests.browser.test_payment_in_chromium import SCOPE
from tests.browser.test_payment_in_chromium import signed_post
from tppkit import UrllibTransport
from tppkit import generate_key
from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving

pytestmark = [pytest.mark.browser, pytest.mark.subprocess]

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def localhost_server(cli_env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    base = f"http://localhost:{port}"
    env = {**cli_env, "AUTHSERVER_ISSUER": base}
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    try:
        with serving(command, env, base, log):
            yield LiveServer(base, env, log)
    finally:
        print(f"--- server log (tail)\n{log.read_text(errors='replace')[-6000:]}")


def test_passkey_enrolment_login_and_a_linked_payment_in_chromium(
    chromium: Path,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    localhost_server: LiveServer,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    server = localhost_server
    demo: dict[str, Any] = cli(server.env, "demo", "--json")
    tpp, _ = register_tpp_via_cli(server, callback_server, CLIENT_ID, CLIENT_NAME, SCOPE, tmp_path)
    client = DPoPClient(UrllibTransport(), tpp, generate_key("ES256"))
    issued = client.token(grant_type="client_credentials", scope="payments:write")
    assert issued.status == 200, issued.text
    body = {"Data": {"Initiation": INITIATION}, "Risk": {}}
    created = signed_post(client, "/domestic-payment-consents", issued.json()["access_token"], body)
    assert created.status == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    details = [{"type": "payment_initiation", "consent_id": consent_id}]
    params, verifier = tpp.authorization_params(authorization_details=json.dumps(details))
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            devtools = page.context.new_cdp_session(page)
            devtools.send("WebAuthn.enable", {"enableUI": False})
            added = devtools.send(
                "WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR}
            )

            # 1. Password and one-time code (the demo user has TOTP), then enrol a passkey.
            page.goto(f"{server.base}/login")
            sign_in(
                page,
                demo["username"],
                demo["password"],
                totp_secret=demo["totp_secret"],
                lands_on="**/login/done",
            )
            page.goto(f"{server.base}/account/passkeys")
            page.get_by_role("button", name="Add a passkey").click()
            page.get_by_text("Your passkey was added.").wait_for()
            stored = devtools.send(
                "WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]}
            )
            assert len(stored["credentials"]) == 1

            # 2. Sign out; the payment's sign-in asks for the passkey (it goes before TOTP).
            page.goto(f"{server.base}/")
            page.get_by_role("button", name="Sign out").click()
            page.goto(authorize_url(tpp, pushed))
            sign_in(page, demo["username"], demo["password"], lands_on="**/login/passkey")
            page.get_by_role("button", name="Use my passkey").click()

            # 3. The confirmation shows what the passkey is bound to.
            page.wait_for_url("**/consent/confirm")
            assert page.locator(".amount").inner_text() == "£45.00"
            assert page.locator(".currency").inner_text() == "GBP"
            assert page.locator(".payee").inner_text() == "ACME Ltd"
            assert page.locator(".payee-account").inner_text() == "••••6819"
            screenshot = tmp_path / "passkey-payment-confirm.png"
            page.screenshot(path=str(screenshot), full_page=True)
            keep_screenshot(screenshot)
            # Both factors are offered; the passkey's challenge commits to these details.
            assert page.get_by_label("One-time code").count() == 1
            page.get_by_role("button", name="Confirm with my passkey").click()

            # 4. Then the consent page as before: pick the account and approve.
            page.wait_for_url("**/consent")
            group = page.get_by_role("group", name="Choose the account to pay from")
            group.get_by_role("radio").first.check()
            approve_and_wait(page, callback_server)
            assert callback_server.received, "the browser never reached the redirect_uri"
        finally:
            browser.close()

    arrived = callback_server.received[0]
    assert arrived.query.get("state") == params["state"], arrived.query
    exchanged = client.token(
        grant_type="authorization_code",
        code=arrived.query["code"],
        redirect_uri=tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert exchanged.status == 200, exchanged.text
