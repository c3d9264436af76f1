"""OpenID Connect UserInfo (Core §5.3): the subject of an openid access token.

A protected resource like any other: ``require_token`` checks the token and its sender
constraint (``DPoP`` with a proof, or ``Bearer`` for unbound tokens while allowed). It
sits with the resource servers (it uses the guard), so it runs in ``authserver.rs`` too.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import g
from flask import jsonify

from authserver.resources.guard import require_token

bp = Blueprint("userinfo", __name__)


# UK Open Banking: the ConsentId, when the TPP asked for it under claims.userinfo (the
# authorization server then put it in the access token; this floor cannot read consents).
INTENT_CLAIM = "openbanking_intent_id"


@bp.route("/userinfo", methods=["GET", "POST"])
@require_token("openid")
def userinfo() -> Response:
    claims = g.token_claims
    body = {"sub": claims["sub"]}
    if isinstance(claims.get(INTENT_CLAIM), str):
        body[INTENT_CLAIM] = claims[INTENT_CLAIM]
    return jsonify(body)
