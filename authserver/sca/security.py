"""``/account/security``: the signed-in user's second factors, "Remove", and TOTP enrolment.

The QR code is made here by ``segno`` and sent inline as SVG (no image request, nothing
external, CSP unchanged), with the secret as text for apps that cannot scan. Changing a
factor needs a strong login when the user already has one: otherwise a stolen password
alone could swap the authenticator.
"""

from __future__ import annotations

import segno
from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from authserver.db import db
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.forms import EnrolTotpForm
from authserver.sca.forms import RemoveFactorForm
from authserver.sca.models import User
from authserver.sca.session import ACR_SCA

bp = Blueprint("security", __name__)

PAGE = "/account/security"
FACTOR_NAMES = {"totp": "Authenticator app (one-time codes)"}
QR_TITLE = "QR code for your authenticator app"
WRONG_CODE = "That code was not accepted. Enter the current code from the app."


def _signed_in_user() -> User | None:
    """The user, if signed in strongly enough to change factors; None: log in first."""
    user_id = user_session.current_user_id()
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        return None
    has_factor = experience().users.has_second_factor(user)
    if has_factor and user_session.acr() != ACR_SCA:
        return None
    return user


def _to_login() -> ResponseReturnValue:
    user_session.restart()
    user_session.set_return_to(PAGE)
    return redirect(url_for("sca.login"), code=303)


def _render(
    user: User, *, error: str | None = None, done: str | None = None
) -> ResponseReturnValue:
    factors = experience().users.factors(user)
    qr = secret = None
    if "totp" not in factors:
        secret, uri = experience().factors.pending_totp(user)
        svg = segno.make(uri, error="m").svg_inline(scale=4, title=QR_TITLE)
        qr = Markup(svg)  # noqa: S704 - segno's own SVG of our own URI, no user text
    page = render_template(
        "sca/security.html",
        factors=[(kind, FACTOR_NAMES.get(kind, kind)) for kind in factors],
        remove_form=RemoveFactorForm(),
        enrol_form=EnrolTotpForm(),
        qr=qr,
        secret=secret,
        error=error,
        done=done,
    )
    return page, 400 if error else 200


@bp.get(PAGE)
def security() -> ResponseReturnValue:
    user = _signed_in_user()
    if user is None:
        return _to_login()
    return _render(user)


@bp.post(PAGE + "/totp")
def enrol_totp() -> ResponseReturnValue:
    user = _signed_in_user()
    if user is None:
        return _to_login()
    form = EnrolTotpForm()
    if not form.validate_on_submit():
        raise InvalidRequestError("The form has expired; please try again.")
    if not experience().factors.confirm_totp(user, form.code.data or "", request_id=request_id()):
        return _render(user, error=WRONG_CODE)
    return _render(user, done="Your authenticator app is set up.")


@bp.post(PAGE + "/<factor>/remove")
def remove(factor: str) -> ResponseReturnValue:
    user = _signed_in_user()
    if user is None:
        return _to_login()
    if not RemoveFactorForm().validate_on_submit():
        raise InvalidRequestError("The form has expired; please try again.")
    removed = experience().factors.remove(
        user, factor, actor=f"user:{user.id}", request_id=request_id()
    )
    if not removed:
        raise InvalidRequestError("There is no such factor to remove.")
    return redirect(PAGE, code=303)
