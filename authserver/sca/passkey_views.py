"""Passkey pages: the login step ``/login/passkey`` and enrolment at ``/account/passkeys``.

Each page carries the WebAuthn options (made by ``PasskeyService``, with a fresh single-use
challenge) in a data attribute; ``static/passkey.js`` runs the ceremony when the button is
pressed and posts the answer in a CSRF-protected form. A refused answer gets one neutral
sentence (401) and a new challenge: the page never says what was wrong.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue

from authserver.context import services
from authserver.db import db
from authserver.errors import request_id
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.forms import PasskeyEnrolForm
from authserver.sca.forms import PasskeyForm
from authserver.sca.forms import PasskeyRemoveForm
from authserver.sca.models import User
from authserver.sca.passkeys import PasskeyError
from authserver.sca.views import after_login

bp = Blueprint("passkey", __name__)

NOT_ACCEPTED = "That passkey was not accepted. Please try again."
PARTIAL_TTL = 300
"""Seconds between the right password and the passkey; after that, the password again."""


@bp.route("/login/passkey", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    now = services().clock.time()
    user_id = user_session.partial_user_id()
    if user_id is None or now - user_session.partial_started() > PARTIAL_TTL:
        return redirect(url_for("sca.login"), code=303)
    passkeys = experience().passkeys
    form = PasskeyForm()
    error = None
    lockout = experience().lockout
    if form.validate_on_submit():
        # A locked account gets the same neutral answer; failures count toward the lock.
        if lockout.is_locked(user_id):
            lockout.refused(user_id, request_id=request_id())
            error = NOT_ACCEPTED
        else:
            try:
                verified = passkeys.authenticate(
                    user_id, form.credential.data or "", request_id=request_id()
                )
            except PasskeyError:
                lockout.failed(user_id, factor="hwk", request_id=request_id())
                error = NOT_ACCEPTED
            else:
                lockout.succeeded(user_id)
                user_session.complete(user_id, now, verified.amr)
                return redirect(after_login(), code=303)
    elif form.is_submitted():
        error = NOT_ACCEPTED
    options = passkeys.authentication_options(user_id)
    page = render_template("sca/passkey.html", form=form, options=options, error=error)
    return page, 401 if error else 200


@bp.route("/account/passkeys", methods=["GET", "POST"])
def enrol() -> ResponseReturnValue:
    user_id = user_session.current_user_id()
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        return redirect(url_for("sca.login"), code=303)
    passkeys = experience().passkeys
    form = PasskeyEnrolForm()
    error = None
    added = False
    if form.validate_on_submit():
        try:
            passkeys.register(
                user, form.credential.data or "", name=form.name.data or "", request_id=request_id()
            )
            added = True
        except PasskeyError:
            error = "That passkey could not be added. Please try again."
    elif form.is_submitted():
        error = "That passkey could not be added. Please try again."
    page = render_template(
        "sca/passkeys.html",
        form=form,
        options=passkeys.registration_options(user),
        passkeys=passkeys.of_user(user.id),
        remove_form=PasskeyRemoveForm(),
        error=error,
        added=added,
    )
    return page, 400 if error else 200


@bp.post("/account/passkeys/remove")
def remove() -> ResponseReturnValue:
    user_id = user_session.current_user_id()
    if user_id is None:
        return redirect(url_for("sca.login"), code=303)
    form = PasskeyRemoveForm()
    if form.validate_on_submit():
        experience().passkeys.remove(user_id, form.passkey_id.data or "", request_id=request_id())
    return redirect(url_for("passkey.enrol"), code=303)
