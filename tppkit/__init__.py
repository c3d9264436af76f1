"""tppkit: the one TPP (client) kit that the tests, the conformance runner and the
benchmarks share. It is not part of the server: ``authserver`` never imports it and the
wheel does not ship it.

- ``keys``: TEST-ONLY keys (``generate_key``, ``new_key``, ``shared_key``) and JWKS;
- ``encoding``: base64url and unverified JWT peeks;
- ``client``: ``Tpp`` (private_key_jwt assertions, PKCE, request objects), ``dpop_proof``;
- ``transport`` / ``browser``: HTTP for a live server, the scripted user, callbacks;
- ``registration``: TPPs and resource servers, in-process or through the CLI;
- ``local_server``: a real ``authserver`` process, awaited until ready;
- ``totp``: one-time codes for a user with a second factor (``TotpCodes``).
"""

from tppkit.browser import Browser
from tppkit.browser import Callback
from tppkit.browser import csrf_token
from tppkit.browser import query_params
from tppkit.browser import read_callback
from tppkit.browser import server_keys
from tppkit.client import ASSERTION_TYPE
from tppkit.client import Tpp
from tppkit.client import ath
from tppkit.client import dpop_proof
from tppkit.client import pkce_pair
from tppkit.encoding import b64url
from tppkit.encoding import b64url_decode
from tppkit.encoding import b64url_json
from tppkit.encoding import jwt_claims
from tppkit.encoding import jwt_header
from tppkit.encoding import segment_json
from tppkit.keys import KEY_TYPES
from tppkit.keys import PrivateKey
from tppkit.keys import generate_key
from tppkit.keys import new_key
from tppkit.keys import public_jwks
from tppkit.keys import shared_key
from tppkit.keys import shared_tpp_key
from tppkit.totp import TotpCodes
from tppkit.transport import HttpResponse
from tppkit.transport import Transport
from tppkit.transport import UrllibTransport

__all__ = [
    "ASSERTION_TYPE",
    "KEY_TYPES",
    "Browser",
    "Callback",
    "HttpResponse",
    "PrivateKey",
    "TotpCodes",
    "Tpp",
    "Transport",
    "UrllibTransport",
    "ath",
    "b64url",
    "b64url_decode",
    "b64url_json",
    "csrf_token",
    "dpop_proof",
    "generate_key",
    "jwt_claims",
    "jwt_header",
    "new_key",
    "pkce_pair",
    "public_jwks",
    "query_params",
    "read_callback",
    "segment_json",
    "server_keys",
    "shared_key",
    "shared_tpp_key",
]
