"""CodeStore: ≥ 128-bit codes, single use, replay recognised, 60 s with no leeway.

Checklist A10, A22, A31, K4; conformance modules #49, #50 and the code-entropy check.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.tokens.codes import CodeGrant
from authserver.tokens.codes import CodeReplayedError
from authserver.tokens.errors import InvalidGrantError

CODE_TTL = 60


def grant(svc: Services, **overrides: object) -> CodeGrant:
    values: dict[str, object] = {
        "client_id": "tpp-one",
        "redirect_uri": "https://tpp.example.test/cb",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "scopes": ("openid", "accounts:read"),
        "user_id": "user-1",
        "consent_id": "consent-1",
        "auth_time": svc.clock.time() - 5,
        "issued_at": svc.clock.time(),
        "nonce": "n-0S6_WzA2Mj",
        **overrides,
    }
    return CodeGrant(**values)  # type: ignore[arg-type]


def test_code_ttl_is_60_seconds_by_default(svc: Services) -> None:
    assert svc.settings.tokens.code_ttl == CODE_TTL


def test_code_carries_at_least_128_bits_and_is_url_safe(svc: Services) -> None:
    codes = {svc.codes.issue(grant(svc)) for _ in range(20)}

    assert len(codes) == 20
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code)
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) >= 16


def test_only_the_codes_hash_is_a_store_key(svc: Services) -> None:
    code = svc.codes.issue(grant(svc))

    digest = hashlib.sha256(code.encode()).hexdigest()
    assert svc.store.get("code:" + digest) is not None
    assert svc.store.get("code:" + code) is None


def test_redeem_returns_the_grant_with_its_code_id(svc: Services) -> None:
    issued = grant(svc)
    code = svc.codes.issue(issued)

    redeemed = svc.codes.redeem(code)

    assert redeemed.code_id == hashlib.sha256(code.encode()).hexdigest()
    assert redeemed.scopes == issued.scopes
    assert (redeemed.client_id, redeemed.redirect_uri, redeemed.nonce) == (
        issued.client_id,
        issued.redirect_uri,
        issued.nonce,
    )


def test_unknown_code_is_invalid_grant_not_a_replay(svc: Services) -> None:
    with pytest.raises(InvalidGrantError) as info:
        svc.codes.redeem("never-issued")

    assert type(info.value) is InvalidGrantError


def test_code_is_single_use_and_the_second_redemption_is_a_replay(svc: Services) -> None:
    code = svc.codes.issue(grant(svc))
    svc.codes.redeem(code)

    with pytest.raises(CodeReplayedError) as info:
        svc.codes.redeem(code)

    assert info.value.error == "invalid_grant"
    assert info.value.code_identifier == hashlib.sha256(code.encode()).hexdigest()
    assert info.value.family_id is None


def test_replay_names_the_refresh_family_the_first_redemption_started(svc: Services) -> None:
    code = svc.codes.issue(grant(svc))
    first = svc.codes.redeem(code)
    svc.codes.remember_issued(first.code_id, "family-1")

    with pytest.raises(CodeReplayedError) as info:
        svc.codes.redeem(code)

    assert info.value.family_id == "family-1"


def test_code_is_valid_one_second_before_expiry(svc: Services, clock: FrozenClock) -> None:
    code = svc.codes.issue(grant(svc))
    clock.advance(CODE_TTL - 1)

    assert svc.codes.redeem(code).client_id == "tpp-one"


def test_code_expires_at_exactly_issued_at_plus_ttl(svc: Services, clock: FrozenClock) -> None:
    code = svc.codes.issue(grant(svc))
    clock.advance(CODE_TTL)

    with pytest.raises(InvalidGrantError) as info:
        svc.codes.redeem(code)

    assert type(info.value) is InvalidGrantError


def test_expiry_follows_the_grants_issued_at_not_only_the_store(svc: Services) -> None:
    """The store's own TTL may lag (Redis keeps real time); issued_at still decides."""
    code = svc.codes.issue(grant(svc, issued_at=svc.clock.time() - CODE_TTL))

    with pytest.raises(InvalidGrantError):
        svc.codes.redeem(code)
