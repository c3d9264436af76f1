"""What a fuzz run saw: requests per endpoint, and every finding (a 5xx, a stack trace in a
body, or an exception Flask caught on its way to a 500)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Flask
from flask import got_request_exception
from werkzeug.test import TestResponse

TRACE_MARKERS = (b"Traceback (most recent call last)", b'File "/')


@dataclass
class Recorder:
    requests: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)
    """2xx answers: how often generated input got past validation to the real work."""
    findings: list[str] = field(default_factory=list)

    def watch(self, app: Flask) -> None:
        """Collect exceptions Flask hands to its 500 handler (nothing else sees them)."""
        got_request_exception.connect(self._on_exception, app, weak=False)

    def _on_exception(self, sender: Any, exception: BaseException, **_: Any) -> None:
        self.findings.append(f"unhandled {type(exception).__name__}: {exception!s:.200}")

    def record(self, endpoint: str, response: TestResponse, sent: str) -> None:
        self.requests[endpoint] += 1
        body = response.get_data()
        if response.status_code < 300:
            self.successes[endpoint] += 1
        if response.status_code >= 500:
            # Even 503 (our fail-closed answer) is a finding: no backend is down here.
            self.server_errors[endpoint] += 1
            self.findings.append(f"{endpoint} -> {response.status_code} for {sent:.300}")
        if any(marker in body for marker in TRACE_MARKERS):
            self.findings.append(f"{endpoint}: a stack trace in the body for {sent:.300}")

    def table(self) -> str:
        width = max((len(name) for name in self.requests), default=8)
        lines = [f"{'endpoint':{width}}  requests   2xx  5xx"]
        for name in sorted(self.requests):
            counts = self.requests[name], self.successes[name], self.server_errors[name]
            lines.append(f"{name:{width}}  {counts[0]:8d}  {counts[1]:4d}  {counts[2]:3d}")
        totals = (sum(c.values()) for c in (self.requests, self.successes, self.server_errors))
        total, ok, errors = totals
        lines.append(f"{'total':{width}}  {total:8d}  {ok:4d}  {errors:3d}")
        return "\n".join(lines)
