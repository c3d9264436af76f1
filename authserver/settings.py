"""Typed settings from ``AUTHSERVER_*`` environment variables, validated at start-up.

A bank operator must learn about a bad value when the process starts, not on the
first request, so everything is parsed and checked here once; services receive
their own section through their constructor.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from typing import TypeVar
from urllib.parse import urlsplit

from limits import parse as parse_limit
from pydantic import BaseModel
from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict

ENV_PREFIX = "AUTHSERVER_"
NESTED_DELIMITER = "__"


S = TypeVar("S", bound="Settings")


class SettingsError(Exception):
    """A setting is invalid; the message names the variable and never echoes its value."""


def is_loopback_host(host: str | None) -> bool:
    """Loopback hosts may use plain http (development and native clients)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class KeySettings(BaseModel):
    """Signing-key management (DATA-3)."""

    rotation_days: int = Field(default=90, ge=1, le=3650)
    """Age after which `authserver keys rotate --if-due` replaces an active key."""
    overlap_days: int = Field(default=14, ge=0, le=365)
    """How long a retired key stays published so tokens it signed still verify."""
    rsa_bits: int = Field(default=2048, ge=2048, le=8192)
    """RSA modulus size for new RS256/PS256 keys."""
    jwks_max_age: int = Field(default=300, ge=0, le=86400)
    """Cache-Control max-age (seconds) on the JWKS and discovery documents."""
    cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    """How long a process reuses the key list it read from SQL before reading it again."""


class TokenSettings(BaseModel):
    """Token lifetimes (AUTH-1, TOK-1, TOK-4)."""

    access_ttl: int = Field(default=300, ge=60, le=3600)
    """Access-token lifetime in seconds (5 min default, 60 min at most)."""
    refresh_idle_ttl: int = Field(default=86400, ge=60)
    """Refresh-token idle lifetime in seconds."""
    refresh_absolute_ttl: int = Field(default=90 * 86400, ge=60)
    """Refresh-token family absolute lifetime in seconds (then re-authentication)."""
    code_ttl: int = Field(default=60, ge=1, le=60)
    """Authorization-code lifetime in seconds (FAPI 2.0: 60 at most, no leeway)."""
    access_token_alg: Literal["RS256", "PS256", "ES256"] = "RS256"
    """Signing algorithm of JWT access tokens (RFC 9068; RS256 by default, TOK-1)."""
    audience: str = ""
    """``aud`` of access tokens; empty means the issuer (one audience for all resource servers)."""
    id_token_ttl: int = Field(default=300, ge=60, le=3600)
    """ID-token lifetime in seconds."""


