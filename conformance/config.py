"""The runner's configuration file and the TPP keys it names.

Config JSON::

    {"clients": [{"client_id", "private_jwk_file", "alg", "redirect_uri"}, {...}],
     "signed_client": {...} (optional, registered with require_signed_request_object),
     "resource_server": {"client_id", "private_jwk_file", "alg"} (optional, introspects),
     "user": {"username", "password"},
     "code_expiry_wait": 62, "request_uri_expiry_wait": null, "refresh_retry_wait": 0,
     "scope": "openid accounts:read", "sender_constrain": "dpop"}

``sender_constrain`` is the suite's variant: ``dpop`` (the default; every client is
registered with ``dpop_bound_access_tokens``) or ``none`` (plain Bearer tokens, which
FAPI 2.0 does not allow: the DPoP modules are skipped). mTLS is not supported.

``resource_server`` is a client registered as a resource server (``authserver clients
create --resource-server``, no redirect URI); the introspection modules (#82, #83) use
it and are skipped without it.

Key files hold one private JWK. Keys written by ``write_test_client_keys`` are
TEST-ONLY: their file names say so, and they must never sign anything real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwk

from tppkit import PrivateKey
from tppkit import generate_key
from tppkit.keys import write_key_files

FAPI_ALGS = ("PS256", "ES256", "EdDSA")
SENDER_CONSTRAINTS = ("dpop", "none")


class ConfigError(Exception):
    """The configuration file cannot be used."""


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    key: PrivateKey
    alg: str
    redirect_uri: str


@dataclass(frozen=True)
class ResourceServerConfig:
    """A resource server: authenticates with private_key_jwt, only introspects."""

    client_id: str
    key: PrivateKey
    alg: str


@dataclass(frozen=True)
class Config:
    clients: tuple[ClientConfig, ClientConfig]
    signed_client: ClientConfig | None
    username: str
    password: str
    totp_secret: str | None = None
    """The user's TOTP secret (base32), when the user has a second factor (``authserver demo``
    prints it): the scripted user answers the one-time-code page, and #59 can get SCA."""
    code_expiry_wait: float = 62.0
    request_uri_expiry_wait: float | None = None
    refresh_retry_wait: float = 0.0
    scope: str = "openid accounts:read"
    sender_constrain: str = "dpop"
    resource_server: ResourceServerConfig | None = None

    @property
    def dpop(self) -> bool:
        return self.sender_constrain == "dpop"


def load_private_key(path: Path, alg: str) -> PrivateKey:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the private JWK {path}: {exc}") from None
    if not isinstance(data, dict) or "d" not in data:
        raise ConfigError(f"{path} does not hold a private JWK")
    key = jwk.import_key(data)
    kid = str(data.get("kid") or key.thumbprint())
    imported = jwk.import_key(data, parameters={"kid": kid, "alg": alg})
    if isinstance(imported, jwk.OctKey):
        raise ConfigError(f"{path} holds a symmetric key; private_key_jwt needs an asymmetric one")
    return imported


def _checked(entry: Any, where: str, required: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    missing = required - entry.keys()
    if missing:
        raise ConfigError(f"{where} lacks {', '.join(sorted(missing))}")
    if entry["alg"] not in FAPI_ALGS:
        raise ConfigError(f"{where}.alg must be one of {', '.join(FAPI_ALGS)}")
    return entry


def _client(entry: Any, base: Path, where: str) -> ClientConfig:
    entry = _checked(entry, where, {"client_id", "private_jwk_file", "alg", "redirect_uri"})
    path = base / str(entry["private_jwk_file"])
    return ClientConfig(
        str(entry["client_id"]),
        load_private_key(path, entry["alg"]),
        str(entry["alg"]),
        str(entry["redirect_uri"]),
    )


def _resource_server(entry: Any, base: Path) -> ResourceServerConfig | None:
    if entry is None:
        return None
    entry = _checked(entry, "resource_server", {"client_id", "private_jwk_file", "alg"})
    path = base / str(entry["private_jwk_file"])
    key = load_private_key(path, entry["alg"])
    return ResourceServerConfig(str(entry["client_id"]), key, str(entry["alg"]))


def _seconds(data: dict[str, Any], name: str, default: float | None) -> float | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{name} must be a number of seconds")
    return float(value)


def load_config(path: Path) -> Config:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a JSON object")
    base = path.resolve().parent
    clients = data.get("clients")
    if not isinstance(clients, list) or len(clients) != 2:
        raise ConfigError("clients must list exactly two clients")
    user = data.get("user")
    if not isinstance(user, dict) or not {"username", "password"} <= user.keys():
        raise ConfigError("user needs username and password")
    signed = data.get("signed_client")
    sender_constrain = data.get("sender_constrain", "dpop")
    if sender_constrain not in SENDER_CONSTRAINTS:
        raise ConfigError(f"sender_constrain must be one of {', '.join(SENDER_CONSTRAINTS)}")
    return Config(
        clients=(_client(clients[0], base, "clients[0]"), _client(clients[1], base, "clients[1]")),
        signed_client=_client(signed, base, "signed_client") if signed else None,
        username=str(user["username"]),
        password=str(user["password"]),
        totp_secret=str(user["totp_secret"]) if user.get("totp_secret") else None,
        code_expiry_wait=_seconds(data, "code_expiry_wait", 62.0) or 0.0,
        request_uri_expiry_wait=_seconds(data, "request_uri_expiry_wait", None),
        refresh_retry_wait=_seconds(data, "refresh_retry_wait", 0.0) or 0.0,
        scope=str(data.get("scope", "openid accounts:read")),
        sender_constrain=str(sender_constrain),
        resource_server=_resource_server(data.get("resource_server"), base),
    )


def write_test_client_keys(directory: Path, name: str, alg: str) -> tuple[Path, Path]:
    """Generate a TEST-ONLY key pair; returns (private JWK file, public JWKS file)."""
    return write_key_files(directory, name, generate_key(alg))
