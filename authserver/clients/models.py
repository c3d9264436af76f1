"""Client registrations (RFC 7591 metadata names where one exists)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import TypeGuard

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey


class Client(UUIDPrimaryKey, Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    client_name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    require_signed_request_object: Mapped[bool] = mapped_column(Boolean, default=False)
    authorization_signed_response_alg: Mapped[str] = mapped_column(
        String(10), default="PS256", server_default="PS256"
    )
    access_token_ttl: Mapped[int | None]
    # RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # A resource server may introspect access tokens issued for the audience it serves.
    resource_server: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # RFC 9701 §6: introspection answers to this client are always signed JWTs.
    introspection_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    # Issue 14: which per-client rate limit applies (RATE_LIMIT_TIERS).
    rate_limit_tier: Mapped[str] = mapped_column(
        String(16), default="starter", server_default="starter"
    )
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


RATE_LIMIT_TIERS = ("starter", "growth", "enterprise")
"""Client tiers of the per-client rate limit, cheapest first (issue 14 item 4)."""


def is_usable(client: Client | None) -> TypeGuard[Client]:
    """The one rule for "this client may act": registered and not disabled (a disabled
    client's tokens are revoked too). Client authentication, /authorize and the consent
    page all ask this."""
    return client is not None and not client.disabled
