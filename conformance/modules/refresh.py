"""#57 refresh-token: works, bound to its client, needs client authentication and (with
DPoP) a proof of possession; a rotated-out token replayed later is ``invalid_grant``
(one-time use, RFC 9700 §4.14.2), and the replay ends the whole family."""

from __future__ import annotations

import time
from typing import Any

from conformance.checks import check_userinfo
from conformance.checks import expect_error
from conformance.checks import fail
from conformance.context import Context
from conformance.context import Skip
from conformance.flow import Flow
from conformance.runner import Module


def _refresh(flow: Flow, token: str, **kwargs: Any) -> Any:
    """A refresh request repeating the client's scope, as the suite's first client does."""
    form = {"grant_type": "refresh_token", "refresh_token": token, "scope": flow.tpp.scope}
    return flow.token(form, **kwargs)


def _works(flow: Flow, token: str, sub: str) -> dict[str, Any]:
    body = flow.check_token(_refresh(flow, token))
    check_userinfo(flow.userinfo(body["access_token"]), sub)
    return body


def _replay_rotated(ctx: Context, flow: Flow, spent: str, newest: str) -> str:
    """Replaying a rotated-out token is theft: invalid_grant, and the family's newest token
    dies with it. Runs last, since it ends the family the other checks use."""
    time.sleep(ctx.config.refresh_retry_wait)
    replay = _refresh(flow, spent)
    if replay.status == 200:
        raise fail(
            f"rotated refresh token replayed after {ctx.config.refresh_retry_wait:g} s "
            "got a token response, wanted invalid_grant (one-time use)"
        )
    notes = ["replayed rotated token: " + expect_error(replay, "invalid_grant", what="token")]
    after = _refresh(flow, newest)
    notes.append("family after the replay: " + expect_error(after, "invalid_grant", what="token"))
    return "; ".join(notes)


def refresh_token(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    issued = flow.happy()
    original = issued.body.get("refresh_token")
    if not isinstance(original, str):
        raise Skip("the server issued no refresh_token")
    sub = str(issued.id_claims["sub"])
    first = _works(flow, original, sub)
    current = str(first.get("refresh_token", original))
    notes = ["refresh works"]
    form = {"grant_type": "refresh_token", "refresh_token": current}
    anonymous = flow.token({**form, "client_id": flow.tpp.client_id}, auth=False)
    notes.append(
        "no auth: " + expect_error(anonymous, "invalid_client", "invalid_request", what="token")
    )
    stolen = _refresh(flow, current, tpp=ctx.tpps[1])
    notes.append("other client: " + expect_error(stolen, "invalid_grant", what="token"))
    notes.append(_without_proof(flow, current))
    last = _works(flow, current, sub)
    notes.append("still works after the refused attempts")
    if current != original:
        notes.append(_replay_rotated(ctx, flow, original, str(last.get("refresh_token", current))))
    return "; ".join(notes)


def _without_proof(flow: Flow, token: str) -> str:
    """FAPI 2.0 CT: a refresh request without a DPoP proof is refused (RFC 9449 §5 binds a
    confidential client's refresh token to the client, yet no Bearer token may come back)."""
    if flow.dpop_key is None:
        return "PoP part skipped (sender_constrain is not dpop)"
    response = _refresh(flow, token, proof=False)
    return "no proof: " + expect_error(
        response, "invalid_request", "invalid_grant", "invalid_dpop_proof", what="token"
    )


MODULES = [Module(57, "refresh-token", refresh_token)]
