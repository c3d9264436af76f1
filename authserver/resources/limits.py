"""``@rate_limited(group)``: the OB endpoints' per-client budgets (issue 14 item 4).

Stacked under ``@require_token``, so the client is the verified token's ``client_id``;
a spent budget is 429 with an ``OBErrorResponse1`` (``ratelimit.errors``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec
from typing import TypeVar

from flask import g

from authserver.ratelimit.errors import ob_rate_limited
from authserver.resources.context import resource_services

P = ParamSpec("P")
R = TypeVar("R")


def rate_limited(group: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            svc = resource_services()
            limits = svc.rate_limits
            if limits is not None and limits.enabled and svc.client_tiers is not None:
                client_id = str(g.token_claims["client_id"])
                tier = svc.client_tiers.tier_of(client_id)
                limits.enforce(group, client_id, tier, ob_rate_limited)
            return view(*args, **kwargs)

        return wrapper

    return decorator
