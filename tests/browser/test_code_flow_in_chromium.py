"""The FAPI 2.0 code flow as a person does it: a real server, a real TPP callback, Chromium.

The server runs as its own process on loopback (``authserver run``), the TPP's
redirect_uri is a small HTTP server in this process, and the user signs in and
approves in Debian's headless Chromium driven by Playwright. The TPP's back end (PAR,
token, refresh, userinfo) talks real HTTP through ``conformance.tpp``.

The client is registered with ``--dpop-bound-access-tokens`` and the server requires DPoP
nonces, so every back-end request carries a proof by one key (RFC 9449): at PAR (binding
the code), at the token endpoint and at refresh (DPoP-bound tokens, ``cnf.jkt``), and at
/userinfo (``Authorization: DPoP`` with ``ath``); ``use_dpop_nonce`` is answered by one
retry with the server's nonce, at the AS and at the resource server.

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it),
never from ``playwright install``. Without it the test is skipped locally and fails
when CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tppkit import HttpResponse
from tppkit import PrivateKey
from tppkit import TotpCodes
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit import public_jwks
from tppkit import server_keys
from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLIENT_ID = "browser-tpp"
CLIENT_NAME = "Browser Test Budgeting App"
SCOPE = "openid accounts:read"
USERNAME = "bob"
PASSWORD = "browser test password 42"  # test-only
REFRESH_GRACE = 2  # seconds; replaying a spent refresh token after this is theft
CALLBACK_WAIT_SECONDS = 15.0


@pytest.fixture
def chromium() -> Path:
    in_ci = os.environ.get("CI") == "true"
    if not CHROMIUM.exists():
        if in_ci:
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip("Debian chromium not installed; .ci/run installs it")
    if in_ci:
        import playwright.sync_api  # noqa: F401 - in CI a missing package is a failure
    else:
        pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' brings it")
    return CHROMIUM


# --- the TPP's redirect_uri: a real HTTP server on loopback ---------------------------


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class CallbackServer:
    url: str
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def callback_server() -> Iterator[CallbackServer]:
    holder: list[CallbackServer] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self, body: bytes) -> None:
            parts = urllib.parse.urlsplit(self.path)
            holder[0].received.append(
                Received(
                    method=self.command,
                    path=parts.path,
                    query=dict(urllib.parse.parse_qsl(parts.query)),
                    form=dict(urllib.parse.parse_qsl(body.decode())),
                )
            )
            page = b"<!doctype html><title>TPP</title><h1>Back at the TPP</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.startswith("/favicon"):
                self.send_error(404)
                return
            self._record(b"")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            self._record(self.rfile.read(length))

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(CallbackServer(f"http://127.0.0.1:{server.server_address[1]}/cb"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the authorization server: a real process on loopback -----------------------------


@dataclass
class LiveServer:
    base: str
    env: dict[str, str]
    log: Path


@pytest.fixture
def live_server(cli_env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **cli_env,
        "AUTHSERVER_ISSUER": base,
        "AUTHSERVER_OAUTH__REFRESH_GRACE": str(REFRESH_GRACE),
        # Every DPoP proof needs a server nonce: the round trip is part of the flow.
        "AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED": "true",
    }
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    try:
        with serving(command, env, base, log):
            yield LiveServer(base, env, log)
    finally:
        print(f"--- server log (tail)\n{log.read_text(errors='replace')[-6000:]}")


def register_tpp_via_cli(
    server: LiveServer,
    callback: CallbackServer,
    client_id: str,
    name: str,
    scope: str,
    tmp_path: Path,
) -> tuple[Tpp, dict[str, Any]]:
    """Register a DPoP-bound ES256 client the way an operator does, through the CLI: the
    TPP kit for it and what the CLI answered (shared by every browser test's client)."""
    key = generate_key("ES256")
    jwks_file = tmp_path / "tpp-jwks.json"
    jwks_file.write_text(json.dumps(public_jwks(key)))
    registered = cli(
        server.env,
        "clients",
        "create",
        "--name",
        name,
        "--client-id",
        client_id,
        "--redirect-uri",
        callback.url,
        "--scope",
        scope,
        "--jwks-file",
        str(jwks_file),
        "--dpop-bound-access-tokens",
    )
    return Tpp(client_id, key, "ES256", server.base, callback.url, scope=scope), registered


@pytest.fixture
def tpp(live_server: LiveServer, callback_server: CallbackServer, tmp_path: Path) -> Tpp:
    """The client and the user, registered the way an operator does: through the CLI."""
    client, registered = register_tpp_via_cli(
        live_server, callback_server, CLIENT_ID, CLIENT_NAME, SCOPE, tmp_path
    )
    assert registered["client_id"] == CLIENT_ID
    assert registered["dpop_bound_access_tokens"] is True
    cli(live_server.env, "users", "create", USERNAME, stdin=PASSWORD + "\n")
    return client


def authorize_url(tpp: Tpp, pushed: HttpResponse) -> str:
    """The front-channel /authorize URL for the request PAR answered with ``pushed``."""
    query = urllib.parse.urlencode(
        {"client_id": tpp.client_id, "request_uri": pushed.json()["request_uri"]}
    )
    return f"{tpp.issuer}/authorize?{query}"


def keep_screenshot(screenshot: Path) -> None:
    """Copy ``screenshot`` to AUTHSERVER_SCREENSHOT_DIR when it is set (how the README's
    pictures are made)."""
    if os.environ.get("AUTHSERVER_SCREENSHOT_DIR"):
        shutil.copy(screenshot, Path(os.environ["AUTHSERVER_SCREENSHOT_DIR"]) / screenshot.name)


# --- the user in Chromium ---------------------------------------------------------------


_CODES: dict[str, TotpCodes] = {}


def one_time_code(totp_secret: str) -> str:
    """A code of a step not offered before in this test run (see ``sign_in``)."""
    return _CODES.setdefault(totp_secret, TotpCodes(totp_secret))()


def sign_in(
    page: Page,
    username: str,
    password: str,
    *,
    totp_secret: str | None = None,
    lands_on: str = "**/consent",
) -> None:
    """Fill in and submit the login form, then (for a user with TOTP, such as the demo user)
    the one-time code, and wait for the page it leads to (by default the consent page), as
    every browser test's user does. Codes come from one ``TotpCodes`` per secret, so two
    logins in one 30 s step never offer the same code (the server refuses a replay)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if totp_secret:
        page.wait_for_url("**/login/otp")
        page.get_by_label("One-time code").fill(one_time_code(totp_secret))
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lands_on)


def approve_and_wait(page: Page, callback: CallbackServer) -> None:
    """Press Approve and wait (up to CALLBACK_WAIT_SECONDS) until the redirect reaches the
    TPP's callback; the caller asserts that it did. Polls through Playwright (not a bare
    sleep) so its events keep flowing."""
    page.get_by_role("button", name="Approve").click()
    deadline = time.monotonic() + CALLBACK_WAIT_SECONDS
    while not callback.received and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def sign_in_and_approve(
    chromium: Path,
    authorize_url: str,
    callback: CallbackServer,
    screenshot: Path,
) -> Received:
    """Sign in, check and photograph the consent page, approve; what reached the client."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))

            page.goto(authorize_url)
            sign_in(page, USERNAME, PASSWORD)

            assert CLIENT_NAME in page.get_by_role("heading", level=1).inner_text()
            scope_words = page.locator("ul.scopes li").all_inner_texts()
            assert any("your user identifier" in words for words in scope_words), scope_words
            assert any("accounts, balances and transactions" in w for w in scope_words)
            page.screenshot(path=str(screenshot), full_page=True)

            approve_and_wait(page, callback)
            if not callback.received:
                # A CSP violation shows here, e.g. a consent page whose form-action does
                # not allow the redirect to the client (Chromium checks the 303 too).
                messages = "\n".join(console) or "(no console messages)"
                raise AssertionError(
                    f"the browser never reached the redirect_uri; console:\n{messages}"
                )
            page.wait_for_url(f"{callback.url}?**")
            assert page.get_by_role("heading", level=1).inner_text() == "Back at the TPP"
        finally:
            browser.close()
    return callback.received[0]


