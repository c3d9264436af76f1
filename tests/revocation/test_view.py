"""One process's revocation view on the real store (in-process or Redis) and real SQL.

Healthy listener: revocations arrive as messages. Listener down: checks read the store.
Store flushed: the next reader rebuilds it from SQL. Store unreachable: 503, never 200.
The memory store's TTLs follow the frozen clock, so nothing here moves the clock past a
token's life; the listener's heartbeat runs on the real monotonic clock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.revocation.state import CHANNEL
from authserver.revocation.state import DENY_PREFIX
from authserver.revocation.state import JTI
from authserver.revocation.state import READY_KEY
from authserver.revocation.state import USER
from authserver.revocation.state import Revocation
from authserver.revocation.state import watermark_key
from authserver.revocation.view import RevocationView
from authserver.settings import Settings
from authserver.store import StoreUnavailableError
from authserver.store.memory import MemoryStore
from authserver.store.redis import _glob_escape
from authserver.tokens.access_token import TokenSubject
from tests.conftest import TEST_REDIS_URL
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tppkit import Tpp

ACCESS_TOKEN_ALG = "ES256"
HEALTHY_TIMEOUT = 5.0
PROPAGATION_SECONDS = 1.0
# The listener checks the ready marker every second, then rebuilds and reloads.
REBUILD_SECONDS = 5.0


def eventually(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return check()
        time.sleep(0.01)
    return True


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # ES256 access tokens: one EC signing key is made per test instead of two RSA keys.
    result: Settings = make_settings(tokens={"access_token_alg": ACCESS_TOKEN_ALG})
    return result


def issue(svc: Services, client_id: str, user_id: str, family_id: str | None = None) -> str:
    """A committed access token of ``user_id`` (with its ledger row); returns the JWT."""
    if not any(key.alg == ACCESS_TOKEN_ALG for key in svc.keys.published_keys()):
        svc.keys.rotate((ACCESS_TOKEN_ALG,))
    client = svc.clients.get(client_id)
    assert client is not None
    subject = TokenSubject(sub=user_id, scopes=("openid",), user_id=user_id, family_id=family_id)
    token = str(svc.tokens.issue(client, subject)["access_token"])
    db.session.commit()
    return token


def claims_of(svc: Services, token: str) -> dict[str, Any]:
    claims = svc.verifier.read(token)
    assert claims is not None
    return claims


def flush_store(svc: Services) -> None:
    """Lose every key of this app's store (a flushed or restarted Redis), ready marker included."""
    store = svc.store
    if isinstance(store, MemoryStore):
        with store._lock:
            store._data.clear()
        return
    assert TEST_REDIS_URL is not None
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        keys = list(client.scan_iter(match=_glob_escape(svc.settings.redis_prefix) + "*"))
        assert keys, "nothing to flush: the store was expected to hold revocations"
        client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def view(svc: Services) -> RevocationView:
    return svc.revocation_view


@pytest.fixture
def healthy_view(view: RevocationView) -> RevocationView:
    assert view.wait_until_healthy(HEALTHY_TIMEOUT)
    return view


@pytest.fixture
def listener_down(view: RevocationView, monkeypatch: pytest.MonkeyPatch) -> RevocationView:
    """A view whose listener is stopped and stays stopped: every check reads the store."""
    view.close()
    monkeypatch.setattr(view, "_ensure_listening", lambda: None)
    assert not view.healthy
    return view


@pytest.fixture
def token(svc: Services, tpp: Tpp, user: str) -> str:
    return issue(svc, tpp.client_id, user)


def revoke_token(svc: Services, tpp: Tpp, token: str) -> None:
    caller = svc.clients.get(tpp.client_id)
    assert caller is not None
    assert svc.revocations.revoke_access_token(claims_of(svc, token), caller, request_id="test")


# -- healthy listener ----------------------------------------------------------------


def test_listener_becomes_healthy(view: RevocationView) -> None:
    assert view.wait_until_healthy(HEALTHY_TIMEOUT)
    assert view.healthy


def test_unrevoked_token_is_live(svc: Services, healthy_view: RevocationView, token: str) -> None:
    assert healthy_view.is_revoked(claims_of(svc, token)) is False


