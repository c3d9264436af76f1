"""Every module of the FAPI 2.0 (Message Signing) test plan, in table order, then the local
additions (numbered after the table: #79-#83)."""

from __future__ import annotations

from conformance.modules import client_auth
from conformance.modules import code
from conformance.modules import discovery
from conformance.modules import dpop
from conformance.modules import flow
from conformance.modules import lifecycle
from conformance.modules import par
from conformance.modules import pkce
from conformance.modules import refresh
from conformance.modules import request_object
from conformance.modules import skipped
from conformance.runner import Module

_GROUPS = (
    discovery,
    flow,
    request_object,
    dpop,
    par,
    pkce,
    client_auth,
    code,
    refresh,
    lifecycle,
    skipped,
)
MODULES: list[Module] = sorted(
    (module for group in _GROUPS for module in group.MODULES), key=lambda m: m.number
)
