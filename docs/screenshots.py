"""Screenshots of the pages people see, for the README (run by hand, not by the tests).

    .venv/bin/python docs/screenshots.py            # PNGs into docs/screenshots/

It starts the demo server (``authserver demo`` + ``authserver run`` on a free loopback
port, in a throw-away instance folder), creates an open-banking account-access consent for
the demo TPP, and drives Debian's Chromium (``/usr/bin/chromium``; never ``playwright
install``) through login -> one-time code -> consent -> dashboard (listing, detail,
withdrawal confirmation), plus the passkey page, at desktop (1280 px) and phone (390 px)
width. A page the server does not have yet (it answers 404) is skipped with a message and
the others are taken. ``AUTHSERVER_BRANDING__NAME`` names the bank (default "Northwind
Bank").
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from joserfc import jwk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tppkit import Tpp  # noqa: E402 - after the path set-up, for a run from anywhere
from tppkit import UrllibTransport  # noqa: E402
from tppkit.local_server import cli  # noqa: E402
from tppkit.local_server import free_port  # noqa: E402
from tppkit.local_server import serving  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
AISP = "/open-banking/v4.0/aisp"
PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsBasic",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
]


def shoot(page: Page, name: str, width: str) -> None:
    path = OUT / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path.relative_to(ROOT)}")


def exists(page: Page, url: str, name: str) -> bool:
    """Open ``url``; False (and a message) when the server answers 404 there."""
    answer = page.goto(url)
    if answer is not None and answer.status == 404:
        print(f"skipped {name}: {urllib.parse.urlsplit(url).path} answers 404 on this server")
        return False
    return True


def consent_url(tpp: Tpp, http: UrllibTransport) -> str:
    """A new account-access consent for the demo TPP, named in PAR; the /authorize URL."""
    token = http.request(
        "POST",
        tpp.url("/token"),
        form={"grant_type": "client_credentials", "scope": "accounts:read", **tpp.auth_form()},
    ).json()["access_token"]
    created = http.request(
        "POST",
        tpp.url(f"{AISP}/account-access-consents"),
        headers={"Authorization": f"Bearer {token}"},
        json_body={
            "Data": {
                "Permissions": PERMISSIONS,
                "ExpirationDateTime": "2027-06-30T00:00:00+00:00",
                "TransactionFromDateTime": "2026-01-01T00:00:00+00:00",
                "TransactionToDateTime": "2026-06-30T23:59:59+00:00",
            },
            "Risk": {},
        },
    )
    consent_id = created.json()["Data"]["ConsentId"]
    claims = {"id_token": {"openbanking_intent_id": {"value": consent_id, "essential": True}}}
    params, _verifier = tpp.authorization_params(claims=json.dumps(claims))
    pushed = http.request("POST", tpp.url("/par"), form={**params, **tpp.auth_form()}).json()
    query = urllib.parse.urlencode(
        {"client_id": tpp.client_id, "request_uri": pushed["request_uri"]}
    )
    return tpp.url(f"/authorize?{query}")


_USED_CODES: set[str] = set()


def second_factor(page: Page, user: dict[str, Any], width: str) -> None:
    """The one-time-code page, when the login asks for it (the TOTP step)."""
    if not page.url.endswith("/login/otp"):
        print("skipped one-time-code: the login did not ask for a code on this server")
        return
    import pyotp

    shoot(page, "one-time-code", width)
    # The server takes each code once (and one step of drift either way), so every login
    # of this script uses a code it has not used yet.
    totp = pyotp.TOTP(user["totp_secret"])
    now = time.time()
    code = next(c for c in (totp.at(now + d) for d in (0, 30, -30)) if c not in _USED_CODES)
    _USED_CODES.add(code)
    page.get_by_label("One-time code").fill(code)
    page.get_by_role("button", name="Verify").click()


def walk(page: Page, base: str, url: str, user: dict[str, Any], width: str) -> None:
    page.goto(url)
    page.wait_for_url("**/login")
    page.get_by_label("Username").fill(user["username"])
    shoot(page, "login", width)
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    second_factor(page, user, width)
    page.wait_for_url("**/consent")
    page.get_by_role("checkbox").first.check()
    shoot(page, "consent", width)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_timeout(500)  # the demo TPP's callback is not running: nothing to wait for
    page.goto(f"{base}/account/consents")
    shoot(page, "dashboard", width)
    page.locator("li.consent a", has_text="Details and history").first.click()
    page.wait_for_load_state()
    shoot(page, "dashboard-detail", width)
    page.locator("a.withdraw").first.click()
    page.wait_for_load_state()
    shoot(page, "dashboard-withdraw", width)
    # The passkey step needs a user with an enrolled passkey (a virtual authenticator);
    # without one /login/passkey sends the browser back to the sign-in page, so it is
    # not photographed here yet.


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "AUTHSERVER_ENV": "development",
            "AUTHSERVER_ISSUER": base,
            "AUTHSERVER_INSTANCE_PATH": folder,
            "AUTHSERVER_DATABASE_URL": "",
            "AUTHSERVER_REDIS_URL": "",
            "AUTHSERVER_BRANDING__NAME": os.environ.get(
                "AUTHSERVER_BRANDING__NAME", "Northwind Bank"
            ),
        }
        demo = cli(env, "demo", "--json")
        key = jwk.import_key(json.loads(Path(demo["client_private_jwk"]).read_text()))
        assert isinstance(key, jwk.ECKey)  # noqa: S101 - the demo client's key is ES256
        tpp = Tpp(demo["client_id"], key, "ES256", base, demo["redirect_uri"])
        command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
        with serving(command, env, base, Path(folder) / "server.log"):
            http = UrllibTransport()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
                )
                try:
                    for width, (w, h) in WIDTHS.items():
                        context = browser.new_context(viewport={"width": w, "height": h})
                        page = context.new_page()
                        page.set_default_timeout(15_000)
                        walk(page, base, consent_url(tpp, http), demo, width)
                        context.close()
                finally:
                    browser.close()


if __name__ == "__main__":
    main()
