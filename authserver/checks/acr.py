"""The authentication context a client demands: ``acr_values`` and an essential ``acr`` claim.

OIDC Core §5.5.1.1: an essential ``acr`` claim under ``claims.id_token`` with ``value`` or
``values`` names the contexts acceptable to the client. We also hold ``acr_values`` (§3.1.2.1)
to what it names, as UK OB clients use it for the same purpose: a login that cannot give
one of them ends in ``unmet_authentication_requirements`` (RFC 9470 §3), never in an ID
token claiming less than was asked without saying so. An essential ``acr`` without values
asks for nothing in particular.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authserver.errors import InvalidRequestError

BAD_ACR = "acr must be requested as a string or a list of strings."
# UK OB Security Profile: what an ID token's acr says of the login (strong or not).
ACR_SCA = "urn:openbanking:psd2:sca"
ACR_CA = "urn:openbanking:psd2:ca"
ACR_VALUES = (ACR_SCA, ACR_CA)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InvalidRequestError(BAD_ACR)


def _from_claims(raw: str) -> list[str]:
    try:
        claims = json.loads(raw)
    except ValueError:
        return []  # the claims check (checks/intent.py) answers a malformed claims value
    id_token = claims.get("id_token") if isinstance(claims, dict) else None
    acr = id_token.get("acr") if isinstance(id_token, dict) else None
    if not isinstance(acr, dict) or acr.get("essential") is not True:
        return []  # voluntary (or absent): the ID token reports what the login gave
    if "value" in acr:
        return _names(acr["value"])
    if "values" in acr:
        return _names(acr["values"])
    return []


def required_acr(params: Mapping[str, str], *, claims_parameter: bool) -> tuple[str, ...]:
    """The acceptable contexts (any one will do); empty when the client demands none."""
    names = params.get("acr_values", "").split()
    if claims_parameter and "claims" in params:
        names += _from_claims(params["claims"])
    return tuple(dict.fromkeys(names))
