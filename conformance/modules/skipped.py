"""Modules that need DPoP or mTLS (not yet implemented here) or another ecosystem profile."""

from __future__ import annotations

from conformance.runner import Module

DPOP = "DPoP arrives with issue 4"
CONNECTID = "ConnectID (AU) profile only; this server runs plain_fapi"

MODULES = [
    Module(12, "check-dpop-proof-nbf-exp", skip=DPOP),
    Module(13, "ensure-dpopproof-with-iat-10seconds-before-succeeds", skip=DPOP),
    Module(14, "ensure-dpopproof-with-iat-10seconds-after-succeeds", skip=DPOP),
    Module(15, "ensure-mismatched-dpop-jkt-fails", skip=DPOP),
    Module(16, "ensure-token-endpoint-fails-with-mismatched-dpop-proof-jkt", skip=DPOP),
    Module(17, "ensure-token-endpoint-fails-with-mismatched-dpop-jkt", skip=DPOP),
    Module(18, "ensure-dpopproof-at-par-endpoint-binding-success", skip=DPOP),
    Module(19, "ensure-dpop-auth-code-binding-success", skip=DPOP),
    Module(31, "australia-connectid-ensure-request-object-with-exp-over-10-fails", skip=CONNECTID),
    Module(33, "australia-connectid-ensure-request-object-with-nbf-over-15-fails", skip=CONNECTID),
    Module(44, "australia-connectid-ensure-invalid-purpose-fails", skip=CONNECTID),
    Module(47, "ensure-holder-of-key-required", skip=f"needs DPoP or mTLS and TLS; {DPOP}"),
    Module(56, "dpop-negative-tests", skip=DPOP),
    Module(58, "ensure-server-handles-non-matching-intent-id", skip="OBUK profile only"),
    Module(59, "test-essential-acr-sca-claim", skip="OBUK profile only"),
    Module(60, "brazil-ensure-bad-payment-signature-fails", skip="Open Finance Brazil only"),
    Module(61, "australia-connectid-test-claims-parameter-idtoken-identity-claims", skip=CONNECTID),
]
