"""The user's consent dashboard: every permission given to a third party, its history, and
a way to withdraw it.

Withdrawal takes the same path as the TPP's DELETE and the operator's CLI
(``RevocationService.revoke_consent``), so the consent's tokens die at every resource
server, not only here, and the audit trail records it (``consent.cancelled`` and
``consent.tokens_revoked``). It is two steps: "Withdraw" opens a confirmation page whose
CSRF-protected form does it, so one stray tap cannot cut off a customer's app.

Who may see the page (issue 13, "SCA-protected"): a signed-in user whose session passed
strong customer authentication (``acr`` is ``ACR_SCA``). A user the login cannot
strongly authenticate (no second factor: ``UserService.second_factor_step`` answers None)
is let in on their password session, because demanding SCA would lock them out of
withdrawing their own consents; everyone else without an SCA session is sent to sign in
again, and comes back here afterwards.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from authserver.checks.consent_gate import ConsentView
from authserver.checks.identifiers import is_identifier
from authserver.consent.forms import WithdrawForm
from authserver.consent.models import DOMESTIC_PAYMENT
from authserver.consent.overview import PAYMENT_NOT_WITHDRAWABLE
from authserver.consent.overview import ConsentSummary
from authserver.consent.overview import can_withdraw
from authserver.consent.overview import history
from authserver.consent.overview import summarise
from authserver.context import services
from authserver.db import db
from authserver.errors import InvalidRequestError
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.models import User

bp = Blueprint("dashboard", __name__)

DASHBOARD_PATH = "/account/consents"


def _strong_enough(user_id: str) -> bool:
    """The SCA rule of the module docstring."""
    if user_session.acr() == user_session.ACR_SCA:
        return True
    user = db.session.get(User, user_id)
    return user is not None and experience().users.second_factor_step(user) is None


def _signed_in_user() -> str | Response:
    user_id = user_session.current_user_id()
    if user_id is None or not _strong_enough(user_id):
        user_session.set_return_to(DASHBOARD_PATH)
        return redirect(url_for("sca.login"), code=303)
    return user_id


def _client_name(client_id: str) -> str:
    client = services().clients.get(client_id)
    return client.client_name if client and client.client_name else client_id


def _summary(view: ConsentView, user_id: str) -> ConsentSummary:
    held = experience().accounts.accounts_of(user_id) if view.selected_accounts else []
    return summarise(view, _client_name(view.client_id), held)


def _own_consent(consent_id: str, user_id: str) -> ConsentView:
    """The user's consent, or 404: someone else's is answered like a missing one."""
    view = experience().consents.view(consent_id) if is_identifier(consent_id) else None
    if view is None or view.user_id != user_id:
        abort(404)
    return view


@bp.get(DASHBOARD_PATH)
def consents() -> ResponseReturnValue:
    user_id = _signed_in_user()
    if isinstance(user_id, Response):
        return user_id
    ids = [consent.id for consent in experience().consents.of_user(user_id)]
    # ``view`` moves an authorised consent past its end date to EXPD, so it reads true.
    views = [view for view in map(experience().consents.view, ids) if view is not None]
    rows = [_summary(view, user_id) for view in views]
    return render_template("consent/dashboard.html", consents=rows)


@bp.get(f"{DASHBOARD_PATH}/<consent_id>")
def detail(consent_id: str) -> ResponseReturnValue:
    user_id = _signed_in_user()
    if isinstance(user_id, Response):
        return user_id
    view = _own_consent(consent_id, user_id)
    summary = _summary(view, user_id)
    steps = history(
        experience().consents.history(view.consent_id), view, user_id, summary.client_name
    )
    return render_template(
        "consent/detail.html",
        consent=summary,
        steps=steps,
        payment_note=PAYMENT_NOT_WITHDRAWABLE if summary.payment else None,
    )


@bp.route(f"{DASHBOARD_PATH}/<consent_id>/withdraw", methods=["GET", "POST"])
def withdraw(consent_id: str) -> ResponseReturnValue:
    """GET: the confirmation page; POST (its form, CSRF-checked): withdraw."""
    user_id = _signed_in_user()
    if isinstance(user_id, Response):
        return user_id
    form = WithdrawForm()
    if form.is_submitted() and not form.validate_on_submit():
        raise InvalidRequestError("The form has expired; please try again.")
    view = _own_consent(consent_id, user_id)
    if not can_withdraw(view):
        if view.kind == DOMESTIC_PAYMENT:
            raise InvalidRequestError(PAYMENT_NOT_WITHDRAWABLE)
        # Already withdrawn, expired or refused: nothing left to end; show where it stands.
        return redirect(url_for("dashboard.detail", consent_id=view.consent_id), code=303)
    if not form.is_submitted():
        return render_template("consent/withdraw.html", consent=_summary(view, user_id), form=form)
    services().revocations.revoke_consent(
        view.consent_id, actor=f"user:{user_id}", reason="withdrawn by the user"
    )
    return redirect(url_for("dashboard.consents"), code=303)