class OAuthSettings(BaseModel):
    """Protocol knobs shared by PAR, client authentication, JAR, JARM and refresh (FAPI 2.0)."""

    par_ttl: int = Field(default=60, ge=5, le=599)
    """Lifetime of a pushed request_uri in seconds (FAPI 2.0: always below 600)."""
    clock_skew: int = Field(default=10, ge=0, le=60)
    """Seconds a received JWT's iat/nbf may lie in the future (FAPI 2.0 5.3.2.1-13)."""
    assertion_max_lifetime: int = Field(default=300, ge=30, le=3600)
    """Longest accepted client-assertion lifetime (exp minus iat, or exp minus now)."""
    request_object_max_lifetime: int = Field(default=3600, ge=60, le=3600)
    """Longest accepted request-object lifetime, exp minus nbf (Message Signing: 60 min)."""
    jarm_ttl: int = Field(default=300, ge=10, le=600)
    """Lifetime of a JARM response JWT in seconds (10 min at most)."""
    login_window: int = Field(default=600, ge=60, le=3600)
    """Seconds an authorization accepted at /authorize stays usable while the user logs in."""
    refresh_grace: int = Field(default=0, ge=0, le=600)
    """Opt-in: seconds a just-rotated refresh token may be retried by the same client and
    DPoP key for the same new pair (0: strictly one-time, every replay revokes the family)."""
    dpop_past_window: int = Field(default=60, ge=10, le=600)
    """Seconds a DPoP proof's iat may lie in the past when no server nonce is in use."""
    dpop_nonce_required: bool = False
    """Require a server nonce in every DPoP proof (RFC 9449 §8), at the AS and resource servers."""
    allow_bearer_tokens: bool = True
    """Resource servers accept unbound Bearer tokens; set false for sender-constrained only."""
    dpop_nonce_step: int = Field(default=60, ge=10, le=3600)
    """Seconds per DPoP nonce step; a nonce is accepted for the current and previous step."""
    jwks_fetch_timeout: float = Field(default=3.0, gt=0, le=30)
    """Timeout for fetching a client's jwks_uri."""
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86400)
    """How long a fetched client JWKS is reused before it is fetched again."""
    client_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long a process reuses a client registration; every change is announced on the
    store, so this only bounds a lost announcement (1 s at most on the in-process store)."""


class AuditSettings(BaseModel):
    """The audit chain (OPS-1): requests store events; a chainer links them off the hot path."""

    chain_seconds: float = Field(default=1.0, ge=0, le=60)
    """How often each serving process tries to link stored events into the chain (one process
    at a time does it); 0 leaves chaining to ``authserver audit chain``."""
    max_unchained_seconds: float = Field(default=60.0, gt=0, le=86400)
    """``audit verify`` fails when an event has been stored but unchained for longer."""


class PaymentSettings(BaseModel):
    """UK OB v4.0 payment initiation: message signing (``x-jws-signature``)."""

    trust_anchor: str = Field(default="openbanking.org.uk", min_length=1)
    """The ``http://openbanking.org.uk/tan`` a TPP's request signature must carry, and ours."""
    signature_max_age: float = Field(default=300.0, gt=0)
    """Seconds a request signature's ``http://openbanking.org.uk/iat`` may lie in the past."""
    response_signing_alg: Literal["PS256", "ES256"] = "PS256"
    """Algorithm of our response ``x-jws-signature`` (the active key of it, from /jwks)."""


class ScaSettings(BaseModel):
    """Strong customer authentication: second factors, lockout, SCA age (AUTH-8)."""

    account_access_max_age_days: int = Field(default=90, ge=1, le=90)
    """Days an SCA may be old when an account-access consent is authorised (PSD2 RTS art. 10)."""
    second_factor: Literal["optional", "required"] = "optional"
    """A user with no second factor: ``optional`` lets them consent after a CA login (acr
    ``urn:openbanking:psd2:ca``), ``required`` shows a page asking them to enrol one."""
    partial_ttl: int = Field(default=300, ge=30, le=1800)
    """Seconds between a right password and the second factor before the login starts over."""
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    """Failed attempts (password or second factor) after which the account locks."""
    lockout_base_seconds: int = Field(default=60, ge=1, le=86400)
    """The first lock's length; each further lock doubles it."""
    lockout_max_seconds: int = Field(default=3600, ge=1, le=7 * 86400)
    """The longest a lock lasts."""
    ip_attempts: int = Field(default=100, ge=1)
    """Failed login attempts one client address may make per ``ip_window`` seconds (then 429)."""
    ip_window: int = Field(default=300, ge=1, le=86400)
    """The window, in seconds, over which ``ip_attempts`` is counted."""


class WebhookSettings(BaseModel):
    """Webhook events (API-6): their own signing keys, delivery and the SSRF guard."""

    keys: KeySettings = KeySettings()
    """The webhook signing keys: 90-day rotation, 14-day overlap (RS256 only)."""
    allow_loopback: bool | None = None
    """Deliver to loopback callbacks; unset means yes outside production, no in it."""
    allowed_networks: list[str] = []
    """CIDRs a callback may resolve into although they are private (e.g. a bank's own
    10.1.2.0/24 integration network); empty means none."""
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds one delivery POST may take (connect plus answer)."""
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Attempts before an event is dead-lettered."""
    backoff_base: float = Field(default=2.0, gt=0, le=3600)
    """First retry delay in seconds; it doubles per attempt, with jitter."""
    backoff_max: float = Field(default=3600.0, gt=0, le=86400)
    """The longest delay between two attempts."""
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How long a worker holds a claimed delivery; a dead worker's claim is retaken after it."""
    batch_size: int = Field(default=20, ge=1, le=1000)
    """Deliveries one worker claims per round."""
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """Pause of ``authserver webhooks worker`` when nothing was due."""

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad value
        return value