def test_revoked_access_token_reaches_the_healthy_view(
    svc: Services, healthy_view: RevocationView, tpp: Tpp, token: str
) -> None:
    revoke_token(svc, tpp, token)
    claims = claims_of(svc, token)
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)
    assert healthy_view.healthy


def test_message_from_another_process_reaches_the_healthy_view(
    svc: Services, healthy_view: RevocationView, token: str
) -> None:
    # Another process's publisher: only the channel tells this view.
    claims = claims_of(svc, token)
    fact = Revocation(JTI, claims["jti"], until=float(claims["exp"]))
    svc.store.publish(CHANNEL, fact.to_message())
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)
    assert healthy_view.healthy


def test_unreadable_message_is_skipped_and_the_listener_stays_healthy(
    svc: Services, healthy_view: RevocationView, token: str
) -> None:
    claims = claims_of(svc, token)
    svc.store.publish(CHANNEL, b"not json")
    svc.store.publish(CHANNEL, b'{"k": "session", "id": "s-1", "until": 1}')
    svc.store.publish(CHANNEL, Revocation(JTI, claims["jti"], until=claims["exp"]).to_message())
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)
    assert healthy_view.healthy


def test_revoking_process_refuses_the_token_before_its_listener_hears_of_it(
    svc: Services,
    healthy_view: RevocationView,
    tpp: Tpp,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The client that got 200 from /revoke may call this same process next (read your
    # writes). Hold the listener on the message: only the local update can refuse it.
    heard = threading.Event()
    release = threading.Event()
    apply = healthy_view._apply

    def held(message: bytes) -> None:
        heard.set()
        release.wait(HEALTHY_TIMEOUT)
        apply(message)

    monkeypatch.setattr(healthy_view, "_apply", held)
    try:
        revoke_token(svc, tpp, token)
        assert heard.wait(HEALTHY_TIMEOUT)
        assert healthy_view.is_revoked(claims_of(svc, token)) is True
    finally:
        release.set()


def test_ledger_family_revocation_reaches_the_healthy_view(
    svc: Services, healthy_view: RevocationView, tpp: Tpp, user: str
) -> None:
    family = [issue(svc, tpp.client_id, user, family_id="family-1") for _ in range(2)]
    other = issue(svc, tpp.client_id, user, family_id="family-2")

    assert svc.ledger.revoke_family("family-1") == 2

    for revoked in family:
        claims = claims_of(svc, revoked)
        assert eventually(functools.partial(healthy_view.is_revoked, claims), PROPAGATION_SECONDS)
    assert healthy_view.is_revoked(claims_of(svc, other)) is False


def test_user_watermark_reaches_the_healthy_view_and_spares_later_tokens(
    svc: Services, healthy_view: RevocationView, tpp: Tpp, user: str, token: str, clock: FrozenClock
) -> None:
    svc.revocations.revoke_user(user, actor="test", reason="test")
    claims = claims_of(svc, token)
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)

    clock.advance(1)
    later = issue(svc, tpp.client_id, user)
    assert healthy_view.is_revoked(claims_of(svc, later)) is False


def test_userinfo_refuses_a_revoked_token(
    svc: Services, healthy_view: RevocationView, client: FlaskClient, tpp: Tpp, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/userinfo", headers=headers).status_code == 200
    revoke_token(svc, tpp, token)
    claims = claims_of(svc, token)
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)
    assert_oauth_error(client.get("/userinfo", headers=headers), 401, "invalid_token")


def test_close_stops_the_listener_thread(healthy_view: RevocationView) -> None:
    thread = healthy_view._listener.thread
    assert thread is not None
    assert thread.is_alive()

    healthy_view.close()

    assert not thread.is_alive()
    assert not healthy_view.healthy


# -- listener not healthy: read the store --------------------------------------------


def test_view_without_listener_refuses_a_token_revoked_meanwhile(
    svc: Services, listener_down: RevocationView, tpp: Tpp, token: str
) -> None:
    # Nobody listens, so the message is lost: only the store can tell.
    revoke_token(svc, tpp, token)
    assert listener_down.is_revoked(claims_of(svc, token)) is True
    assert not listener_down.healthy


def test_view_without_listener_accepts_an_unrevoked_token(
    svc: Services, listener_down: RevocationView, token: str
) -> None:
    assert listener_down.is_revoked(claims_of(svc, token)) is False


def test_view_without_listener_refuses_a_user_watermark(
    svc: Services, listener_down: RevocationView, user: str, token: str
) -> None:
    svc.revocations.revoke_user(user, actor="test", reason="test")
    assert listener_down.is_revoked(claims_of(svc, token)) is True


def test_unhealthy_listener_reads_the_store_not_its_local_state(
    svc: Services, healthy_view: RevocationView, token: str
) -> None:
    claims = claims_of(svc, token)
    # A store entry no message announced: the local state cannot know it, the store does.
    svc.store.set(DENY_PREFIX + claims["jti"], str(claims["exp"]).encode(), ttl=300)
    assert healthy_view._state.is_revoked(claims) is False

    healthy_view._listener.mark_unhealthy()

    assert healthy_view.is_revoked(claims) is True


def test_unreadable_watermark_in_the_store_still_refuses(
    svc: Services, listener_down: RevocationView, user: str, token: str
) -> None:
    svc.store.set(READY_KEY, b"1", ttl=3600)
    svc.store.set(watermark_key(USER, user), b"garbage", ttl=3600)
    assert listener_down.is_revoked(claims_of(svc, token)) is True


# -- flushed store: rebuilt from SQL --------------------------------------------------


def test_flushed_store_is_rebuilt_by_the_next_check_for_a_revoked_jti(
    svc: Services, listener_down: RevocationView, tpp: Tpp, token: str
) -> None:
    revoke_token(svc, tpp, token)
    claims = claims_of(svc, token)
    flush_store(svc)
    assert svc.store.get(READY_KEY) is None

    assert listener_down.is_revoked(claims) is True

    assert svc.store.get(READY_KEY) is not None
    assert svc.store.get(DENY_PREFIX + claims["jti"]) is not None


def test_flushed_store_is_rebuilt_by_the_next_check_for_a_watermark(
    svc: Services, listener_down: RevocationView, user: str, token: str
) -> None:
    result = svc.revocations.revoke_user(user, actor="test", reason="test")
    flush_store(svc)

    assert listener_down.is_revoked(claims_of(svc, token)) is True

    assert svc.store.get(watermark_key(USER, user)) == str(result.revoked_before).encode()


def test_flushed_store_still_accepts_an_unrevoked_token(
    svc: Services, listener_down: RevocationView, tpp: Tpp, user: str, token: str
) -> None:
    revoke_token(svc, tpp, issue(svc, tpp.client_id, user))
    flush_store(svc)
    assert listener_down.is_revoked(claims_of(svc, token)) is False
    assert svc.store.get(READY_KEY) is not None


@pytest.mark.parametrize("kind", ["jti", "watermark"])
def test_healthy_listener_rebuilds_a_flushed_store(
    svc: Services, healthy_view: RevocationView, tpp: Tpp, user: str, token: str, kind: str
) -> None:
    claims = claims_of(svc, token)
    if kind == "jti":
        revoke_token(svc, tpp, token)
        key = DENY_PREFIX + claims["jti"]
    else:
        svc.revocations.revoke_user(user, actor="test", reason="test")
        key = watermark_key(USER, user)
    assert eventually(lambda: healthy_view.is_revoked(claims), PROPAGATION_SECONDS)

    flush_store(svc)

    # Nothing asks the view meanwhile: the listener itself notices the missing marker.
    assert eventually(lambda: svc.store.get(READY_KEY) is not None, REBUILD_SECONDS)
    assert svc.store.get(key) is not None
    assert healthy_view.wait_until_healthy(HEALTHY_TIMEOUT)
    assert healthy_view.is_revoked(claims) is True


# -- store unreachable: fail closed ---------------------------------------------------


@pytest.fixture
def unreachable_app(make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Flask]:
    """The same database and keys, but a store on a closed port."""
    settings = make_settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    with app_with(settings, clock) as application:
        yield application


def test_unreachable_store_makes_the_check_raise(
    unreachable_app: Flask, svc: Services, token: str
) -> None:
    view = services(unreachable_app).revocation_view
    with pytest.raises(StoreUnavailableError):
        view.is_revoked(claims_of(svc, token))
    assert not view.healthy


def test_unreachable_store_makes_userinfo_answer_503(unreachable_app: Flask, token: str) -> None:
    response = unreachable_app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {token}"}
    )
    assert_oauth_error(response, 503, "temporarily_unavailable")
