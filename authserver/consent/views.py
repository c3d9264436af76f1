"""The consent page: the client's name, each scope in plain words, "Approve" and "Deny"; for
an account-access consent also its permissions in words, its expiry and the account
checklist; for a payment consent the amount, the payee and the account to pay from."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from authserver.checks.authorization_request import AuthorizationRequest
from authserver.checks.redirect_uri import csp_source
from authserver.clients.models import Client
from authserver.clients.models import is_usable
from authserver.consent.flow import ConsentScreen
from authserver.consent.flow import NoAccountChosenError
from authserver.consent.flow import chosen_accounts
from authserver.consent.flow import consent_screen
from authserver.consent.flow import finish_authorization
from authserver.consent.flow import refuse_authorization
from authserver.consent.forms import ConsentForm
from authserver.consent.forms import OpenBankingConsentForm
from authserver.consent.forms import PaymentConsentForm
from authserver.consent.payment import NoDebtorChosenError
from authserver.consent.payment import PaymentScreen
from authserver.consent.payment import chosen_debtor
from authserver.context import services
from authserver.db import db
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.experience import experience
from authserver.sca import session as user_session
from authserver.sca.forms import OneTimeCodeForm
from authserver.sca.forms import PasskeyForm
from authserver.sca.linking import same_digest
from authserver.sca.login import Outcome
from authserver.sca.models import User
from authserver.sca.passkeys import PasskeyError
from authserver.sca.policy import LoginState
from authserver.sca.policy import Requirement
from authserver.sca.session import Pending
from authserver.scopes import SCOPES
from authserver.web.headers import SECURITY_HEADERS

bp = Blueprint("consent", __name__)

NO_ACCOUNT = "Choose at least one account to share, or press Deny."
NO_DEBTOR = "Choose the account to pay from, or press Deny."
NOT_CONFIRMED = (
    "The payment was not confirmed. Check the details and try your passkey again; if they "
    "changed, this confirmation no longer counts."
)
CODE_NOT_CONFIRMED = (
    "The payment was not confirmed. Check the details and enter the current code from your "
    "authenticator app; if the details changed, this confirmation no longer counts."
)
Screen = ConsentScreen | PaymentScreen | None
# RFC 9470 §3: the login cannot give the authentication context the client demanded.
UNMET = "unmet_authentication_requirements"
UNMET_TEXT = "The user could not be authenticated as the requested acr demands."


def _choices(screen: ConsentScreen | PaymentScreen) -> list[tuple[str, str]]:
    return [
        (account.account_id, f"{account.nickname} {account.masked_number}")
        for account in screen.accounts
    ]


def _consent_form(pending: Pending, screen: Screen) -> ConsentForm:
    """A consent form whose CSRF token is good only for the request the page showed.

    The session's pending request can change under an open consent page: a second tab,
    or another site navigating the browser to /authorize (SameSite=Lax cookies go along).
    A session-wide token would then let "Approve" on the page the user read grant a
    different client and scope; signing the token with a secret bound to the request_uri
    makes such a post fail CSRF validation instead.
    """
    key = str(current_app.config["SECRET_KEY"]).encode()
    bound = hmac.new(key, f"consent:{pending.request_uri}".encode(), hashlib.sha256)
    meta = {"csrf_secret": bound.hexdigest()}
    if screen is None:
        return ConsentForm(meta=meta)
    if isinstance(screen, PaymentScreen):
        payment = PaymentConsentForm(meta=meta)
        payment.debtor_account.choices = _choices(screen)
        return payment
    form = OpenBankingConsentForm(meta=meta)
    form.accounts.choices = _choices(screen)
    return form


def _page_policy(redirect_uri: str) -> str:
    """The baseline CSP, with form-action also allowing the client's redirect_uri.

    Chrome and WebKit apply form-action to every redirect that follows a form post, so
    with 'self' alone the 303 from "Approve"/"Deny" to the client would be blocked.
    """
    directives = [d.strip() for d in SECURITY_HEADERS["Content-Security-Policy"].split(";")]
    return "; ".join(
        f"{d} {csp_source(redirect_uri)}" if d.startswith("form-action ") else d for d in directives
    )


def _render(
    form: ConsentForm,
    client: Client,
    authorization: AuthorizationRequest,
    screen: Screen,
    *,
    error: str | None = None,
) -> ResponseReturnValue:
    scopes = [(scope, SCOPES.get(scope, scope)) for scope in authorization.scopes]
    page = make_response(
        render_template(
            "consent/consent.html",
            form=form,
            client=client,
            scopes=scopes,
            screen=screen if isinstance(screen, ConsentScreen) else None,
            payment=screen if isinstance(screen, PaymentScreen) else None,
            error=error,
        ),
        400 if error else 200,
    )
    page.headers["Content-Security-Policy"] = _page_policy(authorization.redirect_uri)
    return page


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
    if not is_usable(client):
        raise InvalidRequestError("The application is no longer registered.")
    authorization = svc.par.get(pending.request_uri, pending.client_id)
    screen = consent_screen(svc, authorization, user_id)
    requirement = experience().sca_policy.for_consent(
        LoginState(user_id, user_session.acr(), user_session.sca_time()),
        acr_values=authorization.acr_values,
        payment=isinstance(screen, PaymentScreen),
        now=svc.clock.time(),
    )
    if requirement is Requirement.AUTHENTICATE_AGAIN:
        user_session.restart()  # the pending request stays; password and factor again
        return redirect(url_for("sca.login"), code=303)
    if requirement is Requirement.UNMET:
        return refuse_authorization(svc, client, pending, UNMET, UNMET_TEXT)
    if requirement is Requirement.ENROL:
        return render_template("sca/enrol_needed.html"), 403
    link_required = _link_required(user_id, screen)
    if link_required and not _linked_to_current(screen):
        return redirect(url_for("consent.confirm_payment"), code=303)
    form = _consent_form(pending, screen)
    if request.method == "GET":
        return _render(form, client, authorization, screen)
    if not form.validate_on_submit():
        raise InvalidRequestError("The form has expired; please start again.")
    approved = bool(form.approve.data)
    accounts: list[str] = []
    if isinstance(screen, PaymentScreen) and approved:
        try:
            accounts = [chosen_debtor(form.debtor_account.data, screen)]
        except NoDebtorChosenError:
            return _render(form, client, authorization, screen, error=NO_DEBTOR)
    elif isinstance(screen, ConsentScreen) and approved:
        try:
            accounts = chosen_accounts(form.accounts.data or [], screen)
        except NoAccountChosenError:
            return _render(form, client, authorization, screen, error=NO_ACCOUNT)
    return finish_authorization(
        svc,
        client,
        pending,
        user_id,
        approved=approved,
        accounts=accounts,
        require_link=link_required,
    )


def _link_required(user_id: str, screen: Screen) -> bool:
    """Every payment needs fresh SCA linked to its details (dynamic linking), from each
    user with a second factor (passkey or TOTP); a user with none approves on the password
    alone while ``AUTHSERVER_SCA__SECOND_FACTOR=optional`` (the SCA policy's rule)."""
    if not isinstance(screen, PaymentScreen):
        return False
    user = db.session.get(User, user_id)
    return user is not None and experience().users.has_second_factor(user)


def _linked_to_current(screen: Screen) -> bool:
    """The session's authentication was linked to this payment's details as stored now."""
    if not isinstance(screen, PaymentScreen):
        return False
    digest = experience().consents.payment_link(screen.consent_id)
    return same_digest(user_session.linked(), digest)


def _payment_to_confirm() -> tuple[str, PaymentScreen] | Response:
    """(user id, payment) for the confirmation pages, or where to send the browser."""
    svc = services()
    pending = user_session.pending()
    if pending is None:
        raise InvalidRequestError("No authorization request is in progress.")
    user_id = user_session.current_user_id()
    if user_id is None:
        return redirect(url_for("sca.login"), code=303)
    authorization = svc.par.get(pending.request_uri, pending.client_id)
    screen = consent_screen(svc, authorization, user_id)
    if not isinstance(screen, PaymentScreen) or not _link_required(user_id, screen):
        return redirect(url_for("consent.consent"), code=303)
    return user_id, screen


def _confirm_page(
    user_id: str,
    screen: PaymentScreen,
    digest: str,
    *,
    error: str | None = None,
    passkey_form: PasskeyForm | None = None,
    code_form: OneTimeCodeForm | None = None,
) -> ResponseReturnValue:
    """The amount, currency and payee beside the prompt of each factor the user has; the
    shown details' hash is the session's pending link (``request_link``)."""
    user = db.session.get(User, user_id)
    if user is None:
        return redirect(url_for("sca.login"), code=303)
    user_session.request_link(digest)
    passkeys = experience().passkeys
    has_passkey = experience().users.has_passkey(user)
    page = render_template(
        "consent/confirm_payment.html",
        form=passkey_form or PasskeyForm(),
        code_form=(code_form or OneTimeCodeForm()) if user.sealed_totp_secret else None,
        payment=screen,
        currency=screen.currency,
        options=passkeys.authentication_options(user_id, link=digest) if has_passkey else None,
        error=error,
    )
    return page, 401 if error else 200


@bp.route("/consent/confirm", methods=["GET", "POST"])
def confirm_payment() -> ResponseReturnValue:
    """The step-up page: the amount, currency and payee beside the passkey prompt, whose
    challenge commits to the hash of exactly these details (``sca/linking.py``)."""
    found = _payment_to_confirm()
    if isinstance(found, Response):
        return found
    user_id, screen = found
    digest = experience().consents.payment_link(screen.consent_id)
    form = PasskeyForm()
    error = None
    if form.validate_on_submit():
        try:
            verified = experience().passkeys.authenticate(
                user_id, form.credential.data or "", request_id=request_id(), link=digest
            )
        except PasskeyError:
            error = NOT_CONFIRMED
        else:
            now = services().clock.time()
            user_session.complete(user_id, now, verified.amr, linked=verified.link)
            return redirect(url_for("consent.consent"), code=303)
    elif form.is_submitted():
        error = NOT_CONFIRMED
    return _confirm_page(user_id, screen, digest, error=error, passkey_form=form)


@bp.post("/consent/confirm/otp")
def confirm_payment_with_code() -> ResponseReturnValue:
    """The same confirmation with a one-time code: the code is not bound to the payment
    by itself, so the hash of the details the page showed (the pending link) must still
    be the hash of the details as stored now, else the confirmation is void."""
    found = _payment_to_confirm()
    if isinstance(found, Response):
        return found
    user_id, screen = found
    digest = experience().consents.payment_link(screen.consent_id)
    form = OneTimeCodeForm()
    if not form.validate_on_submit():
        return _confirm_page(user_id, screen, digest, error=CODE_NOT_CONFIRMED, code_form=form)
    shown = user_session.pending_link()
    result = experience().login.totp_step(
        user_id,
        form.code.data or "",
        address=request.remote_addr or "unknown",
        request_id=request_id(),
    )
    if result.outcome is not Outcome.DONE or not same_digest(shown, digest):
        return _confirm_page(user_id, screen, digest, error=CODE_NOT_CONFIRMED, code_form=form)
    user_session.complete(user_id, services().clock.time(), ("pwd", "otp"), linked=digest)
    return redirect(url_for("consent.consent"), code=303)
