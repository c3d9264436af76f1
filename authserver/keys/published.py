"""The published signing keys, read-only: what /jwks shows and what verifies our tokens.

Nothing here creates a key or opens a private one, so a resource server (or any
verifying code) can hold this view without the master key. ``KeyService`` builds on
it for signing and rotation; ``ensure_keys`` runs only at start-up and in the CLI.
"""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from authserver.clock import Clock
from authserver.db import db
from authserver.keys.models import ACTIVE
from authserver.keys.models import TOKEN_USE
from authserver.keys.models import SigningKey
from authserver.settings import KeySettings


class UnknownKeyError(Exception):
    """No published key has the token's kid (never issued here, or past its overlap)."""


class PublishedKeys:
    """Active keys plus retired ones still inside their overlap, read from SQL and cached
    for ``keys.cache_seconds`` so every process converges on what the others wrote."""

    def __init__(self, settings: KeySettings, clock: Clock, use: str = TOKEN_USE) -> None:
        self._settings = settings
        self._clock = clock
        self._use = use
        self._cached: tuple[float, list[SigningKey]] | None = None
        self._body: tuple[list[SigningKey], bytes] | None = None

    def is_published(self, key: SigningKey, now: datetime) -> bool:
        if key.state == ACTIVE:
            return True
        overlap = timedelta(days=self._settings.overlap_days)
        return key.retired_at is not None and key.retired_at + overlap > now

    def rows(self) -> list[SigningKey]:
        """Newest first; detached from the session (only public columns are read later)."""
        now_ts = self._clock.time()
        if self._cached and now_ts - self._cached[0] < self._settings.cache_seconds:
            return self._cached[1]
        rows = db.session.scalars(
            select(SigningKey)
            .where(SigningKey.use == self._use)
            .order_by(SigningKey.created_at.desc())
        ).all()
        now = self._clock.now()
        keys = [row for row in rows if self.is_published(row, now)]
        for row in keys:
            db.session.expunge(row)
        self._cached = (now_ts, keys)
        return keys

    def invalidate(self) -> None:
        self._cached = None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [dict(key.public_jwk) for key in self.rows()]}

    def jwks_body(self) -> bytes:
        """The JWK Set as response bytes, encoded again only when the published keys change
        (a rotation, or the cache reloading them); /jwks is the hottest GET (issue 15)."""
        rows = self.rows()
        body = self._body
        if body is not None and body[0] is rows:
            return body[1]
        document = {"keys": [dict(key.public_jwk) for key in rows]}
        encoded = json.dumps(document, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        self._body = (rows, encoded)
        return encoded

    def public_key(self, kid: str) -> dict[str, Any] | None:
        """The public JWK published under ``kid``, or None."""
        row = next((key for key in self.rows() if key.kid == kid), None)
        return dict(row.public_jwk) if row is not None else None
