"""The proof a back-channel request presents, checked before client authentication.

Checking the proof first means a ``use_dpop_nonce`` round trip costs the client only
its proof: the client assertion's single-use jti is not spent on a request that must
be retried anyway (the OIDF suite retries with the same assertion).
"""

from __future__ import annotations

from flask import request

from authserver.dpop.proof import DPoPProof
from authserver.dpop.proof import DPoPValidator


def presented_proof(
    validator: DPoPValidator, path: str, *, require_nonce: bool
) -> DPoPProof | None:
    """The verified proof of this POST, or None when it carries no DPoP header."""
    values = request.headers.getlist("DPoP")
    if not values:
        return None
    return validator.validate(values, "POST", path, require_nonce=require_nonce)
