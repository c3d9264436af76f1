"""What every module sees: the issuer, the configured TPPs and user, cached server facts,
and the DPoP side (one TEST-ONLY DPoP key per TPP, the server nonces learnt so far)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from joserfc import jwk
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from conformance.config import ClientConfig
from conformance.config import Config
from conformance.dpop import NonceMemory
from tppkit import PrivateKey
from tppkit import TotpCodes
from tppkit import Tpp
from tppkit import UrllibTransport
from tppkit import generate_key


class Skip(Exception):  # noqa: N818 - reads as `raise Skip("why")`
    """The module does not apply to this server or configuration."""


def make_tpp(client: ClientConfig, issuer: str, scope: str) -> Tpp:
    return Tpp(client.client_id, client.key, client.alg, issuer, client.redirect_uri, scope=scope)


@dataclass
class Context:
    issuer: str
    config: Config
    tpps: tuple[Tpp, Tpp]
    signed: Tpp | None
    duplicates: bool = True
    nonces: NonceMemory = field(default_factory=NonceMemory)
    _dpop_keys: dict[str, PrivateKey] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _codes: TotpCodes | None = None

    @classmethod
    def create(cls, issuer: str, config: Config, *, duplicates: bool = True) -> Context:
        issuer = issuer.rstrip("/")
        first, second = (make_tpp(c, issuer, config.scope) for c in config.clients)
        signed = config.signed_client
        signed_tpp = make_tpp(signed, issuer, config.scope) if signed else None
        return cls(issuer, config, (first, second), signed_tpp, duplicates)

    def url(self, path: str) -> str:
        return self.issuer + path

    def transport(self) -> UrllibTransport:
        """A fresh user agent (its own cookie jar), as a new browser or TPP connection."""
        return UrllibTransport()

    def _fetch_json(self, path: str) -> Any:
        with self._lock:
            if path not in self._cache:
                response = self.transport().request("GET", self.url(path))
                if response.status != 200:
                    raise AssertionError(f"GET {path}: HTTP {response.status}")
                self._cache[path] = response.json()
            return self._cache[path]

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = self._fetch_json("/.well-known/openid-configuration")
        return data

    def server_keys(self) -> KeySet:
        return KeySet.import_key_set(self._fetch_json("/jwks"))

    @property
    def dpop(self) -> bool:
        """Sender-constrained by DPoP (the suite's ``sender_constrain=dpop`` variant)."""
        return self.config.dpop

    def require_dpop(self) -> None:
        if not self.dpop:
            raise Skip(f"sender_constrain is {self.config.sender_constrain!r}, not dpop")

    def dpop_key(self, tpp: Tpp) -> PrivateKey:
        """The TPP's DPoP key (TEST-ONLY, made on first use), of the TPP's own algorithm like
        the suite's ``dpop_signing_alg``; distinct from its client-authentication key."""
        with self._lock:
            if tpp.client_id not in self._dpop_keys:
                self._dpop_keys[tpp.client_id] = generate_key(tpp.alg)
            return self._dpop_keys[tpp.client_id]

    @property
    def user(self) -> tuple[str, str]:
        return self.config.username, self.config.password

    @property
    def one_time_code(self) -> TotpCodes | None:
        """One code source for the whole run: the server accepts each step once."""
        if self.config.totp_secret is None:
            return None
        with self._lock:
            if self._codes is None:
                self._codes = TotpCodes(self.config.totp_secret)
            return self._codes

    def signing_tpp(self) -> Tpp:
        """The client for request-object modules: the signed client when configured."""
        return self.signed or self.tpps[0]

    def other_tpp(self, tpp: Tpp) -> Tpp:
        return self.tpps[1] if tpp.client_id == self.tpps[0].client_id else self.tpps[0]

    def rs256_signer(self) -> tuple[Tpp, RSAKey]:
        """A client with an RSA key, and that key freed to sign RS256 (the negatives need it)."""
        for tpp in (*self.tpps, *([self.signed] if self.signed else [])):
            if isinstance(tpp.key, RSAKey):
                data = {k: v for k, v in tpp.key.as_dict(private=True).items() if k != "alg"}
                return tpp, jwk.RSAKey.import_key(data)
        raise Skip("no configured client has an RSA key to sign RS256 with")
