"""The revocation rules (jti deny-set, "revoked before T" watermarks), their wire and store
encodings, and a process's local copy: pure functions, no app, no store."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from authserver.revocation.state import CLIENT
from authserver.revocation.state import CONSENT
from authserver.revocation.state import DENY_PREFIX
from authserver.revocation.state import JTI
from authserver.revocation.state import USER
from authserver.revocation.state import WATERMARK_PREFIX
from authserver.revocation.state import WATERMARK_TTL
from authserver.revocation.state import LocalState
from authserver.revocation.state import Revocation
from authserver.revocation.state import is_revoked
from authserver.revocation.state import parse_store_entry

NOW = 1_700_000_000
CLIENT_ID = "tpp-one"
USER_ID = "user-1"
CONSENT_ID = "consent-1"
MISSING = object()


def claims(**overrides: Any) -> dict[str, Any]:
    """A user token's claims; an override of MISSING removes the claim."""
    values: dict[str, Any] = {
        "jti": "jti-1",
        "client_id": CLIENT_ID,
        "sub": USER_ID,
        "iat": NOW,
        "exp": NOW + 300,
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not MISSING}


class Facts:
    """In-memory lookups for ``is_revoked`` that remember which watermarks were asked for."""

    def __init__(
        self, denied: set[str] | None = None, watermarks: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.denied = denied or set()
        self.watermarks = watermarks or {}
        self.asked: list[tuple[str, str]] = []

    def is_denied(self, jti: str) -> bool:
        return jti in self.denied

    def watermark(self, kind: str, target: str) -> int | None:
        self.asked.append((kind, target))
        return self.watermarks.get((kind, target))

    def decide(self, token: dict[str, Any]) -> bool:
        return is_revoked(token, self.is_denied, self.watermark)


# -- is_revoked ----------------------------------------------------------------------


def test_token_without_any_fact_is_live() -> None:
    assert Facts().decide(claims()) is False


def test_denied_jti_is_revoked() -> None:
    assert Facts(denied={"jti-1"}).decide(claims()) is True


def test_another_denied_jti_does_not_revoke() -> None:
    assert Facts(denied={"jti-2"}).decide(claims()) is False


@pytest.mark.parametrize("kind", [CLIENT, USER, CONSENT])
def test_token_issued_at_the_watermark_is_revoked(kind: str) -> None:
    target = {CLIENT: CLIENT_ID, USER: USER_ID, CONSENT: CONSENT_ID}[kind]
    facts = Facts(watermarks={(kind, target): NOW})
    assert facts.decide(claims(consent_id=CONSENT_ID)) is True


@pytest.mark.parametrize("kind", [CLIENT, USER, CONSENT])
def test_token_issued_one_second_after_the_watermark_is_live(kind: str) -> None:
    target = {CLIENT: CLIENT_ID, USER: USER_ID, CONSENT: CONSENT_ID}[kind]
    facts = Facts(watermarks={(kind, target): NOW})
    assert facts.decide(claims(iat=NOW + 1, consent_id=CONSENT_ID)) is False


def test_watermark_of_another_target_does_not_revoke() -> None:
    facts = Facts(watermarks={(USER, "user-2"): NOW, (CLIENT, "tpp-two"): NOW})
    assert facts.decide(claims()) is False


def test_client_credentials_token_is_not_checked_against_a_user_watermark() -> None:
    # sub == client_id: the "user" would be the client itself, so only the client counts.
    facts = Facts(watermarks={(USER, CLIENT_ID): NOW})
    assert facts.decide(claims(sub=CLIENT_ID)) is False
    assert facts.asked == [(CLIENT, CLIENT_ID)]


def test_user_token_is_checked_against_its_client_and_user_watermarks() -> None:
    facts = Facts()
    facts.decide(claims())
    assert facts.asked == [(CLIENT, CLIENT_ID), (USER, USER_ID)]


def test_consent_watermark_is_looked_up_only_for_a_token_with_consent_id() -> None:
    facts = Facts(watermarks={(CONSENT, CONSENT_ID): NOW})
    assert facts.decide(claims()) is False
    assert (CONSENT, CONSENT_ID) not in facts.asked
    assert facts.decide(claims(consent_id=CONSENT_ID)) is True
    assert (CONSENT, CONSENT_ID) in facts.asked


@pytest.mark.parametrize(
    "iat",
    [MISSING, None, "1700000000", float(NOW), NOW - 0.5, [NOW]],
    ids=["missing", "null", "string", "float", "fraction", "list"],
)
def test_token_without_integer_iat_is_revoked_by_a_matching_watermark(iat: Any) -> None:
    # Fail closed: without a comparable iat nobody can tell it was issued after T.
    facts = Facts(watermarks={(USER, USER_ID): NOW - 3600})
    assert facts.decide(claims(iat=iat)) is True


@pytest.mark.parametrize("iat", [MISSING, "1700000000"], ids=["missing", "string"])
def test_token_without_integer_iat_is_live_without_a_matching_watermark(iat: Any) -> None:
    facts = Facts(watermarks={(USER, "user-2"): NOW})
    assert facts.decide(claims(iat=iat)) is False


# -- Revocation: wire message and store encoding -------------------------------------


@pytest.mark.parametrize(
    "fact",
    [
        Revocation(JTI, "jti-1", until=NOW + 300.5),
        Revocation(CLIENT, CLIENT_ID, until=NOW + WATERMARK_TTL, before=NOW),
        Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW),
        Revocation(CONSENT, "urn:consent:a:b", until=NOW + WATERMARK_TTL, before=NOW),
    ],
    ids=["jti", "client", "user", "consent-with-colons"],
)
def test_message_round_trips(fact: Revocation) -> None:
    assert Revocation.from_message(fact.to_message()) == fact


