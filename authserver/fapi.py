"""FapiPolicy: the FAPI 2.0 profile's rules, asked by checks rather than forked into endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.settings import OAuthSettings

# FAPI 2.0 SP §5.4: PS256, ES256 and EdDSA only; never none, HS* or RS256 on received JWTs.
FAPI_SIGNING_ALGS = ("PS256", "ES256", "EdDSA")


@dataclass(frozen=True)
class FapiPolicy:
    signing_algs: tuple[str, ...] = FAPI_SIGNING_ALGS
    clock_skew: int = 10
    assertion_max_lifetime: int = 300
    request_object_max_lifetime: int = 3600
    par_ttl: int = 60
    jarm_ttl: int = 300
    login_window: int = 600
    require_par: bool = True
    pkce_methods: tuple[str, ...] = ("S256",)
    response_types: tuple[str, ...] = ("code",)
    response_modes: tuple[str, ...] = ("query", "jwt", "query.jwt", "fragment.jwt", "form_post.jwt")
    jarm_default_alg: str = "PS256"

    @classmethod
    def from_settings(cls, oauth: OAuthSettings) -> FapiPolicy:
        return cls(
            clock_skew=oauth.clock_skew,
            assertion_max_lifetime=oauth.assertion_max_lifetime,
            request_object_max_lifetime=oauth.request_object_max_lifetime,
            par_ttl=oauth.par_ttl,
            jarm_ttl=oauth.jarm_ttl,
            login_window=oauth.login_window,
        )
