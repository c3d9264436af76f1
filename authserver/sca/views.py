"""The login page: Username, Password, "Sign in"; a second factor plugs in after it."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue

from authserver.context import services
from authserver.errors import request_id
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.forms import LoginForm

bp = Blueprint("sca", __name__)


def after_login() -> str:
    """A pending authorization first; else the page that sent the user to log in."""
    if user_session.pending():
        return url_for("consent.consent")
    return user_session.take_return_to() or "/login/done"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    svc = services()
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = experience().users.authenticate(
            form.username.data or "", form.password.data or "", request_id=request_id()
        )
        if user is not None:
            next_step = experience().users.second_factor_step(user)
            if next_step is None:
                user_session.start(user, svc.clock.time())
                next_step = after_login()
            else:
                user_session.start_partial(user, svc.clock.time())
            return redirect(next_step, code=303)
        error = "Invalid username or password."
    elif form.is_submitted():
        error = "Please fill in both fields and try again."
    status = 401 if error and form.is_submitted() else 200
    return render_template("sca/login.html", form=form, error=error), status


@bp.get("/login/done")
def signed_in() -> ResponseReturnValue:
    return render_template("sca/signed_in.html", signed_in=user_session.current_user_id())
