"""CI smoke test of an installed wheel: discovery, a page, and one client-credentials token.

Run with the fresh virtualenv's python, from outside the checkout, against a server that
`authserver demo` prepared: argv is the issuer and the demo client's private key file.
Standard library plus joserfc (a dependency of the wheel); nothing from the checkout.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import import_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def check(ok: object, what: object) -> None:
    if not ok:
        sys.exit(f"wheel smoke test failed: {what}")


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def main(issuer: str, key_file: str) -> None:
    status, _, body = get(f"{issuer}/.well-known/openid-configuration")
    meta = json.loads(body)
    check(status == 200 and meta["issuer"] == issuer, body)
    print(f"discovery: issuer {meta['issuer']}")

    status, kind, page = get(f"{issuer}/login")
    check(status == 200 and kind.startswith("text/html") and "<form" in page, (status, kind))
    print("login page: 200 text/html with a form")

    data = json.loads(Path(key_file).read_text())
    data.pop("test_only", None)
    key = import_key(data)
    now = int(time.time())
    claims = {"iss": "demo-tpp", "sub": "demo-tpp", "aud": issuer,
              "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}  # fmt: skip
    assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, ["ES256"])
    form = {"grant_type": "client_credentials", "scope": "accounts:read",
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 - loopback
        meta["token_endpoint"], data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        token = json.loads(response.read())
    check(token.get("token_type") in ("Bearer", "DPoP") and token.get("access_token"), token)
    print(f"client_credentials token: {token['token_type']}, expires_in {token['expires_in']}")

    # Open banking from the wheel: our OpenAPI document, the pages' stylesheet, and a
    # consent written through the packaged migrations' tables.
    status, kind, document = get(f"{issuer}/openapi.json")
    check(status == 200 and json.loads(document)["openapi"] == "3.1.0", (status, kind))
    status, kind, _ = get(f"{issuer}/static/app.css")
    check(status == 200 and kind.startswith("text/css"), (status, kind))
    if token["token_type"] == "Bearer":  # noqa: S105 - a token type, not a secret
        body = {"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}}
        consent = urllib.request.Request(  # noqa: S310 - loopback
            f"{issuer}/open-banking/v4.0/aisp/account-access-consents",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "Content-Type": "application/json",
            },  # fmt: skip
        )
        with urllib.request.urlopen(consent, timeout=10) as response:  # noqa: S310 - loopback
            created = json.loads(response.read())
        check(created["Data"]["Status"] == "AWAU", created)
        print(f"account-access consent: {created['Data']['ConsentId']} AWAU")
    print("openapi.json and app.css served from the package")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
