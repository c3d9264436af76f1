"""The services of the pages for people (login, consent, the dashboard), found by their views.

The protocol floor sees consents and users only through the consent gate and the user
directory; the experience floor needs the concrete services (recording a decision,
authenticating a password), which live here, one floor up from ``context``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import current_app

from authserver.accounts.provider import AccountProvider
from authserver.consent.service import ConsentService
from authserver.sca.enrolment import FactorService
from authserver.sca.lockout import Lockout
from authserver.sca.login import LoginService
from authserver.sca.passkeys import PasskeyService
from authserver.sca.policy import ScaPolicy
from authserver.sca.service import UserService
from authserver.sca.totp import TotpVerifier

EXTENSION_KEY = "authserver.experience"


@dataclass(frozen=True)
class Experience:
    consents: ConsentService
    users: UserService
    accounts: AccountProvider
    """The user's accounts, for the consent page's checklist."""
    passkeys: PasskeyService
    """WebAuthn ceremonies: login, enrolment and the payment step-up."""
    login: LoginService
    totp: TotpVerifier
    lockout: Lockout
    sca_policy: ScaPolicy
    factors: FactorService


def experience(app: Flask | None = None) -> Experience:
    target = app or current_app
    found: Experience = target.extensions[EXTENSION_KEY]
    return found
