"""The accounts resource server: ``/open-banking/v4.0/aisp`` accounts, balances and
transactions, read through the ``AccountProvider`` within an account-access consent.

``access`` holds the one access check (token → consent → permissions → selected
account) and the audit event; ``render`` the wire shapes and the Basic/Detail rules;
``views`` the six endpoints. Registered only where ``ResourceServices.accounts`` is set.
"""
