"""The newcomer's path: `authserver demo`, the server, the example TPP, and a person in Chromium.

The example TPP (examples/tpp/app.py) runs as its own process exactly as the README
starts it, pointed at a live server; the user signs in as the demo user and approves in
Debian's headless Chromium, and the TPP's result page must show the decoded tokens and
the protected resource's answer. The TPP gets a free port (tests run in parallel), so it
is registered as a second client with the demo client's key and its own callback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from joserfc.jwk import import_key

from tests.browser.test_code_flow_in_chromium import CHROMIUM_ARGS
from tests.browser.test_code_flow_in_chromium import chromium  # noqa: F401 - the fixture
from tests.browser.test_code_flow_in_chromium import sign_in
from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "example-tpp"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def example_tpp(env: dict[str, str], base: str, log: Path) -> Iterator[None]:
    """Start examples/tpp/app.py as the README does and wait until its start page answers."""
    with log.open("wb") as sink:
        command = [sys.executable, "examples/tpp/app.py"]
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink)
        try:
            deadline = time.monotonic() + 60
            while not answers(base + "/"):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield
        finally:
            process.terminate()
            process.wait(timeout=15)


def register_with_the_demo_key(env: dict[str, str], callback: str, tmp_path: Path) -> Path:
    """`authserver demo`, then the example TPP as a client with the demo key, own callback."""
    demo = cli(env, "demo")
    key_file = Path(demo["client_private_jwk"])
    private = json.loads(key_file.read_text())
    private.pop("test_only")
    public = import_key(private).as_dict(private=False)
    jwks = tmp_path / "example-tpp.jwks.json"
    jwks.write_text(json.dumps({"keys": [public]}))
    cli(env, "clients", "create", "--name", "Example TPP", "--client-id", CLIENT_ID,
        "--redirect-uri", callback, "--scope", "openid accounts:read",
        "--jwks-file", str(jwks), "--dpop-bound-access-tokens")  # fmt: skip
    return key_file


def test_example_tpp_from_start_page_to_resource_response(
    chromium: Path,  # noqa: F811 - the fixture imported above
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    as_port, tpp_port = free_port(), free_port()
    issuer, tpp_base = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{tpp_port}"
    # Server nonces on: the TPP's one retry with the server's DPoP-Nonce is on the path.
    env = cli_env | {"AUTHSERVER_ISSUER": issuer, "AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED": "true"}
    key_file = register_with_the_demo_key(env, f"{tpp_base}/callback", tmp_path)
    user = json.loads((key_file.parent / "demo-user.json").read_text())
    tpp_env = env | {"TPP_ISSUER": issuer, "TPP_CLIENT_ID": CLIENT_ID,
                     "TPP_KEY_FILE": str(key_file), "TPP_PORT": str(tpp_port)}  # fmt: skip
    server = [sys.executable, "-m", "authserver", "run", "--port", str(as_port)]
    with (
        serving(server, env, issuer, tmp_path / "server.log"),
        example_tpp(tpp_env, tpp_base, tmp_path / "tpp.log"),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(tpp_base + "/")
            page.get_by_role("link", name="Connect your bank").click()
            page.wait_for_url("**/login")
            sign_in(page, user["username"], user["password"], totp_secret=user["totp_secret"])
            page.get_by_role("button", name="Approve").click()
            page.wait_for_url(f"{tpp_base}/callback?**")
            assert page.get_by_role("heading", level=1).inner_text() == "Connected"
            sections = page.get_by_role("heading", level=2).all_inner_texts()
            shown = [json.loads(text) for text in page.locator("pre").all_inner_texts()]
        finally:
            browser.close()
    assert sections[0] == "Resource response (GET /userinfo with DPoP)"
    resource, id_token, access, refreshed, revoked = shown
    assert resource["sub"] == id_token["sub"] == access["sub"]
    assert id_token["aud"] == CLIENT_ID
    assert access["client_id"] == CLIENT_ID
    assert access["cnf"]["jkt"]
    assert refreshed["token_type"] == "DPoP"
    assert revoked == {"status": 200}
