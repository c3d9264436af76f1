"""Modules that need mTLS or another ecosystem profile than plain_fapi."""

from __future__ import annotations

from conformance.runner import Module

CONNECTID = "ConnectID (AU) profile only; this server runs plain_fapi"

MODULES = [
    Module(31, "australia-connectid-ensure-request-object-with-exp-over-10-fails", skip=CONNECTID),
    Module(33, "australia-connectid-ensure-request-object-with-nbf-over-15-fails", skip=CONNECTID),
    Module(44, "australia-connectid-ensure-invalid-purpose-fails", skip=CONNECTID),
    Module(60, "brazil-ensure-bad-payment-signature-fails", skip="Open Finance Brazil only"),
    Module(61, "australia-connectid-test-claims-parameter-idtoken-identity-claims", skip=CONNECTID),
]
