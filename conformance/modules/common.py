"""Shapes that many modules share: "must be rejected" and "accepted intact, or rejected"."""

from __future__ import annotations

from conformance.callback import expect_front_channel_error
from conformance.callback import is_error_page
from conformance.checks import check_par_created
from conformance.checks import expect_error
from conformance.checks import fail
from conformance.flow import Authorized
from conformance.flow import Flow
from conformance.flow import Issued
from conformance.flow import Params

PAR_REQUEST_ERRORS = ("invalid_request", "invalid_request_object")


def rejected(
    flow: Flow,
    form: dict[str, str],
    par_errors: tuple[str, ...],
    front_errors: tuple[str, ...] = (),
) -> str:
    """PAR answers 400 with ``par_errors``; or, when ``front_errors`` are allowed, PAR accepts
    and the authorization endpoint shows an error page or redirects with one of them."""
    pushed = flow.push(form)
    if pushed.status == 201 and front_errors:
        request_uri, _ = check_par_created(pushed)
        keys = flow.ctx.server_keys()
        response = flow.authorize(request_uri)
        return expect_front_channel_error(response, flow.tpp, keys, front_errors, jarm=flow.jarm)
    return "rejected: " + expect_error(pushed, *par_errors, what="PAR")


def accepted_or_rejected(
    flow: Flow,
    params: Params,
    verifier: str,
    form: dict[str, str],
    errors: tuple[str, ...] = ("invalid_request",),
) -> tuple[str, Issued | None]:
    """Either the whole flow succeeds (all checks, token used at /userinfo) or it is rejected
    with ``errors`` at PAR or the authorization endpoint (an error page counts too)."""
    pushed = flow.push(form)
    if pushed.status != 201:
        return "rejected: " + expect_error(pushed, *errors, what="PAR"), None
    request_uri, _ = check_par_created(pushed)
    response = flow.authorize(request_uri)
    if is_error_page(response):
        keys = flow.ctx.server_keys()
        return "rejected: " + expect_front_channel_error(response, flow.tpp, keys, errors), None
    callback = flow.callback(response, params)
    if "error" in callback:
        if callback["error"] not in errors:
            raise fail(f"authorization error {callback['error']!r}, wanted {' / '.join(errors)}")
        return f"rejected: redirect error={callback['error']}", None
    issued = flow.issue(Authorized(params, verifier, callback))
    flow.check_resource(issued)
    return "accepted", issued
