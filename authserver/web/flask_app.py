"""The Flask class both apps (the authorization server and ``authserver.rs``) are built on.

Flask's per-request machinery runs on every call, including the hottest ones (``/token``,
``/introspect``, ``/jwks``), so the two pieces of it that cost a measurable share of those
and change nothing we use are trimmed here (issue 15, "less framework per request"):

- ``ensure_sync`` asks ``inspect.iscoroutinefunction`` of every hook on every request (a
  dozen times a request); a function's answer never changes, so it is remembered.
- The session interface builds an itsdangerous serializer on every request before it
  looks for the cookie; a request without the session cookie (every API call) gets the
  same empty session without it.

Unhandled errors are logged once, as JSON, by our 500 handler, not by Flask as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask import Request
from flask.sessions import SecureCookieSession
from flask.sessions import SecureCookieSessionInterface


class CookieFirstSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without the serializer when there is no cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            # What Flask answers here too: no session without a secret key (a null
            # session then), else a new, empty one.
            return None if not app.secret_key else self.session_class()
        return super().open_session(app, request)


class LeanFlask(Flask):
    session_interface = CookieFirstSessionInterface()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._synced[func]
        except KeyError:
            synced = self._synced[func] = super().ensure_sync(func)
            return synced
        except TypeError:  # an unhashable callable: asked each time, as Flask does
            return super().ensure_sync(func)

    def log_exception(self, exc_info: Any) -> None:
        return None
