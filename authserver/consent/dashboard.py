"""The user's consent dashboard: every permission given to a third party, and a button
to withdraw one.

Withdrawal takes the same path as the TPP's DELETE and the operator's CLI
(``RevocationService.revoke_consent``), so the consent's tokens die at every
resource server, not only here.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from authserver.checks.identifiers import is_identifier
from authserver.consent.forms import WithdrawForm
from authserver.consent.models import STATUS_WORDS
from authserver.consent.models import is_live
from authserver.context import services
from authserver.errors import InvalidRequestError
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.scopes import SCOPES

bp = Blueprint("dashboard", __name__)

DASHBOARD_PATH = "/account/consents"


def _signed_in_user() -> str | Response:
    user_id = user_session.current_user_id()
    if user_id is None:
        user_session.set_return_to(DASHBOARD_PATH)
        return redirect(url_for("sca.login"), code=303)
    return user_id


@bp.get(DASHBOARD_PATH)
def consents() -> ResponseReturnValue:
    user_id = _signed_in_user()
    if isinstance(user_id, Response):
        return user_id
    svc = services()
    rows = []
    for consent in experience().consents.of_user(user_id):
        client = svc.clients.get(consent.client_id)
        rows.append(
            {
                "id": consent.id,
                "client_name": client.client_name if client else consent.client_id,
                "scopes": [SCOPES.get(scope, scope) for scope in consent.scopes],
                "status": consent.status,
                "status_words": STATUS_WORDS.get(consent.status, consent.status),
                "created_at": consent.created_at.strftime("%d %b %Y %H:%M UTC"),
                "active": is_live(consent),
            }
        )
    return render_template("consent/dashboard.html", consents=rows, form=WithdrawForm())


@bp.post(f"{DASHBOARD_PATH}/<consent_id>/withdraw")
def withdraw(consent_id: str) -> ResponseReturnValue:
    user_id = _signed_in_user()
    if isinstance(user_id, Response):
        return user_id
    if not WithdrawForm().validate_on_submit():
        raise InvalidRequestError("The form has expired; please try again.")
    svc = services()
    consent = experience().consents.get(consent_id) if is_identifier(consent_id) else None
    # Someone else's consent is answered like a missing one.
    if consent is None or consent.user_id != user_id:
        abort(404)
    if is_live(consent):
        svc.revocations.revoke_consent(
            consent_id, actor=f"user:{user_id}", reason="withdrawn by the user"
        )
    return redirect(url_for("dashboard.consents"), code=303)
