"""Identifiers from the wire (client_id, consent ids, user ids) checked before any query.

PostgreSQL refuses NUL in text and psycopg cannot encode lone surrogates, so such a value
reaching a query would be a 500; control characters are never part of an identifier we
issue (RFC 6749 §A.1: client_id is VSCHAR, printable ASCII; our ids are UUIDs or
operator-chosen names). Every boundary asks ``is_identifier`` and answers with its own
OAuth error, so the query never runs.
"""

from __future__ import annotations

import unicodedata

MAX_IDENTIFIER_LENGTH = 255

# Cc: C0/C1 controls and DEL (NUL among them); Cs: lone surrogates (no UTF-8 encoding).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds a character no text column can safely store."""
    return any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value)


def is_identifier(value: object, *, max_length: int = MAX_IDENTIFIER_LENGTH) -> bool:
    """A non-empty string of bounded length without control characters or surrogates."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and not has_control_characters(value)
    )
