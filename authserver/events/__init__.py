"""Webhook events (API-6): the outbox written with each state change, the signed event,
the SSRF guard on callbacks and the delivery worker.

On the protocol floor so the consent and payment services (above) can write to the
outbox in their own transaction, and the subscription endpoints (resources) can read
it; only ``signer`` touches a private key, and only the authorization server's app and
the worker import it.
"""