@pytest.mark.parametrize("kind", ["session", "", "JTI"])
def test_message_of_unknown_kind_is_rejected(kind: str) -> None:
    message = (
        Revocation(JTI, "jti-1", until=NOW).to_message().replace(b'"jti"', f'"{kind}"'.encode())
    )
    with pytest.raises(ValueError, match="unknown revocation kind"):
        Revocation.from_message(message)


def test_message_without_a_field_is_rejected() -> None:
    with pytest.raises(KeyError):
        Revocation.from_message(b'{"k": "jti", "until": 1}')


def test_jti_fact_is_stored_under_the_deny_prefix_with_its_expiry() -> None:
    fact = Revocation(JTI, "jti-1", until=NOW + 300.7)
    assert fact.key == DENY_PREFIX + "jti-1"
    assert fact.value == str(NOW + 300).encode()


def test_watermark_fact_is_stored_under_its_kind_and_target_with_before() -> None:
    fact = Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW)
    assert fact.key == f"{WATERMARK_PREFIX}user:{USER_ID}"
    assert fact.value == str(NOW).encode()


# -- parse_store_entry ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fact",
    [
        Revocation(JTI, "jti-1", until=float(NOW + 300)),
        Revocation(CLIENT, CLIENT_ID, until=NOW + WATERMARK_TTL, before=NOW),
        Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW),
        Revocation(CONSENT, "urn:consent:a:b", until=NOW + WATERMARK_TTL, before=NOW),
    ],
    ids=["jti", "client", "user", "consent-with-colons"],
)
def test_store_entry_parses_back_into_its_fact(fact: Revocation) -> None:
    assert parse_store_entry(fact.key, fact.value) == fact


@pytest.mark.parametrize(
    "key",
    [
        "par:request-1",
        "dpop:jti-1",
        "revocation:ready",
        f"{WATERMARK_PREFIX}session:s-1",
        f"{WATERMARK_PREFIX}user:",
        f"{WATERMARK_PREFIX}user",
        "x" + DENY_PREFIX + "jti-1",
    ],
)
def test_foreign_store_keys_are_ignored(key: str) -> None:
    assert parse_store_entry(key, b"1700000000") is None


def test_unreadable_jti_entry_still_revokes() -> None:
    fact = parse_store_entry(DENY_PREFIX + "jti-1", b"garbage")
    assert fact is not None
    assert fact.until == float("inf")


def test_unreadable_watermark_entry_still_revokes() -> None:
    fact = parse_store_entry(f"{WATERMARK_PREFIX}user:{USER_ID}", b"garbage")
    assert fact is not None
    state = LocalState()
    state.apply(fact)
    assert state.is_revoked(claims(iat=NOW)) is True


