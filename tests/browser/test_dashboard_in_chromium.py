"""The consent dashboard as a person uses it, in Chromium, at phone width and by keyboard.

After a TPP's account-access consent is approved (the flow of
``test_open_banking_in_chromium``), the user opens ``/account/consents`` on a 375 px
screen: the consent is listed in words (the TPP's name, the kind, what it can see, the
masked account, status, dates), its detail page shows the history, and "Withdraw" asks
for confirmation before it acts. The TPP's token is then refused by the accounts API.

On the way the pages are checked for what a screen reader and keyboard user need: no
horizontal scrolling, a label for every input, the skip link first in the focus order,
the withdrawal done by keyboard; and every request Chromium makes goes to the server's
own origin (no fonts, scripts or images from elsewhere).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.test_code_flow_in_chromium import CHROMIUM_ARGS
from tests.browser.test_code_flow_in_chromium import CallbackServer
from tests.browser.test_code_flow_in_chromium import DPoPClient
from tests.browser.test_code_flow_in_chromium import LiveServer
from tests.browser.test_code_flow_in_chromium import authorize_url
from tests.browser.test_code_flow_in_chromium import callback_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import chromium  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import keep_screenshot
from tests.browser.test_code_flow_in_chromium import live_server  # noqa: F401 - fixture
from tests.browser.test_code_flow_in_chromium import sign_in
from tests.browser.test_open_banking_in_chromium import AISP
from tests.browser.test_open_banking_in_chromium import CLIENT_NAME
from tests.browser.test_open_banking_in_chromium import EXPIRES
from tests.browser.test_open_banking_in_chromium import PERMISSIONS
from tests.browser.test_open_banking_in_chromium import WINDOW
from tests.browser.test_open_banking_in_chromium import approve_one_account
from tests.browser.test_open_banking_in_chromium import ob_tpp  # noqa: F401 - fixture
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import generate_key
from tppkit.local_server import cli

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from playwright.sync_api import ViewportSize

pytestmark = [pytest.mark.browser, pytest.mark.subprocess]

PHONE: ViewportSize = {"width": 375, "height": 740}

# Inputs a person fills in or ticks must have a label (a <label for>, aria-label or
# aria-labelledby); hidden CSRF fields are not for people, and a button is named by its value.
UNLABELLED_INPUTS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(['submit', 'button'].includes(e.type) && e.value))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id || e.outerHTML)"""
FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]"
FIRST_FOCUSABLE = f"() => document.querySelector('{FOCUSABLE}').className"
REORDERED_FOCUS = (
    "() => [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length"
)
SCROLLS_SIDEWAYS = (
    "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
)


def check_page(page: Page) -> None:
    """What every page must give a phone and keyboard user."""
    assert not page.evaluate(SCROLLS_SIDEWAYS), f"{page.url} scrolls sideways at 375 px"
    assert page.evaluate(UNLABELLED_INPUTS) == [], page.url
    # Focus order follows the page: no positive tabindex, and the skip link comes first.
    assert page.evaluate(REORDERED_FOCUS) == 0, page.url
    assert page.evaluate(FIRST_FOCUSABLE) == "skip-link", page.url


def approved_consent(
    live: LiveServer,
    tpp: Tpp,
    chromium_path: Path,
    callback: CallbackServer,
    client: DPoPClient,
    tmp_path: Path,
) -> tuple[str, str, dict[str, str]]:
    """An account-access consent approved in Chromium; (consent id, access token, demo user)."""
    demo = cli(live.env, "demo", "--json")
    issued = client.token(grant_type="client_credentials", scope="accounts:read")
    assert issued.status == 200, issued.text
    created = client.send(
        "POST",
        f"{AISP}/account-access-consents",
        access_token=issued.json()["access_token"],
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
    claims = {"id_token": {"openbanking_intent_id": {"value": consent_id, "essential": True}}}
    params, verifier = tpp.authorization_params(claims=json.dumps(claims))
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text
    arrived, _labels = approve_one_account(
        chromium_path, authorize_url(tpp, pushed), demo, callback, tmp_path / "consent.png"
    )
    exchanged = client.token(
        grant_type="authorization_code",
        code=arrived.query["code"],
        redirect_uri=tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert exchanged.status == 200, exchanged.text
    return consent_id, exchanged.json()["access_token"], demo


def test_dashboard_lists_details_and_withdraws_and_the_tpp_is_then_refused(
    chromium: Path,  # noqa: F811 - the fixture imported above
    callback_server: CallbackServer,  # noqa: F811 - the fixture imported above
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    ob_tpp: Tpp,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    client = DPoPClient(UrllibTransport(), ob_tpp, generate_key("ES256"))
    consent_id, access, demo = approved_consent(
        live_server, ob_tpp, chromium, callback_server, client, tmp_path
    )
    assert client.send("GET", f"{AISP}/accounts", access_token=access).status == 200
    origin = urllib.parse.urlsplit(live_server.base)
    requested: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE)
            page.set_default_timeout(15_000)
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{live_server.base}/account/consents")
            page.wait_for_url("**/login")
            check_page(page)
            sign_in(
                page,
                demo["username"],
                demo["password"],
                totp_secret=demo["totp_secret"],
                lands_on="**/account/consents",
            )

            # The listing, in words.
            check_page(page)
            listed = page.locator("li.consent")
            assert listed.count() == 1
            item = listed.first
            assert item.get_by_role("heading", level=2).inner_text() == CLIENT_NAME
            assert item.locator(".status").inner_text() == "Active"
            assert item.locator(".kind").inner_text() == "Account access"
            assert "Your balances" in item.locator(".permissions").inner_text()
            account = item.locator(".accounts").inner_text()
            assert "••••" in account, account
            assert item.locator(".expires").inner_text() == "30 June 2027"
            page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
            keep_screenshot(tmp_path / "dashboard-phone.png")

            # The detail page and its history.
            item.get_by_role("link", name=f"Details and history for {CLIENT_NAME}").click()
            page.wait_for_url(f"**/account/consents/{consent_id}")
            check_page(page)
            history = page.locator("table.history tbody tr")
            assert history.count() == 2
            assert "You approved it" in history.nth(1).inner_text()

            # Withdraw, confirmed, by keyboard.
            page.get_by_role("link", name=f"Withdraw access for {CLIENT_NAME}").focus()
            page.keyboard.press("Enter")
            page.wait_for_url("**/withdraw")
            check_page(page)
            assert CLIENT_NAME in page.get_by_role("heading", level=1).inner_text()
            page.get_by_role("button", name="Yes, withdraw access").focus()
            page.keyboard.press("Enter")
            page.wait_for_url("**/account/consents")
            assert page.locator("li.consent .status").all_inner_texts() == ["Withdrawn"]
            assert page.get_by_role("link", name=f"Withdraw access for {CLIENT_NAME}").count() == 0
            page.goto(f"{live_server.base}/account/consents/{consent_id}")
            reasons = page.locator("table.history tbody tr").all_inner_texts()
            assert "You withdrew it" in reasons[-1], reasons
        finally:
            browser.close()

    assert requested, "Chromium made no request"
    foreign = [
        url for url in requested if urllib.parse.urlsplit(url)[:2] != (origin.scheme, origin.netloc)
    ]
    assert foreign == []

    refused = client.send("GET", f"{AISP}/accounts", access_token=access)
    assert refused.status == 401, refused.text