class BrandingSettings(BaseModel):
    """What the pages people see (login, second factor, consent, dashboard) carry of the bank."""

    name: str = Field(default="authserver", min_length=1, max_length=80)
    """The bank's name in every page's header and title (AUTHSERVER_BRANDING__NAME)."""
    logo_path: Path | None = None
    """An SVG or PNG file shown as the bank's logo, served by us; unset: the packaged one."""

    @field_validator("logo_path")
    @classmethod
    def _logo_is_svg_or_png(cls, value: Path | None) -> Path | None:
        # Fail at start-up, not on the first page: a bank's login page without its logo
        # looks like a phishing copy.
        if value is None:
            return None
        if value.suffix.lower() not in (".svg", ".png"):
            raise ValueError("must be an .svg or .png file")
        if not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value


class RateLimitSettings(BaseModel):
    """Per-client budgets (API-4): the client's tier and each limited endpoint group.

    Values are ``limits`` strings such as ``100/minute`` or ``10/second``.
    """

    enabled: bool = True
    """Off only for a deployment limited in front of us (a gateway)."""
    storage_url: str | None = None
    """Where the windows live; unset means the store's Redis, or memory without Redis."""
    starter: str = "100/minute"
    """Budget of a Starter client over every limited endpoint."""
    growth: str = "500/minute"
    """Budget of a Growth client."""
    enterprise: str = "2000/minute"
    """Budget of an Enterprise client."""
    par: str = "1000/minute"
    """Per client at ``POST /par``."""
    token: str = "1000/minute"
    """Per client at ``POST /token``."""
    consents: str = "500/minute"
    """Per client at the OB consent endpoints (account access and domestic payments)."""
    payments: str = "500/minute"
    """Per client at the OB domestic-payment endpoints."""

    @field_validator("starter", "growth", "enterprise", "par", "token", "consents", "payments")
    @classmethod
    def _limit(cls, value: str) -> str:
        parse_limit(value)  # ValueError names the bad value
        return value


class MetricsSettings(BaseModel):
    """The Prometheus endpoint (OPS-5): not public, so it answers only with an operator token."""

    token: SecretStr | None = None
    """Bearer token that opens ``/metrics``; unset means ``/metrics`` answers 404."""


