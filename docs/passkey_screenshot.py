"""Photograph the passkey sign-in step (`/login/passkey`) at desktop and phone width.

Run by hand beside `docs/screenshots.py`:

    .venv/bin/python docs/passkey_screenshot.py

The passkey step appears only for a user with an enrolled passkey, and WebAuthn needs a
domain as its RP ID (not an IP address), so this starts its own demo server on
``http://localhost``, enrols a passkey for the demo user through Chromium's virtual
authenticator (DevTools ``WebAuthn.addVirtualAuthenticator``), signs out, and signs in
again with the password: the next page is the passkey step.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tppkit lives beside the package, not inside it

from tppkit.local_server import cli  # noqa: E402
from tppkit.local_server import free_port  # noqa: E402
from tppkit.local_server import serving  # noqa: E402

OUT = Path(__file__).parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def sign_in(page: Any, user: dict[str, Any]) -> None:
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://localhost:{port}"
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
        command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
        log = Path(folder) / "server.log"
        with serving(command, env, base, log), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.set_default_timeout(15_000)
                devtools = page.context.new_cdp_session(page)
                devtools.send("WebAuthn.enable", {"enableUI": False})
                devtools.send(
                    "WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR}
                )
                page.goto(f"{base}/login")
                sign_in(page, demo)
                page.wait_for_url("**/login/otp")
                page.get_by_label("One-time code").fill(
                    pyotp.TOTP(demo["totp_secret"]).at(time.time())
                )
                page.get_by_role("button", name="Verify").click()
                page.wait_for_url("**/login/done")
                page.goto(f"{base}/account/passkeys")
                page.get_by_role("button", name="Add a passkey").click()
                page.get_by_text("Your passkey was added.").wait_for()
                page.goto(f"{base}/")
                page.get_by_role("button", name="Sign out").click()
                page.goto(f"{base}/login")
                sign_in(page, demo)
                page.wait_for_url("**/login/passkey")
                page.screenshot(path=str(OUT / "passkey-desktop.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=str(OUT / "passkey-phone.png"), full_page=True)
                print(f"saved {OUT / 'passkey-desktop.png'} and {OUT / 'passkey-phone.png'}")
            finally:
                browser.close()


if __name__ == "__main__":
    main()
