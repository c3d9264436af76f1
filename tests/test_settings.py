"""Settings are validated at start-up and name the variable at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from authserver.crypto.master_key import load_master_key
from authserver.settings import SettingsError
from authserver.settings import load_settings


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"issuer": "not a url"}, "AUTHSERVER_ISSUER"),
        ({"issuer": "http://bank.example"}, "AUTHSERVER_ISSUER"),
        ({"issuer": "https://bank.example/?x=1"}, "AUTHSERVER_ISSUER"),
        ({"redis_url": "http://127.0.0.1:6379"}, "AUTHSERVER_REDIS_URL"),
        ({"listen_port": 0}, "AUTHSERVER_LISTEN_PORT"),
        ({"tokens": {"access_ttl": 7200}}, "AUTHSERVER_TOKENS__ACCESS_TTL"),
        ({"keys": {"rsa_bits": 1024}}, "AUTHSERVER_KEYS__RSA_BITS"),
    ],
)
def test_bad_setting_names_its_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings(**overrides)
    assert "\n" not in str(caught.value)


def test_bad_setting_from_environment_names_nested_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHSERVER_KEYS__OVERLAP_DAYS", "-1")
    with pytest.raises(SettingsError, match="AUTHSERVER_KEYS__OVERLAP_DAYS"):
        load_settings()


def test_issuer_loses_trailing_slash_so_it_is_identical_everywhere() -> None:
    assert load_settings(issuer="https://bank.example/").issuer == "https://bank.example"


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="AUTHSERVER_MASTER_KEY"):
        load_settings(env="production", issuer="https://bank.example", instance_path=tmp_path)


def test_production_refuses_plain_http_issuer() -> None:
    with pytest.raises(SettingsError, match="https"):
        load_settings(env="production", issuer="http://127.0.0.1:5000", master_key="x" * 43)


def test_development_generates_master_key_once_with_private_mode(tmp_path: Path) -> None:
    settings = load_settings(env="development", instance_path=tmp_path)
    first = load_master_key(settings)
    second = load_master_key(settings)
    assert first == second
    assert len(first) == 32
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600


def test_malformed_master_key_is_refused_without_echoing_it() -> None:
    settings = load_settings(master_key="short-secret-value")
    with pytest.raises(SettingsError, match="AUTHSERVER_MASTER_KEY") as caught:
        load_master_key(settings)
    assert "short-secret-value" not in str(caught.value)


def test_database_defaults_to_sqlite_in_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(instance_path=tmp_path, database_url="")
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'authserver.db'}"
