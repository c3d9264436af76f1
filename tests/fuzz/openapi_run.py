"""schemathesis over our own ``/openapi.json``: every operation, positive and negative
cases, each sent with the token (and DPoP proof, request signature and idempotency key)
that operation needs, so generated values reach the code behind the token check.

Path parameters are the generated ones or, half the time, the world's real ids (never for
DELETE, which would withdraw the consent the other calls read through).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import Case as GenericCase
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.result import Err

from tests.fuzz import bounded
from tests.fuzz.recorder import Recorder
from tests.fuzz.world import Caller
from tests.fuzz.world import World

Case = GenericCase[Any]


def _caller(world: World, method: str, path: str) -> Caller:
    """The consent and payment-status endpoints take a client-credentials token; the
    accounts, the funds check and a new payment take the authorised consent's token."""
    if "/aisp/" in path and "/account-access-consents" not in path:
        return world.account_reader
    if path.endswith("/funds-confirmation") or (
        path.endswith("/domestic-payments") and method == "POST"
    ):
        return world.payer
    return world.client_credentials


def _real_ids(world: World, path: str) -> dict[str, str]:
    consent = world.payment_consent if "/pisp/" in path else world.account_consent
    return {"ConsentId": consent, "AccountId": world.account_id, "DomesticPaymentId": "x"}


def _body(case: Case) -> bytes | None:
    if case.body is NOT_SET:
        return None
    try:
        return json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return repr(case.body).encode()


def _headers(case: Case) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (case.headers or {}).items()}
    # The caller's credentials stand; a generated Authorization or DPoP would only be a 401.
    return {k: v for k, v in headers.items() if k.lower() not in ("authorization", "dpop")}


def _send(world: World, recorder: Recorder, case: Case, use_real_ids: bool) -> None:
    method = case.method.upper()
    params = dict(case.path_parameters or {})
    if use_real_ids and method != "DELETE":
        params.update({k: v for k, v in _real_ids(world, case.path).items() if k in params})
    path = case.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", _quote(str(value)))
    body = _body(case)
    caller = _caller(world, method, case.path)
    response = caller.call(
        method, path, query=dict(case.query or {}), headers=_headers(case), body=body,
        content_type=case.media_type or "application/json",
    )  # fmt: skip
    sent = f"{method} {path} query={case.query!r} body={body!r:.200}"
    recorder.record(f"{method} {case.path}", response, sent)


def _quote(value: str) -> str:
    return quote(value, safe="") or "%20"


def run_openapi(world: World, recorder: Recorder, examples: int) -> None:
    """``examples`` positive and ``examples`` negative cases per operation."""
    document: dict[str, Any] = world.app.test_client().get("/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise SystemExit(
                f"/openapi.json holds an operation schemathesis cannot read: {result.err()}"
            )
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans())

            @bounded(examples)
            @given(drawn=strategy)
            def fuzz(drawn: tuple[Case, bool]) -> None:
                _send(world, recorder, *drawn)

            fuzz()
