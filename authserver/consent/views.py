"""The consent page: the client's name, each scope in plain words, "Approve" and "Deny"."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue

from authserver.consent.flow import finish_authorization
from authserver.consent.forms import ConsentForm
from authserver.context import services
from authserver.errors import InvalidRequestError
from authserver.sca import session as user_session
from authserver.scopes import SCOPES

bp = Blueprint("consent", __name__)


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> ResponseReturnValue:
    svc = services()
    pending = user_session.pending()
    if pending is None:
        raise InvalidRequestError("No authorization request is in progress.")
    user_id = user_session.current_user_id()
    if user_id is None:
        return redirect(url_for("sca.login"), code=303)
    client = svc.clients.get(pending.client_id)
    if client is None or client.disabled:
        raise InvalidRequestError("The application is no longer registered.")
    form = ConsentForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            raise InvalidRequestError("The form has expired; please start again.")
        return finish_authorization(svc, client, pending, user_id, approved=bool(form.approve.data))
    authorization = svc.par.get(pending.request_uri, pending.client_id)
    scopes = [(scope, SCOPES.get(scope, scope)) for scope in authorization.scopes]
    return render_template("consent/consent.html", form=form, client=client, scopes=scopes)