# --- the flow ---------------------------------------------------------------------------


def header(response: HttpResponse, name: str) -> str | None:
    """One response header, looked up case-insensitively."""
    wanted = name.lower()
    return next((v for k, v in response.headers.items() if k.lower() == wanted), None)


def asks_for_nonce(response: HttpResponse) -> bool:
    """RFC 9449 §8 (400 at the AS) and §9 (401 with a challenge at a resource server)."""
    if response.status == 400:
        return b'"use_dpop_nonce"' in response.body
    challenge = header(response, "WWW-Authenticate") or ""
    return response.status == 401 and 'error="use_dpop_nonce"' in challenge


@dataclass
class DPoPClient:
    """The TPP's back end holding one DPoP key and the latest server nonce.

    Every request carries a fresh proof with the nonce last seen; a ``use_dpop_nonce``
    answer is retried once with the nonce of its ``DPoP-Nonce`` header, and kept in
    ``challenges`` so the test can check the round trips it expected.
    """

    http: UrllibTransport
    tpp: Tpp
    key: PrivateKey
    nonce: str | None = None
    challenges: list[tuple[str, HttpResponse]] = field(default_factory=list)

    def send(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        access_token: str | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        url = self.tpp.url(path)
        for attempt in range(2):
            headers = {
                "DPoP": dpop_proof(
                    self.key, method, url, access_token=access_token, nonce=self.nonce
                )
            }
            if access_token is not None:
                headers["Authorization"] = f"DPoP {access_token}"
            # A client assertion is single use, so a retry signs a new one.
            body = {**form, **self.tpp.auth_form()} if form is not None else None
            response = self.http.request(
                method, url, form=body, headers=headers, json_body=json_body
            )
            # RFC 9449 §8.2: every answer to a request with a proof names the next nonce.
            fresh = header(response, "DPoP-Nonce")
            assert fresh, f"{method} {path} {response.status} came without a DPoP-Nonce"
            self.nonce = fresh
            if attempt == 0 and asks_for_nonce(response):
                self.challenges.append((path, response))
                continue
            return response
        return response

    def token(self, **form: str) -> HttpResponse:
        return self.send("POST", "/token", form=form)

    def userinfo(self, access_token: str) -> HttpResponse:
        return self.send("GET", "/userinfo", access_token=access_token)


def dpop_bound_claims(token: dict[str, Any], keys: KeySet, dpop_key: PrivateKey) -> dict[str, Any]:
    """A DPoP token response whose access token (verified) is bound to ``dpop_key``."""
    assert token["token_type"] == "DPoP", token
    access = jwt.decode(token["access_token"], keys, algorithms=["RS256", "PS256", "ES256"])
    assert access.header["typ"] == "at+jwt"
    claims = dict(access.claims)
    assert claims["cnf"] == {"jkt": dpop_key.thumbprint()}, claims
    return claims


def test_code_flow_with_dpop_login_consent_jarm_tokens_and_refresh_reuse(
    chromium: Path,
    callback_server: CallbackServer,
    tpp: Tpp,
    tmp_path: Path,
) -> None:
    http = UrllibTransport()
    keys = server_keys(http, tpp.issuer)
    dpop_key = generate_key("ES256")  # the TPP's DPoP key, not its client-auth key
    client = DPoPClient(http, tpp, dpop_key)

    # PAR from the TPP's back end with a DPoP proof (binds the code to the key), asking
    # for a JARM response. The server requires nonces: the first proof has none.
    params, verifier = tpp.authorization_params(response_mode="jwt")
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text
    [(path, challenge)] = client.challenges
    assert (path, challenge.status) == ("/par", 400), challenge.text
    url = authorize_url(tpp, pushed)

    screenshot = tmp_path / "consent.png"
    arrived = sign_in_and_approve(
        chromium,
        url,
        callback_server,
        screenshot,
    )
    assert screenshot.stat().st_size > 0

    # The redirect carries only the JARM `response`; verify it with the server's JWKS.
    assert (arrived.method, arrived.path) == ("GET", "/cb")
    assert set(arrived.query) == {"response"}, arrived.query
    jarm = jwt.decode(arrived.query["response"], keys, algorithms=["PS256", "ES256"])
    claims = dict(jarm.claims)
    assert claims["iss"] == tpp.issuer
    assert claims["aud"] == tpp.client_id
    assert claims["state"] == params["state"]
    assert claims["code"]
    assert claims["exp"] > time.time()

    # Code for tokens: authorization_code + PKCE + private_key_jwt + a proof by the same
    # key: a DPoP-bound access token. Without the nonce first: the use_dpop_nonce answer
    # comes before the grant runs, so the retry still finds the code unspent.
    client.nonce = None
    issued = client.token(
        grant_type="authorization_code",
        code=claims["code"],
        redirect_uri=tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert issued.status == 200, issued.text
    first = issued.json()
    assert first["scope"] == SCOPE
    assert {"access_token", "refresh_token", "id_token"} <= first.keys()
    path, challenge = client.challenges[-1]
    assert (path, challenge.status) == ("/token", 400), challenge.text
    dpop_bound_claims(first, keys, dpop_key)
    id_token = jwt.decode(first["id_token"], keys, algorithms=["PS256"])
    assert id_token.claims["nonce"] == params["nonce"]
    assert id_token.claims["aud"] == tpp.client_id

    # Refresh with a proof: a new DPoP-bound pair. A retry inside the grace window (a new
    # proof, as every request needs) gets the same new pair.
    refreshed = client.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    dpop_bound_claims(second, keys, dpop_key)
    retried = client.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert retried.status == 200, retried.text
    again = retried.json()
    assert (again["access_token"], again["refresh_token"]) == (
        second["access_token"],
        second["refresh_token"],
    )

    # The resource: `Authorization: DPoP` and a proof with ath. Forgetting the nonce first
    # exercises the resource server's round trip (401 use_dpop_nonce, RFC 9449 §9).
    client.nonce = None
    userinfo = client.userinfo(second["access_token"])
    assert userinfo.status == 200, userinfo.text
    assert userinfo.json() == {"sub": id_token.claims["sub"]}
    path, challenge = client.challenges[-1]
    assert (path, challenge.status) == ("/userinfo", 401), challenge.text
    # A DPoP-bound token presented as Bearer is a downgrade (RFC 9449 §7.2).
    downgrade = http.request(
        "GET",
        tpp.url("/userinfo"),
        headers={"Authorization": f"Bearer {second['access_token']}"},
    )
    assert downgrade.status == 401, downgrade.text

    # Past the grace window, replaying the spent token is theft: the whole family dies.
    time.sleep(REFRESH_GRACE + 1.5)
    replay = client.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.status == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"
    newest = client.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert newest.status == 400, newest.text
    assert newest.json()["error"] == "invalid_grant"
    # With a valid proof (and nonce), so the 401 is the revocation and not the proof.
    revoked = client.userinfo(second["access_token"])
    assert revoked.status == 401, revoked.text
    assert revoked.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in (header(revoked, "WWW-Authenticate") or "")
    # Exactly the deliberate nonce round trips; every other proof had a live nonce.
    assert [path for path, _ in client.challenges] == ["/par", "/token", "/userinfo"]


def withdraw_on_dashboard(chromium: Path, base: str, screenshot: Path) -> list[str]:
    """Sign in at the consent dashboard, press "Withdraw" and confirm; the statuses it then
    shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/account/consents")
            page.wait_for_url("**/login")  # signed out: the dashboard sends us to log in
            sign_in(page, USERNAME, PASSWORD, lands_on="**/account/consents")
            listed = page.locator("li.consent")
            assert listed.count() == 1
            assert CLIENT_NAME in listed.first.get_by_role("heading").inner_text()
            assert listed.first.locator(".status").inner_text() == "Active"
            page.get_by_role("link", name=f"Withdraw access for {CLIENT_NAME}").click()
            page.wait_for_url("**/withdraw")  # the confirmation step
            page.get_by_role("button", name="Yes, withdraw access").click()
            page.wait_for_url("**/account/consents")
            page.screenshot(path=str(screenshot), full_page=True)
            assert page.get_by_role("link", name=f"Withdraw access for {CLIENT_NAME}").count() == 0
            return page.locator("li.consent .status").all_inner_texts()
        finally:
            browser.close()


def test_user_withdraws_consent_on_the_dashboard_and_the_tokens_die(
    chromium: Path,
    callback_server: CallbackServer,
    tpp: Tpp,
    tmp_path: Path,
) -> None:
    http = UrllibTransport()
    client = DPoPClient(http, tpp, generate_key("ES256"))
    params, verifier = tpp.authorization_params()
    pushed = client.send("POST", "/par", form=params)
    assert pushed.status == 201, pushed.text
    url = authorize_url(tpp, pushed)
    arrived = sign_in_and_approve(chromium, url, callback_server, tmp_path / "consent.png")
    issued = client.token(
        grant_type="authorization_code",
        code=arrived.query["code"],
        redirect_uri=tpp.redirect_uri,
        code_verifier=verifier,
    )
    assert issued.status == 200, issued.text
    tokens = issued.json()
    assert client.userinfo(tokens["access_token"]).status == 200

    statuses = withdraw_on_dashboard(chromium, tpp.issuer, tmp_path / "dashboard.png")
    assert statuses == ["Withdrawn"]

    refused = client.userinfo(tokens["access_token"])
    assert refused.status == 401, refused.text
    assert refused.json()["error"] == "invalid_token"
    refresh = client.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.status == 400, refresh.text
    assert refresh.json()["error"] == "invalid_grant"
