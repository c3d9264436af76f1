"""HTTP for a TPP: the ``Transport`` protocol and a real urllib client (loopback only here).

The conformance runner and the benchmarks drive a live server through ``UrllibTransport``;
the test suite drives the Flask test client through the same protocol
(``tests.flow_fixtures.FlaskTransport``).
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any
from typing import Protocol


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", self.headers.get("location", ""))


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        """One request, never following redirects; cookies are kept between calls."""
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """Real HTTP to a live server (loopback only in this project's runs)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self._timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        """``json_body`` (this transport only) sends a JSON document instead of a form."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        if json_body is not None:
            data = json.dumps(json_body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        if json_body is not None:
            req.add_header("Content-Type", "application/json")
        elif data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(req, timeout=self._timeout) as resp:
                return HttpResponse(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return HttpResponse(err.code, dict(err.headers), err.read())
