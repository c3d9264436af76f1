"""The browser's start page and sign-out.

``/`` tells a person who lands on the server what it is and where their consents are;
``POST /logout`` ends their session. Sign-out is a CSRF-protected POST, so another site
cannot sign a user out (or in) behind their back.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import session
from flask.typing import ResponseReturnValue

from authserver.errors import InvalidRequestError
from authserver.sca import session as user_session
from authserver.sca.forms import LogoutForm

bp = Blueprint("home", __name__)


@bp.get("/")
def start_page() -> ResponseReturnValue:
    return render_template(
        "sca/home.html",
        signed_in=user_session.current_user_id() is not None,
        form=LogoutForm(),
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if not LogoutForm().validate_on_submit():
        raise InvalidRequestError("The form has expired; please try again.")
    # Everything goes: the user, the session id, any authorization still pending.
    session.clear()
    return redirect("/", code=303)
