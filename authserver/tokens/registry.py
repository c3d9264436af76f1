"""The token endpoint's grant registry (RFC 6749 §4.1.3, §4.4.2, §6): grant_type → its
ordered checks and its handler, composed like ``/par``'s check list.

``/token`` asks ``select_grant`` (the one place an unknown or disallowed grant_type
becomes ``unsupported_grant_type``), runs ``COMMON_CHECKS`` and then the grant's own
checks in order, and only then the handler, which may spend state (a code, a refresh
token). Discovery's ``grant_types_supported`` is ``supported_grant_types(policy)``, so
the document lists exactly what this table serves.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from authserver.clients.models import Client
from authserver.context import Services
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.proof import DPoPProof
from authserver.errors import InvalidRequestError
from authserver.fapi import FapiPolicy
from authserver.metrics import TOKENS_ISSUED
from authserver.tokens import grants
from authserver.tokens.errors import UnauthorizedClientError
from authserver.tokens.errors import UnsupportedGrantTypeError


@dataclass(frozen=True)
class GrantRequest:
    """An authenticated token request, as every check sees it."""

    svc: Services
    client: Client
    grant_type: str
    form: dict[str, str]
    proof: DPoPProof | None


TokenCheck = Callable[[GrantRequest], None]


@dataclass(frozen=True)
class GrantType:
    handler: grants.Grant
    checks: tuple[TokenCheck, ...] = ()
    """Grant-specific checks, run in order after ``COMMON_CHECKS``, before the handler."""


def check_client_may_use_grant(request: GrantRequest) -> None:
    # RFC 6749 §5.2: a grant the client is not registered for is unauthorized_client.
    if request.grant_type not in request.client.grant_types:
        raise UnauthorizedClientError()


def check_proof_if_bound(request: GrantRequest) -> None:
    # RFC 9449 §5.2: dpop_bound_access_tokens clients never get a Bearer token. Checked
    # before the handler runs, so a missing proof spends no code.
    if request.proof is None and request.client.dpop_bound_access_tokens:
        raise InvalidDPoPProofError("This client must send a DPoP proof.")


def require(name: str) -> TokenCheck:
    """A check that the form carries a non-empty ``name``."""

    def check_present(request: GrantRequest) -> None:
        if not request.form.get(name):
            raise InvalidRequestError(f"{name} is required.")

    check_present.__name__ = f"check_{name}_present"
    return check_present


COMMON_CHECKS: tuple[TokenCheck, ...] = (check_client_may_use_grant, check_proof_if_bound)

GRANT_REGISTRY: Mapping[str, GrantType] = MappingProxyType(
    {
        "authorization_code": GrantType(grants.authorization_code, (require("code"),)),
        "refresh_token": GrantType(grants.refresh_token, (require("refresh_token"),)),
        "client_credentials": GrantType(grants.client_credentials),
    }
)


def supported_grant_types(policy: FapiPolicy) -> tuple[str, ...]:
    """The grants the profile allows and this server has a handler for, in policy order."""
    return tuple(name for name in policy.grant_types if name in GRANT_REGISTRY)


def select_grant(grant_type: str | None, policy: FapiPolicy) -> tuple[str, GrantType]:
    """The named grant, or the one refusal of a missing, unknown or disallowed one."""
    if not grant_type:
        raise InvalidRequestError("grant_type is required.")
    # FAPI 2.0 SP 5.3.2.1-2: the password grant (and anything unknown) is refused.
    if grant_type not in supported_grant_types(policy):
        raise UnsupportedGrantTypeError()
    return grant_type, GRANT_REGISTRY[grant_type]


def run_grant(grant: GrantType, request: GrantRequest) -> grants.TokenResponse:
    """The checks in order, then the handler."""
    for check in (*COMMON_CHECKS, *grant.checks):
        check(request)
    response = grant.handler(request.svc, request.client, request.form, request.proof)
    TOKENS_ISSUED.labels(request.grant_type).inc()
    return response
