"""The login form (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from authserver.checks.identifiers import is_identifier


def _identifier(_form: Any, field: Field) -> None:
    # A username is looked up and audited: a NUL would fail in PostgreSQL (F2).
    if field.data and not is_identifier(field.data):
        raise ValidationError("Invalid username.")


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=150), _identifier])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token and the button: signing out must not be forgeable cross-site."""

    submit = SubmitField("Sign out")


class PasskeyForm(FlaskForm):  # type: ignore[misc]
    """The answer of a WebAuthn ceremony, put in ``credential`` by ``static/passkey.js``.

    A plain form post (not a JSON call) so Flask-WTF's CSRF check covers it like every
    other form; the button that starts the ceremony is not a submit button.
    """

    credential = HiddenField(validators=[DataRequired(), Length(max=16_000)])


class PasskeyEnrolForm(PasskeyForm):
    name = StringField("Passkey name", validators=[Length(max=100)], default="My passkey")


class PasskeyRemoveForm(FlaskForm):  # type: ignore[misc]
    passkey_id = HiddenField(validators=[DataRequired(), Length(max=36)])
    submit = SubmitField("Remove")


class OneTimeCodeForm(FlaskForm):  # type: ignore[misc]
    """The second step of a login: the six digits from the user's authenticator app."""

    code = StringField("One-time code", validators=[DataRequired(), Length(max=12)])
    submit = SubmitField("Verify")


class EnrolTotpForm(FlaskForm):  # type: ignore[misc]
    """Confirming a new authenticator app with one of its codes proves it was set up."""

    code = StringField("One-time code", validators=[DataRequired(), Length(max=12)])
    submit = SubmitField("Confirm")


class RemoveFactorForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField("Remove")
