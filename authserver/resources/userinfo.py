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

from authserver.checks.intent import INTENT_CLAIM
from authserver.resources.guard import require_token

bp = Blueprint("userinfo", __name__)


@bp.route("/userinfo", methods=["GET", "POST"])
@require_token("openid")
def userinfo() -> Response:
    claims = g.token_claims
    body = {"sub": claims["sub"]}
    if isinstance(claims.get(INTENT_CLAIM), str):
        body[INTENT_CLAIM] = claims[INTENT_CLAIM]
    return jsonify(body)
