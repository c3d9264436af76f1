"""When a consent may be decided on the strength of the current login (AUTH-8).

One rule, asked by the consent page before it shows anything:

- a client that demands an ``acr`` (``checks/acr.py``) the login did not give: a user with
  a second factor authenticates again (and then gives SCA); anyone else cannot give it,
  so the client receives ``unmet_authentication_requirements`` (RFC 9470);
- a user with no second factor: allowed as CA (acr ``urn:openbanking:psd2:ca``) while
  ``AUTHSERVER_SCA__SECOND_FACTOR=optional`` (the default, so password-only users and older
  integrations keep working), else sent to enrol one;
- account access needs an SCA no older than ``AUTHSERVER_SCA__ACCOUNT_ACCESS_MAX_AGE_DAYS``
  (90, PSD2 RTS art. 10); an older one, or a CA login by a user who has a factor, means
  the second factor again. Payment consents need fresh SCA linked to the payment: that
  rule is the payment step's (``consent/payment.py``), not this one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from authserver.checks.acr import ACR_SCA
from authserver.db import db
from authserver.sca.models import User
from authserver.sca.service import UserService
from authserver.settings import ScaSettings

DAY = 86400


class Requirement(enum.Enum):
    PROCEED = "proceed"
    AUTHENTICATE_AGAIN = "authenticate_again"
    ENROL = "enrol"
    UNMET = "unmet"


@dataclass(frozen=True)
class LoginState:
    """What the session says of the login (``sca/session.py``)."""

    user_id: str
    acr: str | None
    sca_time: int


class ScaPolicy:
    def __init__(self, settings: ScaSettings, users: UserService) -> None:
        self._settings = settings
        self._users = users

    def for_consent(
        self, login: LoginState, *, acr_values: tuple[str, ...], payment: bool, now: float
    ) -> Requirement:
        user = db.session.get(User, login.user_id)
        has_factor = user is not None and self._users.has_second_factor(user)
        if acr_values and login.acr not in acr_values:
            if ACR_SCA in acr_values and has_factor:
                return Requirement.AUTHENTICATE_AGAIN
            return Requirement.UNMET
        if not has_factor:
            required = self._settings.second_factor == "required"
            return Requirement.ENROL if required else Requirement.PROCEED
        if payment:
            return Requirement.PROCEED
        max_age = self._settings.account_access_max_age_days * DAY
        if login.acr != ACR_SCA or now - login.sca_time > max_age:
            return Requirement.AUTHENTICATE_AGAIN
        return Requirement.PROCEED
