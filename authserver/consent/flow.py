"""Finishing an authorization once the user decided: consume the pushed request, record the
consent, issue the code (or access_denied) and answer the client in its response mode."""

from __future__ import annotations

from werkzeug.wrappers import Response

from authserver.clients.models import Client
from authserver.context import Services
from authserver.errors import request_id
from authserver.experience import experience
from authserver.jarm.response import authorization_response
from authserver.sca import session as user_session
from authserver.sca.session import Pending
from authserver.tokens.codes import CodeGrant


def finish_authorization(
    svc: Services, client: Client, pending: Pending, user_id: str, *, approved: bool
) -> Response:
    # FAPI 2.0 note 3: the request_uri is spent when authorization completes, not before.
    authorization = svc.par.consume(pending.request_uri, pending.client_id)
    user_session.clear_pending()
    consent = experience().consents.decide(
        user_id=user_id,
        client_id=client.client_id,
        scopes=list(authorization.scopes),
        approved=approved,
        request_id=request_id(),
    )
    if approved:
        now = svc.clock.time()
        code = svc.codes.issue(
            CodeGrant(
                client_id=client.client_id,
                redirect_uri=authorization.redirect_uri,
                code_challenge=authorization.code_challenge,
                scopes=authorization.scopes,
                user_id=user_id,
                consent_id=consent.id,
                auth_time=float(user_session.auth_time() or now),
                issued_at=now,
                nonce=authorization.nonce,
                dpop_jkt=authorization.dpop_jkt,
            )
        )
        svc.audit.record(
            "code.issued",
            actor=f"user:{user_id}",
            resource=f"client:{client.client_id}",
            changes={"consent_id": consent.id, "scopes": list(authorization.scopes)},
            request_id=request_id(),
        )
        params = {"code": code}
    else:
        params = {"error": "access_denied", "error_description": "The user denied the request."}
    if authorization.state is not None:
        params["state"] = authorization.state
    return authorization_response(
        authorization.redirect_uri,
        authorization.response_mode,
        params,
        client,
        keys=svc.keys,
        issuer=svc.settings.issuer,
        policy=svc.policy,
        now=svc.clock.time(),
    )
