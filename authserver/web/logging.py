"""Structured JSON logs with the request id on every line and secrets/PII masked (DATA-2)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from collections.abc import MutableMapping
from typing import Any

import structlog

from authserver.masking import mask


def _mask_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    masked: dict[str, Any] = mask(event_dict)
    return masked


_HANDLER_NAME = "authserver-json"


def setup_logging(level: str) -> None:
    """Idempotent: several apps in one process (tests, CLI) share one handler."""
    root = logging.getLogger()
    if not any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_event,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