# -- LocalState ----------------------------------------------------------------------


def test_local_state_refuses_what_it_was_given() -> None:
    state = LocalState()
    state.apply(Revocation(JTI, "jti-1", until=NOW + 300))
    state.apply(Revocation(CONSENT, CONSENT_ID, until=NOW + WATERMARK_TTL, before=NOW))
    assert state.is_revoked(claims()) is True
    assert state.is_revoked(claims(jti="jti-2", consent_id=CONSENT_ID)) is True
    assert state.is_revoked(claims(jti="jti-2", consent_id="consent-2")) is False
    assert len(state) == 2


def test_local_state_keeps_the_highest_watermark() -> None:
    state = LocalState()
    state.apply(Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW))
    # An older watermark arriving late (a snapshot racing a message) must not move T back.
    state.apply(Revocation(USER, USER_ID, until=NOW - 100 + WATERMARK_TTL, before=NOW - 100))
    assert state.is_revoked(claims(iat=NOW)) is True
    state.apply(Revocation(USER, USER_ID, until=NOW + 100 + WATERMARK_TTL, before=NOW + 100))
    assert state.is_revoked(claims(iat=NOW + 100)) is True
    assert state.is_revoked(claims(iat=NOW + 101)) is False
    assert len(state) == 1


def test_local_state_keeps_the_latest_expiry_of_a_jti() -> None:
    state = LocalState()
    state.apply(Revocation(JTI, "jti-1", until=NOW + 300))
    state.apply(Revocation(JTI, "jti-1", until=NOW + 10))
    state.prune(NOW + 100)
    assert state.is_revoked(claims()) is True


def test_prune_drops_only_expired_entries() -> None:
    state = LocalState()
    state.apply(Revocation(JTI, "jti-old", until=NOW))
    state.apply(Revocation(JTI, "jti-new", until=NOW + 1))
    state.apply(Revocation(USER, USER_ID, until=NOW, before=NOW - WATERMARK_TTL))
    state.apply(Revocation(CLIENT, CLIENT_ID, until=NOW + 1, before=NOW + 1 - WATERMARK_TTL))
    state.prune(NOW)
    assert len(state) == 2
    assert state.is_revoked(claims(jti="jti-old", iat=NOW - WATERMARK_TTL, sub=CLIENT_ID))
    assert not state.is_revoked(claims(jti="jti-old", iat=NOW))
    assert state.is_revoked(claims(jti="jti-new", iat=NOW))


def test_replace_drops_what_the_new_snapshot_does_not_hold() -> None:
    state = LocalState()
    state.apply(Revocation(JTI, "jti-1", until=NOW + 300))
    state.apply(Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW))
    state.replace([Revocation(JTI, "jti-2", until=NOW + 300)])
    assert state.is_revoked(claims()) is False
    assert state.is_revoked(claims(jti="jti-2")) is True
    assert len(state) == 1


def test_replace_keeps_the_highest_watermark_within_the_snapshot() -> None:
    state = LocalState()
    state.replace(
        [
            Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW),
            Revocation(USER, USER_ID, until=NOW - 50 + WATERMARK_TTL, before=NOW - 50),
        ]
    )
    assert state.is_revoked(claims(iat=NOW)) is True


def test_replace_never_exposes_a_partial_state_to_readers() -> None:
    # A fact present before and after every swap must be refused by every concurrent check.
    kept = [
        Revocation(JTI, "jti-1", until=NOW + 300),
        Revocation(USER, USER_ID, until=NOW + WATERMARK_TTL, before=NOW),
    ]
    state = LocalState()
    state.replace(kept)
    stop = threading.Event()

    def swap() -> None:
        n = 0
        while not stop.is_set():
            extra = [Revocation(JTI, f"other-{n}-{i}", until=NOW + 300) for i in range(50)]
            state.replace([*extra, *kept])
            n += 1

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        misses = sum(
            not state.is_revoked(claims()) or not state.is_revoked(claims(jti="jti-2", iat=NOW))
            for _ in range(20_000)
        )
    finally:
        stop.set()
        swapper.join(timeout=5)
    assert misses == 0
