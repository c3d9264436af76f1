"""Key ring: the active key per algorithm, retired keys kept for the overlap, JWKS output.

Keys are generated at start-up (the authorization server's app factory) and by the
CLI, never on a request's read path; every process of a deployment converges on the
same keys in SQL, and a partial unique index makes two workers racing to generate end
with one active key per algorithm. Reading and verifying go through the read-only
``PublishedKeys`` view, which resource servers use without this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import structlog
from joserfc import jwk
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authserver.clock import Clock
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db
from authserver.keys.models import ACTIVE
from authserver.keys.models import RETIRED
from authserver.keys.models import TOKEN_USE
from authserver.keys.models import WEBHOOK_USE
from authserver.keys.models import SigningKey
from authserver.keys.published import PublishedKeys
from authserver.keys.published import UnknownKeyError
from authserver.settings import KeySettings

log = structlog.get_logger(__name__)

# RS256 signs access tokens (TOK-1); PS256 and ES256 sign FAPI-facing JWS.
MANAGED_ALGS = ("RS256", "PS256", "ES256")
PrivateKey = jwk.RSAKey | jwk.ECKey


WEBHOOK_ALGS = ("RS256",)
"""Webhook events are JWS RS256 (API-6), whatever the token algorithms are."""

__all__ = [
    "MANAGED_ALGS",
    "WEBHOOK_ALGS",
    "KeyInfo",
    "KeyService",
    "ResponseSigningKey",
    "UnknownKeyError",
]


@dataclass(frozen=True)
class ResponseSigningKey:
    """The current key of one algorithm for signing a response body (UK OB
    ``x-jws-signature``); structurally the ``ResponseSigner`` of ``openbanking``, which
    this floor cannot import."""

    kid: str
    alg: str
    private_key: PrivateKey


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    kty: str
    state: str
    created_at: datetime
    retired_at: datetime | None
    age_days: float
    published: bool


def _generate(alg: str, rsa_bits: int) -> PrivateKey:
    key: PrivateKey
    if alg.startswith("ES"):
        key = jwk.ECKey.generate_key("P-256", private=True)
    else:
        key = jwk.RSAKey.generate_key(rsa_bits, private=True)
    # The RFC 7638 thumbprint as kid: unique, and stable for the key's whole life.
    return jwk.import_key(
        key.as_dict(private=True), parameters={"kid": key.thumbprint(), "alg": alg, "use": "sig"}
    )  # type: ignore[return-value]


class KeyService:
    """One key ring: ``use`` ``token`` (the default, published at /jwks) or ``webhook``
    (its own ring with its own rotation settings, published apart)."""

    def __init__(
        self,
        settings: KeySettings,
        envelope: Envelope,
        clock: Clock,
        *,
        use: str = TOKEN_USE,
        algs: tuple[str, ...] = MANAGED_ALGS,
    ) -> None:
        self._settings = settings
        self._envelope = envelope
        self._clock = clock
        self._use = use
        self.algs = algs
        self._private: dict[str, PrivateKey] = {}
        self.published = PublishedKeys(settings, clock, use)

    # -- reading (the read-only view; never creates keys) -------------------------
    def published_keys(self) -> list[SigningKey]:
        """Active keys plus retired ones still inside their overlap, newest first."""
        return self.published.rows()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return self.published.jwks()

    def list_keys(self) -> list[KeyInfo]:
        now = self._clock.now()
        rows = db.session.scalars(
            select(SigningKey).where(SigningKey.use == self._use).order_by(SigningKey.created_at)
        ).all()
        return [
            KeyInfo(
                kid=row.kid,
                alg=row.alg,
                kty=row.kty,
                state=row.state if self.published.is_published(row, now) else "expired",
                created_at=row.created_at,
                retired_at=row.retired_at,
                age_days=round((now - row.created_at).total_seconds() / 86400, 2),
                published=self.published.is_published(row, now),
            )
            for row in rows
        ]

    def _private_key(self, row: SigningKey) -> PrivateKey:
        cached = self._private.get(row.kid)
        if cached is not None:
            return cached
        raw = self._envelope.open(Sealed.from_text(row.sealed_private_jwk), row.kid)
        key: PrivateKey = jwk.import_key(json.loads(raw))  # type: ignore[assignment]
        self._private[row.kid] = key
        return key

    # -- signing and verifying ---------------------------------------------------
    def sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        row = self._active(alg)
        if row is None:
            raise UnknownKeyError(f"no active {alg} key")
        header = {"alg": alg, "kid": row.kid, "typ": typ}
        return jwt.encode(header, claims, self._private_key(row), algorithms=[alg])

    def response_signer(self, alg: str) -> ResponseSigningKey:
        """The active ``alg`` key (published in /jwks) for detached response signatures;
        UnknownKeyError when there is none."""
        row = self._active(alg)
        if row is None:
            raise UnknownKeyError(f"no active {alg} key")
        return ResponseSigningKey(kid=row.kid, alg=alg, private_key=self._private_key(row))

    def _active(self, alg: str) -> SigningKey | None:
        return next((k for k in self.published_keys() if k.alg == alg and k.state == ACTIVE), None)

    def verify(self, token: str, algorithms: list[str]) -> jwt.Token:
        """Verify a JWT we signed; raise UnknownKeyError when its kid is no longer published."""
        published = {k.kid: k for k in self.published_keys()}
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError) as exc:
            raise UnknownKeyError("malformed token") from exc
        row = published.get(str(kid))
        if row is None:
            raise UnknownKeyError("kid not published")
        public = KeySet([jwk.import_key(row.public_jwk)])
        return jwt.decode(token, public, algorithms=algorithms)

    # -- writing -----------------------------------------------------------------
    def _webhook_kid(self) -> str:
        """``webhook-key-YYYY-MM`` (what a TPP's operator reads in a log), with ``-2``,
        ``-3``... when that month already had a key (an early rotation)."""
        base = f"webhook-key-{self._clock.now():%Y-%m}"
        taken = set(
            db.session.scalars(select(SigningKey.kid).where(SigningKey.kid.startswith(base)))
        )
        kid, suffix = base, 1
        while kid in taken:
            suffix += 1
            kid = f"{base}-{suffix}"
        return kid

    def _new_row(self, alg: str) -> SigningKey:
        key = _generate(alg, self._settings.rsa_bits)
        if self._use == WEBHOOK_USE:
            key = jwk.import_key(  # type: ignore[assignment]
                key.as_dict(private=True), parameters={"kid": self._webhook_kid()}
            )
        kid = str(key.kid)
        sealed = self._envelope.seal(json.dumps(key.as_dict(private=True)).encode(), kid)
        return SigningKey(
            kid=kid,
            alg=alg,
            kty=key.key_type,
            state=ACTIVE,
            use=self._use,
            created_at=self._clock.now(),
            public_jwk=key.as_dict(private=False),
            sealed_private_jwk=sealed.to_text(),
        )

    def ensure_keys(self) -> list[SigningKey]:
        """Create an active key for every managed algorithm that has none."""
        active = set(
            db.session.scalars(
                select(SigningKey.alg).where(
                    SigningKey.state == ACTIVE, SigningKey.use == self._use
                )
            )
        )
        created = []
        for alg in self.algs:
            if alg in active:
                continue
            row = self._new_row(alg)
            db.session.add(row)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # another process generated it first
                continue
            log.info("signing_key_created", kid=row.kid, alg=alg)
            created.append(row)
        if created:
            self.published.invalidate()
        return created

    def rotate(self, algs: tuple[str, ...] | None = None) -> list[SigningKey]:
        """Retire each algorithm's active key and make a new one, in one transaction."""
        algs = self.algs if algs is None else algs
        now = self._clock.now()
        current = db.session.scalars(
            select(SigningKey).where(
                SigningKey.state == ACTIVE, SigningKey.use == self._use, SigningKey.alg.in_(algs)
            )
        ).all()
        for row in current:
            row.state = RETIRED
            row.retired_at = now
        db.session.flush()
        fresh = [self._new_row(alg) for alg in algs]
        db.session.add_all(fresh)
        db.session.commit()
        self.published.invalidate()
        for row in fresh:
            log.info("signing_key_rotated", kid=row.kid, alg=row.alg)
        return fresh

    def rotate_due(self) -> list[SigningKey]:
        """Rotate only the algorithms whose active key is older than the rotation age."""
        limit = self._clock.now() - timedelta(days=self._settings.rotation_days)
        due = db.session.scalars(
            select(SigningKey.alg).where(
                SigningKey.state == ACTIVE,
                SigningKey.use == self._use,
                SigningKey.created_at <= limit,
            )
        ).all()
        return self.rotate(tuple(due)) if due else []
