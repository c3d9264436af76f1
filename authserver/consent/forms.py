"""The consent form: two submit buttons, one CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField


class ConsentForm(FlaskForm):  # type: ignore[misc]
    approve = SubmitField("Approve")
    deny = SubmitField("Deny")


class WithdrawForm(FlaskForm):  # type: ignore[misc]
    withdraw = SubmitField("Withdraw")
