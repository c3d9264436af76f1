"""The request shape /revoke and /introspect share (RFC 7009 §2.1, RFC 7662 §2.1):
a strict form body, client authentication as at the token endpoint, a ``token``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from authserver.checks.form import read_form
from authserver.clients.models import Client
from authserver.errors import InvalidRequestError


class ClientAuthentication(Protocol):
    """``client_auth.ClientAuthenticator``, seen from here without importing it."""

    def authenticate(self, form: Mapping[str, str]) -> Client: ...


@dataclass(frozen=True)
class TokenRequest:
    caller: Client
    token: str
    token_type_hint: str | None


def read_token_request(client_auth: ClientAuthentication) -> TokenRequest:
    """Client authentication comes first: an unauthenticated caller learns nothing,
    not even that its request lacked a token."""
    form = read_form()
    caller = client_auth.authenticate(form)
    token = form.get("token")
    if not token:
        raise InvalidRequestError("token is required.")
    return TokenRequest(caller, token, form.get("token_type_hint"))
