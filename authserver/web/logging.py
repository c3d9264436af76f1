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


def setup_logging(level: str) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level, force=True)
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
