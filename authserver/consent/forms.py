"""The consent forms: Approve / Deny with one CSRF token, for an account-access consent the
checklist of the user's accounts, for a payment consent the account to pay from."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms import SelectMultipleField
from wtforms import SubmitField
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget


class ConsentForm(FlaskForm):  # type: ignore[misc]
    approve = SubmitField("Approve")
    deny = SubmitField("Deny")


class AccountChecklist(SelectMultipleField):  # type: ignore[misc]
    """One checkbox per account, each with its own <label> (ListWidget renders both)."""

    widget = ListWidget(html_tag="ul", prefix_label=False)
    option_widget = CheckboxInput()


class OpenBankingConsentForm(ConsentForm):
    # The choices are the user's accounts, set per request; which values may be recorded
    # is decided by consent.flow.chosen_accounts (one rule), not by the field.
    accounts = AccountChecklist("Accounts", choices=[], validate_choice=False)


class PaymentConsentForm(ConsentForm):
    # One radio button (each with its <label>) per account of the user; which value may be
    # recorded is decided by consent.payment.chosen_debtor (one rule), not by the field.
    debtor_account = RadioField("Pay from", choices=[], validate_choice=False)


class WithdrawForm(FlaskForm):  # type: ignore[misc]
    """The confirmation page's form: only the CSRF token and the button."""

    withdraw = SubmitField("Yes, withdraw access")
