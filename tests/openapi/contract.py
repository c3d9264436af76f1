"""Validates real responses against our ``/openapi.json`` (JSON Schema 2020-12 of OAS 3.1).

The document is read from the running app, never from the module that builds it, so the
test checks what a TPP downloads.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "urn:authserver:openapi"


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource: Resource[Any] = DRAFT202012.create_resource(document)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)

    def operation(self, template: str, method: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["paths"][template][method.lower()]
        return found

    def check(self, template: str, method: str, status: int, body: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the documented answer."""
        responses = self.operation(template, method)["responses"]
        assert str(status) in responses, f"{method} {template} does not document {status}"
        content = responses[str(status)].get("content")
        if content is None:
            assert body in (None, b"", ""), f"{status} is documented without a body"
            return
        schema = content["application/json"]["schema"]
        ref = schema["$ref"].removeprefix("#")
        validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#{ref}"},
            registry=self._registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        validator.validate(body)