class Settings(BaseSettings):
    """Every knob of the server; one attribute per ``AUTHSERVER_<NAME>`` variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        frozen=True,
        extra="ignore",
    )

    env: Literal["development", "production", "test"] = "development"
    """development generates missing secrets into the instance folder; production refuses to."""
    issuer: str = "http://127.0.0.1:5000"
    """Issuer identifier: https URL (http only on loopback), no query or fragment."""
    instance_path: Path = Path("instance")
    """Folder for the SQLite file, generated development secrets and demo material."""
    database_url: str = ""
    """SQLAlchemy URL; empty means SQLite at <instance_path>/authserver.db."""
    redis_url: str | None = None
    """redis:// URL for the shared store; unset means the in-process store (one process only)."""
    redis_prefix: str = "authserver:"
    """Prefix for every Redis key, so several deployments can share one Redis."""
    master_key: SecretStr | None = None
    """Base64url 32-byte key that wraps the per-key data keys (AES-256-GCM envelope)."""
    master_key_file: Path | None = None
    """File holding the master key instead of the variable (e.g. a mounted secret)."""
    dpop_nonce_secret: SecretStr | None = None
    """Base64url 32-byte key of the DPoP server nonces, shared by the AS and separate resource
    servers; unset means a key derived from the master key (AS and resources in one app)."""
    account_data_secret: SecretStr | None = None
    """Base64url 32-byte key sealing account identifiers at rest; unset means a key derived
    from the master key. A separate resource server serves accounts only when it is set."""
    listen_host: str = "127.0.0.1"
    """Address `authserver run` listens on."""
    listen_port: int = Field(default=5000, ge=1, le=65535)
    """Port `authserver run` listens on."""
    max_body_bytes: int = Field(default=65536, ge=1024)
    """Largest request body accepted; larger ones get 413."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Threshold of the JSON logs."""
    keys: KeySettings = KeySettings()
    tokens: TokenSettings = TokenSettings()
    oauth: OAuthSettings = OAuthSettings()
    payments: PaymentSettings = PaymentSettings()
    sca: ScaSettings = ScaSettings()
    webhooks: WebhookSettings = WebhookSettings()
    audit: AuditSettings = AuditSettings()
    branding: BrandingSettings = BrandingSettings()
    metrics: MetricsSettings = MetricsSettings()
    ratelimit: RateLimitSettings = RateLimitSettings()

    @field_validator("issuer")
    @classmethod
    def _issuer_is_https_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query or fragment (RFC 8414 section 2)")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("must use https unless the host is loopback")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env == "production":
            if self.master_key is None and self.master_key_file is None:
                raise ValueError(
                    "AUTHSERVER_MASTER_KEY or AUTHSERVER_MASTER_KEY_FILE is required in production"
                )
            if not self.issuer.startswith("https://"):
                raise ValueError("AUTHSERVER_ISSUER must be https in production")
        return self

    @property
    def webhook_loopback_allowed(self) -> bool:
        """Loopback callbacks: allowed in development and tests, refused in production
        unless ``webhooks.allow_loopback`` says otherwise."""
        if self.webhooks.allow_loopback is not None:
            return self.webhooks.allow_loopback
        return self.env != "production"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'authserver.db').resolve()}"


class ResourceServerSettings(Settings):
    """A resource server running as its own process (``authserver.rs``).

    It verifies tokens from the issuer's published JWKS and holds no secret of the
    authorization server: no master key, even in production.
    """

    resource_url: str = ""
    """Public base URL of this resource server (the DPoP ``htu``); empty means the issuer."""
    issuer_jwks_uri: str = ""
    """Where the issuer publishes its keys; empty means ``<issuer>/jwks``."""
    issuer_jwks_ttl: float = Field(default=60, ge=0, le=3600)
    """Seconds a fetched issuer JWKS is reused before it is fetched again."""
    issuer_jwks_min_refetch: float = Field(default=10, ge=0, le=3600)
    """Least seconds between two fetches caused by an unknown ``kid`` (a rate limit)."""

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> ResourceServerSettings:
        if self.env == "production" and not self.issuer.startswith("https://"):
            raise ValueError("AUTHSERVER_ISSUER must be https in production")
        if self.oauth.dpop_nonce_required and self.dpop_nonce_secret is None:
            raise ValueError(
                "AUTHSERVER_DPOP_NONCE_SECRET is required when a resource server requires nonces"
            )
        return self

    @property
    def public_url(self) -> str:
        return (self.resource_url or self.issuer).rstrip("/")

    @property
    def jwks_uri(self) -> str:
        return self.issuer_jwks_uri or f"{self.issuer}/jwks"


def _variable_name(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return f"{ENV_PREFIX}*"
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in loc)


def load_settings(**overrides: object) -> Settings:
    """Read the environment; on a bad value raise SettingsError with one line naming it."""
    return _load(Settings, overrides)


def load_resource_server_settings(**overrides: object) -> ResourceServerSettings:
    """``load_settings`` for a resource server process (no master key needed)."""
    return _load(ResourceServerSettings, overrides)


def _load(model: type[S], overrides: dict[str, object]) -> S:
    try:
        return model(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:
            raise SettingsError(f"invalid setting: {message}") from None
        raise SettingsError(f"invalid setting {_variable_name(first['loc'])}: {message}") from None
