"""Authorization-code modules: bound to its client, single use, short-lived."""

from __future__ import annotations

import time

from conformance.checks import expect_error
from conformance.context import Context
from conformance.flow import Flow
from conformance.runner import Module


def bound_to_client(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    response = flow.token(flow.code_form(auth), tpp=ctx.tpps[1])
    return "other client: " + expect_error(response, "invalid_grant", what="token")


def reuse_after_one_second(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    issued = flow.issue(auth)
    time.sleep(1)
    note = expect_error(flow.token(flow.code_form(auth)), "invalid_grant", what="token")
    first = flow.userinfo(issued.body["access_token"])
    if first.status == 200:
        return f"{note}; WARNING: the first redemption's access token still works"
    return f"{note}; the first redemption's access token was revoked ({first.status})"


def expired_code(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    wait = ctx.config.code_expiry_wait
    time.sleep(wait)
    response = flow.token(flow.code_form(auth))
    return f"after {wait:g} s: " + expect_error(response, "invalid_grant", what="token")


MODULES = [
    Module(48, "ensure-authorization-code-is-bound-to-client", bound_to_client),
    Module(49, "attempt-reuse-authorization-code-after-one-second", reuse_after_one_second),
    Module(50, "ensure-token-endpoint-fails-with-expired-auth-code", expired_code),
]
