"""An open-banking account-access consent as a TPP and a person meet it, in Chromium.

The TPP creates a v4.0 account-access consent with a client-credentials token, names it
in PAR with the UK form (an essential ``openbanking_intent_id`` claim), the user signs in
and reads the consent page (the TPP's name, the permissions in words, the transaction
window, the expiry, a checklist of two accounts), chooses one and approves; the TPP's
token then reads exactly that account and no other. The server is a real process on
loopback (``authserver run``) with the demo user and accounts of ``authserver demo``;
every back-end request is DPoP-bound with server nonces.

Set ``AUTHSERVER_SCREENSHOT_DIR`` to keep the consent page's screenshot (the README's
picture, ``docs/open-banking-consent.png``, is made that way).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt

from tests.browser.test_code_flow_in_chromium import CHROMIUM_ARGS
from tests.browser.test_code_flow_in_chromium import CallbackServer
from tests.browser.test_code_flow_in_chromium import DPoPClient
from tests.browser.test_code_flow_in_chromium import LiveServer
from tests.browser.test_code_flow_in_chromium import Received
from tests.browser.test_code_flow_in_chromium import approve_and_wait
from tests.browser.test_code_flow_in_chromium import authorize_url
from tests.browser.test_code_flow_in_chromium import callback_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import chromium  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import keep_screenshot
from tests.browser.test_code_flow_in_chromium import live_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import register_tpp_via_cli
from tests.browser.test_code_flow_in_chromium import sign_in
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import generate_key
from tppkit import server_keys
from tppkit.local_server import cli

pytestmark = [pytest.mark.browser, pytest.mark.subprocess]

CLIENT_ID = "budget-buddy"
CLIENT_NAME = "Budget Buddy"
SCOPE = "openid accounts:read"
AISP = "/open-banking/v4.0/aisp"
PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsBasic",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
]
WINDOW = ("2026-01-01T00:00:00+00:00", "2026-06-30T23:59:59+00:00")
EXPIRES = "2027-06-30T00:00:00+00:00"


@pytest.fixture
def ob_tpp(
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Tpp:
    client, _answer = register_tpp_via_cli(
        live_server, callback_server, CLIENT_ID, CLIENT_NAME, SCOPE, tmp_path
    )
    return client


def approve_one_account(
    chromium_path: Path,
    authorize_url: str,
    user: dict[str, Any],
    callback: CallbackServer,
    screenshot: Path,
) -> tuple[Received, list[str]]:
    """Sign in, read the consent page, tick the first account, approve; the redirect that
    reached the TPP and the labels of the accounts offered."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            page.set_default_timeout(15_000)
            page.goto(authorize_url)
            sign_in(page, user["username"], user["password"], totp_secret=user["totp_secret"])

            assert CLIENT_NAME in page.get_by_role("heading", level=1).inner_text()
            headings = page.get_by_role("heading", level=2).all_inner_texts()
            assert "Your account details" in headings, headings
            assert "Your balances" in headings, headings
            assert "Your transactions from 1 January 2026 to 30 June 2026" in headings
            words = page.locator(".permissions li").all_inner_texts()
            assert any("sort codes and account numbers" in line for line in words), words
            assert "30 June 2027" in page.locator(".expiry").inner_text()
            boxes = page.get_by_role("checkbox")
            assert boxes.count() == 2
            labels = [
                page.locator(f"label[for='{boxes.nth(i).get_attribute('id')}']").inner_text()
                for i in range(2)
            ]
            assert all(re.search(r"\d{4}$", label) for label in labels), labels
            boxes.first.check()
            page.screenshot(path=str(screenshot), full_page=True)

            approve_and_wait(page, callback)
            assert callback.received, "the browser never reached the redirect_uri"
        finally:
            browser.close()
    return callback.received[0], labels


def test_tpp_reads_exactly_the_account_the_user_chose(
    chromium: Path,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    ob_tpp: Tpp,
    tmp_path: Path,
) -> None:
    demo = cli(live_server.env, "demo", "--json")
    http = UrllibTransport()
    keys = server_keys(http, ob_tpp.issuer)
    client = DPoPClient(http, ob_tpp, generate_key("ES256"))

    # 1. The consent, with a client-credentials token (DPoP-bound: the client is).
    issued = client.token(grant_type="client_credentials", scope="accounts:read")
    assert issued.status == 200, issued.text
    service_token = issued.json()["access_token"]
    created = client.send(
        "POST",
        f"{AISP}/account-access-consents",
        access_token=service_token,
        json_body={
            "Data": {
                "Permissions": PERMISSIONS,
                "ExpirationDateTime": EXPIRES,
                "TransactionFromDateTime": WINDOW[0],
                "TransactionToDateTime": WINDOW[1],
            },
            "Risk": {},
        },
    )
    assert created.status == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Data"]["Status"] == "AWAU"

    # 2. PAR naming it, the UK way.
    claims = {"id_token": {"openbanking_intent_id": {"value": consent_id, "essential": True}}}
    params, verifier = ob_tpp.authorization_params(claims=json.dumps(claims))
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text
    url = authorize_url(ob_tpp, pushed)

    # 3. The person, in Chromium.
    screenshot = tmp_path / "open-banking-consent.png"
    arrived, labels = approve_one_account(chromium, url, demo, callback_server, screenshot)
    keep_screenshot(screenshot)
    assert arrived.query.get("state") == params["state"], arrived.query

    # 4. Tokens carry the consent.
    exchanged = client.token(
        grant_type="authorization_code",
        code=arrived.query["code"],
        redirect_uri=ob_tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert exchanged.status == 200, exchanged.text
    tokens = exchanged.json()
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["PS256", "ES256", "RS256"])
    assert id_token.claims["openbanking_intent_id"] == consent_id
    access = tokens["access_token"]

    # 5. Exactly the chosen account, with its identifiers (ReadAccountsDetail).
    listed = client.send("GET", f"{AISP}/accounts", access_token=access)
    assert listed.status == 200, listed.text
    accounts = listed.json()["Data"]["Account"]
    assert len(accounts) == 1, accounts
    chosen = accounts[0]
    assert chosen["Nickname"] in labels[0]
    assert chosen["Account"], chosen
    balances = client.send("GET", f"{AISP}/balances", access_token=access)
    assert balances.status == 200, balances.text
    assert {b["AccountId"] for b in balances.json()["Data"]["Balance"]} == {chosen["AccountId"]}
    transactions = client.send(
        "GET", f"{AISP}/accounts/{chosen['AccountId']}/transactions", access_token=access
    )
    assert transactions.status == 200, transactions.text
    booked = [t["BookingDateTime"] for t in transactions.json()["Data"]["Transaction"]]
    assert booked, "the demo account has transactions in the window"
    assert all(WINDOW[0][:10] <= day[:10] <= WINDOW[1][:10] for day in booked), booked

    consent = client.send(
        "GET", f"{AISP}/account-access-consents/{consent_id}", access_token=service_token
    )
    assert consent.status == 200, consent.text
    assert consent.json()["Data"]["Status"] == "AUTH"
