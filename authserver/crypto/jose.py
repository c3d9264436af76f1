"""JOSE helpers shared by every floor: the FAPI algorithm registry for joserfc.

joserfc warns on every ``EdDSA`` use (RFC 9864 deprecates the polymorphic name) while
FAPI 2.0 still names it; the registry here pins EdDSA to Ed25519 and drops the warning,
so client assertions, request objects and (later) DPoP proofs verify alike.
"""

from __future__ import annotations

from collections.abc import Collection

from joserfc.errors import InvalidKeyCurveError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry


class Ed25519EdDSA(EdDSAAlgorithm):
    """JWS ``EdDSA`` limited to Ed25519 keys (FAPI 2.0 SP §5.4).

    joserfc warns on every ``EdDSA`` use (RFC 9864 deprecates the polymorphic name);
    FAPI 2.0 still names ``EdDSA``, so the warning is dropped here, where the curve is pinned.
    """

    security_warning = ""  # falsy: joserfc then issues no SecurityWarning

    def check_key(self, key: OKPKey) -> None:
        super().check_key(key)
        if key.curve_name != "Ed25519":
            raise InvalidKeyCurveError("EdDSA is accepted with Ed25519 keys only")


class FapiJWSRegistry(JWSRegistry):
    """joserfc's algorithms, with ``EdDSA`` replaced by the Ed25519-only, warning-free one."""

    algorithms: dict[str, JWSAlgModel] = {**JWSRegistry.algorithms, "EdDSA": Ed25519EdDSA()}

    def __init__(self, algorithms: Collection[str]) -> None:
        super().__init__(algorithms=list(algorithms))
