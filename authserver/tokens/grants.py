"""The three grant handlers: authorization_code (+PKCE), refresh_token (rotation),
client_credentials; ``tokens.registry`` maps grant types to them and runs their checks first.

Each receives the request's verified DPoP proof (or None): a proof binds the new access
token to its key (RFC 9449 §5, ``cnf.jkt``); without one the token is a Bearer token.
Each also receives its collaborators as one ``GrantServices`` value (the app's services
satisfy it), so this module never imports the app context; consents are asked through
the consent gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Protocol

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentGate
from authserver.checks.errors import InvalidScopeError
from authserver.clients.models import Client
from authserver.db import db
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.proof import DPoPProof
from authserver.errors import request_id
from authserver.pkce import verifier_matches
from authserver.tokens.access_token import AccessTokenIssuer
from authserver.tokens.access_token import TokenSubject
from authserver.tokens.codes import CodeGrant
from authserver.tokens.codes import CodeReplayedError
from authserver.tokens.codes import CodeStore
from authserver.tokens.errors import InvalidGrantError
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.models import RefreshToken
from authserver.tokens.refresh import RefreshTokenService

TokenResponse = dict[str, Any]


class GrantServices(Protocol):
    """What the grants use; ``context.Services`` provides it."""

    @property
    def codes(self) -> CodeStore: ...
    @property
    def ledger(self) -> AccessTokenLedger: ...
    @property
    def refresh(self) -> RefreshTokenService: ...
    @property
    def audit(self) -> AuditTrail: ...
    @property
    def consents(self) -> ConsentGate: ...
    @property
    def tokens(self) -> AccessTokenIssuer: ...


Grant = Callable[[GrantServices, Client, dict[str, str], DPoPProof | None], TokenResponse]


def _stage_issued(svc: GrantServices, client: Client, grant_type: str, body: TokenResponse) -> None:
    """Add the ``token.issued`` event to the unit of work that records the token, so the
    ledger row and its audit row reach the database in one commit (issue 15); a Core
    INSERT, as nothing reads the row back."""
    svc.audit.append(
        "token.issued",
        actor=f"client:{client.client_id}",
        resource=f"client:{client.client_id}",
        changes={
            "grant_type": grant_type,
            "scope": body.get("scope", ""),
            "token_type": body.get("token_type", ""),
        },
        request_id=request_id(),
        commit=False,
    )


def _bound_key(proof: DPoPProof | None) -> str | None:
    return proof.jkt if proof is not None else None


def _redeem(svc: GrantServices, client: Client, form: dict[str, str]) -> CodeGrant:
    try:
        # tokens.registry has checked that ``code`` is present.
        grant = svc.codes.redeem(form["code"])
    except CodeReplayedError as replay:
        # RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it.
        svc.ledger.revoke_code(replay.code_identifier)
        if replay.family_id:
            svc.refresh.revoke_family(replay.family_id, reason="authorization_code_replay")
        svc.audit.record(
            "code.replayed",
            actor=f"client:{client.client_id}",
            resource="authorization_code",
            outcome="failure",
            request_id=request_id(),
        )
        raise
    if grant.client_id != client.client_id or form.get("redirect_uri") != grant.redirect_uri:
        raise InvalidGrantError()
    verifier = form.get("code_verifier")
    if grant.code_challenge is None:
        # RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade.
        if verifier:
            raise InvalidGrantError()
    # RFC 7636 §4.6 and FAPI CT: a missing or wrong verifier is invalid_grant.
    elif not verifier_matches(verifier, grant.code_challenge):
        raise InvalidGrantError()
    if not svc.consents.is_live(grant.consent_id, client.client_id):
        raise InvalidGrantError()
    return grant


def _check_code_binding(grant: CodeGrant, proof: DPoPProof | None) -> None:
    """RFC 9449 §10: a code bound to a key (dpop_jkt or the PAR proof) needs a proof by it."""
    if grant.dpop_jkt is None:
        return
    if proof is None:
        raise InvalidDPoPProofError("This authorization code is bound to a DPoP key.")
    if proof.jkt != grant.dpop_jkt:
        raise InvalidGrantError()


def authorization_code(
    svc: GrantServices, client: Client, form: dict[str, str], proof: DPoPProof | None
) -> TokenResponse:
    grant = _redeem(svc, client, form)
    _check_code_binding(grant, proof)
    scope = " ".join(grant.scopes)
    refresh_token = family_id = None
    if "refresh_token" in client.grant_types:
        refresh_token, row = svc.refresh.issue(
            client_id=client.client_id,
            user_id=grant.user_id,
            consent_id=grant.consent_id,
            scope=scope,
            auth_time=None,
            # Marks the family as DPoP: its refreshes need a proof (not this key, §5).
            dpop_jkt=_bound_key(proof),
            intent_claims=grant.intent_claims,
            authorization_details=grant.authorization_details,
            amr=grant.amr,
            acr=grant.acr,
        )
        family_id = row.family_id
    subject = TokenSubject(
        sub=grant.user_id,
        scopes=grant.scopes,
        user_id=grant.user_id,
        consent_id=grant.consent_id,
        family_id=family_id,
        code_id=grant.code_id,
        auth_time=grant.auth_time,
        dpop_jkt=_bound_key(proof),
        intent_id=grant.consent_id if "userinfo" in grant.intent_claims else None,
        authorization_details=grant.authorization_details,
        amr=grant.amr,
        acr=grant.acr,
    )
    body = svc.tokens.issue(client, subject)
    if refresh_token:
        body["refresh_token"] = refresh_token
    if "openid" in grant.scopes:
        body["id_token"] = svc.tokens.issue_id_token(
            client,
            subject,
            access_token=body["access_token"],
            nonce=grant.nonce,
            intent_id=grant.consent_id if "id_token" in grant.intent_claims else None,
        )
    _stage_issued(svc, client, "authorization_code", body)
    db.session.commit()
    svc.codes.remember_issued(grant.code_id, family_id)
    return body


def refresh_token(
    svc: GrantServices, client: Client, form: dict[str, str], proof: DPoPProof | None
) -> TokenResponse:
    token = form["refresh_token"]  # present: checked by tokens.registry

    def mint(row: RefreshToken) -> TokenResponse:
        # RFC 9449 §5: a confidential client's refresh token is bound to the client, not
        # to a key, so any proof of the client will do; but a family that started with
        # DPoP never falls back to Bearer (FAPI CT refresh-token: no PoP → error). Raising
        # here rolls the rotation back, so the refresh token stays usable.
        if row.dpop_jkt is not None and proof is None:
            raise InvalidDPoPProofError("This refresh token needs a DPoP proof.")
        if row.consent_id and not svc.consents.is_live(row.consent_id, client.client_id):
            raise InvalidGrantError()
        subject = TokenSubject(
            sub=row.user_id or client.client_id,
            scopes=tuple(row.scope.split()),
            user_id=row.user_id,
            consent_id=row.consent_id,
            family_id=row.family_id,
            dpop_jkt=_bound_key(proof),
            intent_id=row.consent_id if "userinfo" in (row.intent_claims or ()) else None,
            authorization_details=tuple(row.authorization_details or ()),
            amr=tuple(row.amr or ()),
            acr=row.acr,
        )
        return svc.tokens.issue(client, subject)

    staged: list[bool] = []

    def stage(response: TokenResponse) -> None:
        _stage_issued(svc, client, "refresh_token", response)
        staged.append(True)

    body = svc.refresh.rotate(
        token, client.client_id, mint, jkt=_bound_key(proof), before_commit=stage
    )
    if not staged:
        # A retry within the grace period, answered with the rotation's response: nothing
        # new was written, but the answer is still an issuance the trail records.
        _stage_issued(svc, client, "refresh_token", body)
        db.session.commit()
    return body


def client_credentials(
    svc: GrantServices, client: Client, form: dict[str, str], proof: DPoPProof | None
) -> TokenResponse:
    allowed = [scope for scope in client.scopes if scope != "openid"]
    requested = form.get("scope", "").split() or allowed
    if not requested or any(scope not in allowed for scope in requested):
        raise InvalidScopeError()
    subject = TokenSubject(
        sub=client.client_id,
        scopes=tuple(dict.fromkeys(requested)),
        dpop_jkt=_bound_key(proof),
    )
    body = svc.tokens.issue(client, subject)
    _stage_issued(svc, client, "client_credentials", body)
    db.session.commit()
    return body
