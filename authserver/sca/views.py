"""The login pages: Username and Password ("Sign in"), then the one-time code ("Verify").

Each view parses its form, makes one call to ``LoginService`` and renders the outcome.
Both pages answer a failure with one neutral sentence (401), and too many attempts from one
address with 429: nothing tells a guesser which factor failed, whether the user exists,
or whether the account is locked.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue

from authserver.context import services
from authserver.errors import request_id
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.forms import LoginForm
from authserver.sca.forms import OneTimeCodeForm
from authserver.sca.login import Outcome
from authserver.sca.session import ACR_SCA

bp = Blueprint("sca", __name__)

INVALID_LOGIN = "Invalid username or password."
INVALID_CODE = "That code was not accepted. Enter the current code from your authenticator app."
THROTTLED = "Too many sign-in attempts. Please wait a few minutes and try again."


def after_login() -> str:
    """A pending authorization first; else the page that sent the user to log in."""
    if user_session.pending():
        return url_for("consent.consent")
    return user_session.take_return_to() or "/login/done"


def _address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    svc = services()
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = experience().login.password_step(
            form.username.data or "",
            form.password.data or "",
            address=_address(),
            request_id=request_id(),
        )
        if result.outcome is Outcome.SECOND_FACTOR and result.user and result.next_step:
            user_session.start_partial(result.user, svc.clock.time())
            return redirect(result.next_step, code=303)
        if result.outcome is Outcome.DONE and result.user:
            user_session.start(result.user, svc.clock.time())
            return redirect(after_login(), code=303)
        throttled = result.outcome is Outcome.THROTTLED
        error, status = (THROTTLED, 429) if throttled else (INVALID_LOGIN, 401)
    elif form.is_submitted():
        error, status = "Please fill in both fields and try again.", 401
    return render_template("sca/login.html", form=form, error=error), status


@bp.route("/login/otp", methods=["GET", "POST"])
def one_time_code() -> ResponseReturnValue:
    svc = services()
    user_id = user_session.partial_user_id()
    now = svc.clock.time()
    ttl = svc.settings.sca.partial_ttl
    if user_id is None or now - user_session.partial_started() > ttl:
        user_session.restart()  # the password step is too old (or never happened)
        return redirect(url_for("sca.login"), code=303)
    form = OneTimeCodeForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = experience().login.totp_step(
            user_id, form.code.data or "", address=_address(), request_id=request_id()
        )
        if result.outcome is Outcome.DONE:
            amr = ("pwd", "otp")
            # A payment step-up records the hash of the payment it approved (dynamic linking).
            user_session.complete(user_id, now, amr, linked=user_session.pending_link())
            return redirect(after_login(), code=303)
        throttled = result.outcome is Outcome.THROTTLED
        error, status = (THROTTLED, 429) if throttled else (INVALID_CODE, 401)
    elif form.is_submitted():
        error, status = "Please enter the code and try again.", 401
    return render_template("sca/otp.html", form=form, error=error), status


@bp.get("/login/done")
def signed_in() -> ResponseReturnValue:
    return render_template(
        "sca/signed_in.html",
        signed_in=user_session.current_user_id(),
        strong=user_session.acr() == ACR_SCA,
    )
