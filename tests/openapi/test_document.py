"""``/openapi.json`` is a valid OpenAPI 3.1 document describing every open-banking route."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import ValidationError
from openapi_spec_validator import validate

from authserver.openbanking.envelope import OB_PREFIX
from tests.openapi.contract import Contract


def _document(client: FlaskClient) -> dict[str, object]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def test_the_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    document = _document(client)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_open_banking_route_is_documented(app: Flask, client: FlaskClient) -> None:
    documented = _document(client)["paths"]
    assert isinstance(documented, dict)
    # Flask's variable names are snake_case, the document's the standard's (ConsentId):
    # compare the shapes of the paths.
    paths = {re.sub(r"\{[^}]+\}", "{}", path): item for path, item in documented.items()}
    served = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(OB_PREFIX):
            continue
        served += 1
        template = re.sub(r"<[^>]+>", "{}", rule.rule)
        assert template in paths, f"{rule.rule} is served but not in /openapi.json"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[template], f"{method} {rule.rule} is not documented"
    assert served >= 2


def test_the_contract_refuses_an_undocumented_field(client: FlaskClient) -> None:
    contract = Contract(_document(client))
    error = {"Errors": [{"ErrorCode": "U002", "Message": "Bad.", "Path": "Data"}]}
    template = f"{OB_PREFIX}/aisp/account-access-consents"
    contract.check(template, "post", 400, error)
    with pytest.raises(ValidationError):
        contract.check(template, "post", 400, {**error, "Extra": 1})
