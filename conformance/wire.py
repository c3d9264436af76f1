"""HTTP with every header field under the runner's control, for the DPoP checks.

``urllib`` capitalises header names (``DPoP`` goes out as ``Dpop``) and keeps one value
per name; ``http.client`` sends each field exactly as given, repeated names included,
and hands back every response field. No cookies and no redirects: the back channel
(PAR, token, resource) needs neither.
"""

from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass
from dataclasses import field

from tppkit import HttpResponse

Fields = list[tuple[str, str]]


@dataclass
class WireResponse(HttpResponse):
    """An ``HttpResponse`` (first value per name in ``headers``) plus every field as sent."""

    fields: Fields = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key.lower() == name.lower()]


class WireTransport:
    """A ``Transport`` over ``http.client``; ``send`` takes the exact header fields."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout

    def send(
        self, method: str, url: str, fields: Fields, body: bytes | None = None
    ) -> WireResponse:
        parts = urllib.parse.urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=self._timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in fields:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            received = [(str(k), str(v)) for k, v in response.getheaders()]
            data = response.read()
        finally:
            connection.close()
        first: dict[str, str] = {}
        for name, value in received:
            first.setdefault(name, value)
        return WireResponse(response.status, first, data, received)

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WireResponse:
        fields = list((headers or {}).items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            fields.append(("Content-Type", "application/x-www-form-urlencoded"))
        return self.send(method, url, fields, body)
