"""FapiPolicy: the FAPI 2.0 profile's rules, asked by checks rather than forked into endpoints.

Every rule a check or the discovery document needs lives here once: the checks ask the
policy, and discovery advertises what the policy allows, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from authserver.settings import OAuthSettings

# FAPI 2.0 SP §5.4: PS256, ES256 and EdDSA only; never none, HS* or RS256 on received JWTs.
FAPI_SIGNING_ALGS = ("PS256", "ES256", "EdDSA")
# Message Signing §5.4: the FAPI algorithms the server holds keys for (no EdDSA key yet);
# used for JARM responses and RFC 9701 introspection answers (RS256, its default, is not FAPI).
RESPONSE_SIGNING_ALGS = ("PS256", "ES256")
DEFAULT_RESPONSE_SIGNING_ALG = "PS256"
# FAPI 2.0 SP 5.3.2.2-5: PKCE with S256 only, never plain.
PKCE_METHODS = ("S256",)
# FAPI 2.0 SP 5.3.2.1: private_key_jwt (mTLS client auth is not offered by this server).
CLIENT_AUTH_METHODS = ("private_key_jwt",)
# FAPI 2.0 SP 5.3.2.1-2: never the password or implicit grants.
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# RFC 9396 §2: the authorization_details types PAR accepts (an open-banking consent:
# account access or a domestic payment).
AUTHORIZATION_DETAILS_TYPES = ("account_access", "payment_initiation")


@dataclass(frozen=True)
class FapiPolicy:
    signing_algs: tuple[str, ...] = FAPI_SIGNING_ALGS
    """Algorithms accepted on received JWTs: client assertions, request objects, DPoP proofs."""
    clock_skew: int = 10
    assertion_max_lifetime: int = 300
    request_object_max_lifetime: int = 3600
    par_ttl: int = 60
    jarm_ttl: int = 300
    login_window: int = 600
    require_par: bool = True
    require_signed_request_object: bool = False
    """True makes every client sign its request objects; False leaves it to each client's flag."""
    pkce_methods: tuple[str, ...] = PKCE_METHODS
    response_types: tuple[str, ...] = ("code",)
    response_modes: tuple[str, ...] = ("query", "jwt", "query.jwt", "fragment.jwt", "form_post.jwt")
    jarm_algs: tuple[str, ...] = RESPONSE_SIGNING_ALGS
    jarm_default_alg: str = DEFAULT_RESPONSE_SIGNING_ALG
    introspection_algs: tuple[str, ...] = RESPONSE_SIGNING_ALGS
    introspection_default_alg: str = DEFAULT_RESPONSE_SIGNING_ALG
    id_token_signing_alg: str = "PS256"  # noqa: S105 - an algorithm name, not a secret
    client_auth_methods: tuple[str, ...] = CLIENT_AUTH_METHODS
    """At /token, /par, /revoke and /introspect alike."""
    grant_types: tuple[str, ...] = GRANT_TYPES
    """Grants the profile allows; /token offers those of them that have a handler."""
    dpop_nonce_required: bool = False
    """RFC 9449 §8: every proof (AS and resource servers) must carry a server nonce."""
    allow_bearer_tokens: bool = True
    """Resource servers accept tokens that are not DPoP-bound (False: sender-constrained only)."""
    claims_parameter: bool = True
    """OIDC Core §5.5 ``claims`` is read (for UK Open Banking's ``openbanking_intent_id``)."""
    authorization_details_types: tuple[str, ...] = AUTHORIZATION_DETAILS_TYPES
    """RFC 9396 types PAR accepts; each names one open-banking consent."""

    @property
    def client_auth_algs(self) -> tuple[str, ...]:
        """private_key_jwt assertion algorithms: the received-JWT rule."""
        return self.signing_algs

    @property
    def request_object_algs(self) -> tuple[str, ...]:
        return self.signing_algs

    @property
    def dpop_algs(self) -> tuple[str, ...]:
        return self.signing_algs

    @classmethod
    def from_settings(cls, oauth: OAuthSettings) -> FapiPolicy:
        return cls(
            clock_skew=oauth.clock_skew,
            assertion_max_lifetime=oauth.assertion_max_lifetime,
            request_object_max_lifetime=oauth.request_object_max_lifetime,
            par_ttl=oauth.par_ttl,
            jarm_ttl=oauth.jarm_ttl,
            login_window=oauth.login_window,
            dpop_nonce_required=oauth.dpop_nonce_required,
            allow_bearer_tokens=oauth.allow_bearer_tokens,
        )
