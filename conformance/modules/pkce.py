"""PKCE modules (RFC 7636, S256 only, required)."""

from __future__ import annotations

from conformance.checks import expect_error
from conformance.context import Context
from conformance.flow import Flow
from conformance.modules.common import rejected
from conformance.runner import Module
from tppkit import pkce_pair

ERRORS = ("invalid_request",)


def pkce_required(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    params, _ = flow.params(code_challenge=None, code_challenge_method=None)
    return rejected(flow, flow.par_form(params), ERRORS, ERRORS)


def plain_rejected(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    verifier, _ = pkce_pair()
    params, _ = flow.params(code_challenge=verifier, code_challenge_method="plain")
    return rejected(flow, flow.par_form(params), ERRORS, ERRORS)


def verifier_required(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    response = flow.token(flow.code_form(auth, code_verifier=None))
    return expect_error(response, "invalid_grant", what="token")


def wrong_verifier(ctx: Context) -> str:
    flow = Flow(ctx, ctx.tpps[0])
    auth = flow.authorized()
    other, _ = pkce_pair()
    response = flow.token(flow.code_form(auth, code_verifier=other))
    return expect_error(response, "invalid_grant", what="token")


MODULES = [
    Module(70, "par-ensure-pkce-required", pkce_required),
    Module(71, "ensure-pkce-code-verifier-required", verifier_required),
    Module(72, "incorrect-pkce-code-verifier-rejected", wrong_verifier),
    Module(73, "par-plain-pkce-rejected", plain_rejected),
]
