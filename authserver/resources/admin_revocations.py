"""POST /admin/revocations: bulk revocation for operators' tooling.

Authenticated like any API: an access token carrying the ``authserver:revoke`` scope
(an operator client through client_credentials, DPoP or Bearer as configured).
"""

from __future__ import annotations

from typing import Annotated
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import g
from flask import jsonify
from flask import request
from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import model_validator

from authserver.checks.identifiers import has_control_characters
from authserver.checks.identifiers import is_identifier
from authserver.db import db
from authserver.errors import InvalidRequestError
from authserver.resources.context import resource_services
from authserver.resources.guard import require_token
from authserver.scopes import ADMIN_REVOCATION
from authserver.tokens.revocation import BulkRevocation
from authserver.tokens.revocation import RevocationTargetNotFoundError
from authserver.web.body_rules import is_json_media_type

bp = Blueprint("revocation_admin", __name__)


def _identifier(value: str) -> str:
    # F2: a NUL or a lone surrogate must be refused here, before it reaches a query.
    if not is_identifier(value):
        raise ValueError("not an identifier")
    return value


def _text(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("control characters are not allowed")
    return value


_Identifier = Field(default=None, min_length=1, max_length=100)
Identifier = Annotated[str, AfterValidator(_identifier)]
Text = Annotated[str, AfterValidator(_text)]


class BulkRevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: Identifier | None = _Identifier
    user_id: Identifier | None = _Identifier
    consent_id: Identifier | None = _Identifier
    reason: Text = Field(default="operator request", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _exactly_one_target(self) -> BulkRevocationRequest:
        given = [self.client_id, self.user_id, self.consent_id]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of client_id, user_id or consent_id")
        return self


def _parse(body: Any) -> BulkRevocationRequest:
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.")
    try:
        return BulkRevocationRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequestError(_description(exc)) from None


def _description(exc: ValidationError) -> str:
    """A fixed description naming at most one of our own fields, never the client's text
    (an unexpected key is the client's text, and may hold quotes or non-ASCII: F1)."""
    first = exc.errors()[0]
    loc = first["loc"]
    if first["type"] == "extra_forbidden":
        return "The body has an unexpected field."
    if loc and loc[0] in BulkRevocationRequest.model_fields:
        return f"The field {loc[0]} is invalid."
    return "Give exactly one of client_id, user_id or consent_id."


def bulk_revoke(parsed: BulkRevocationRequest, actor: str) -> BulkRevocation:
    svc = resource_services()
    try:
        if parsed.client_id is not None:
            return svc.revocations.revoke_client(
                parsed.client_id, actor=actor, reason=parsed.reason
            )
        if parsed.user_id is not None:
            return svc.revocations.revoke_user(parsed.user_id, actor=actor, reason=parsed.reason)
        assert parsed.consent_id is not None  # noqa: S101 - guaranteed by the model
        return svc.revocations.revoke_consent(parsed.consent_id, actor=actor, reason=parsed.reason)
    except RevocationTargetNotFoundError:
        db.session.rollback()
        abort(404)


@bp.post("/admin/revocations")
@require_token(ADMIN_REVOCATION)
def create_revocation() -> Response:
    if not is_json_media_type(request.mimetype):
        abort(415)  # the body is a JSON object: another media type is refused, not guessed
    parsed = _parse(request.get_json(silent=True))
    result = bulk_revoke(parsed, actor=f"client:{g.token_claims['client_id']}")
    response = jsonify(result.to_dict())
    response.headers["Cache-Control"] = "no-store"
    return response
