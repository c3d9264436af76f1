"""Field-by-field validation of UK OB v4.0 request bodies, collecting every failure.

A TPP fixing a rejected request should learn every failing field at once (an
``OBErrorResponse1`` lists them all, each with its ``ErrorCode`` and JSON ``Path``), so the
walkers here record a problem and carry on instead of raising at the first one; the caller
raises once, with everything, through :meth:`Problems.raise_if_any`.

Paths follow the standard's examples: dotted member names from the body's root
(``Data.Initiation.InstructedAmount.Amount``), array items as ``[i]``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection
from typing import Any

from authserver.checks.identifiers import has_control_characters
from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.errors import FIELD_MISSING
from authserver.openbanking.errors import FIELD_UNEXPECTED
from authserver.openbanking.errors import INVALID_FORMAT
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request


class Problems:
    """Every failing field of one request, in the order found."""

    def __init__(self) -> None:
        self.errors: list[OBError] = []

    def add(self, code: str, message: str, path: str | None) -> None:
        self.errors.append(OBError(code, message, path))

    def raise_if_any(self) -> None:
        if self.errors:
            raise bad_request(*self.errors)


def join(path: str, member: str | int) -> str:
    if isinstance(member, int):
        return f"{path}[{member}]"
    return f"{path}.{member}" if path else member


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Two values for one member: which one would the consent page show, and which
            # one would be paid? Refuse rather than pick.
            raise ValueError("duplicate member")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_object(body: bytes | str) -> dict[str, Any]:
    """The body as a JSON object, or a 400 ``U010`` (Resource.InvalidFormat).

    Strict JSON: UTF-8, no duplicate members, no ``NaN``/``Infinity``, no lone surrogates.
    """
    try:
        value = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request(
            OBError(INVALID_FORMAT, "The body is not a valid JSON document.")
        ) from None
    if not isinstance(value, dict):
        raise bad_request(OBError(INVALID_FORMAT, "The body must be a JSON object."))
    try:
        # A ``\ud800`` escape decodes to a lone surrogate, which is no text (RFC 7493
        # §2.1): it could be neither compared, stored nor shown, so refuse it here.
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise bad_request(
            OBError(INVALID_FORMAT, "The body escapes a lone surrogate: not Unicode text.")
        ) from None
    return value


def members(
    problems: Problems,
    value: Any,
    path: str,
    *,
    required: Collection[str] = (),
    optional: Collection[str] = (),
) -> dict[str, Any] | None:
    """``value`` as an object with only the named members; every unknown member is ``U005``
    and every missing required one ``U004``. None (after recording ``U002``) if not an object."""
    if not isinstance(value, dict):
        problems.add(FIELD_INVALID, "Must be a JSON object.", path)
        return None
    allowed = set(required) | set(optional)
    for name in value:
        if name not in allowed:
            problems.add(FIELD_UNEXPECTED, "Unexpected field.", join(path, name))
    for name in required:
        if name not in value:
            problems.add(FIELD_MISSING, "Required field is missing.", join(path, name))
    return value


def has_invisible_formatting(text: str) -> bool:
    """Cf characters (bidi overrides such as U+202E, zero-width joiners): they would let a
    payee's name or a reference read differently on the consent page than it is."""
    return any(unicodedata.category(char) == "Cf" for char in text)


def is_printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def text(
    problems: Problems,
    value: Any,
    path: str,
    *,
    max_length: int,
    min_length: int = 1,
    ascii_only: bool = False,
) -> str | None:
    """A string within the standard's length; no control characters (a line break or NUL in
    a name would reach a bank's back office and the consent page), printable ASCII only when
    ``ascii_only``. None after recording ``U002`` otherwise."""
    if not isinstance(value, str):
        problems.add(FIELD_INVALID, "Must be a string.", path)
        return None
    if not min_length <= len(value) <= max_length:
        problems.add(FIELD_INVALID, f"Must be {min_length} to {max_length} characters long.", path)
        return None
    if ascii_only and not is_printable_ascii(value):
        problems.add(FIELD_INVALID, "Must be printable ASCII characters only.", path)
        return None
    if has_control_characters(value) or has_invisible_formatting(value):
        problems.add(FIELD_INVALID, "Must not contain control characters.", path)
        return None
    return value


def choice(problems: Problems, value: Any, path: str, allowed: Collection[str]) -> str | None:
    """One of the standard's enumerated codes; ``U002`` otherwise."""
    if not isinstance(value, str) or value not in allowed:
        problems.add(FIELD_INVALID, "Not one of the allowed values.", path)
        return None
    return value


def boolean(problems: Problems, value: Any, path: str) -> bool | None:
    if not isinstance(value, bool):
        problems.add(FIELD_INVALID, "Must be true or false.", path)
        return None
    return value


def items(problems: Problems, value: Any, path: str, *, max_items: int) -> list[Any]:
    """A JSON array of at most ``max_items``; ``[]`` after recording ``U002`` otherwise."""
    if not isinstance(value, list):
        problems.add(FIELD_INVALID, "Must be a JSON array.", path)
        return []
    if len(value) > max_items:
        problems.add(FIELD_INVALID, f"Must hold at most {max_items} items.", path)
        return []
    return value


def member_object(
    problems: Problems,
    parent: dict[str, Any] | None,
    name: str,
    *,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    path: str = "",
) -> dict[str, Any]:
    """``parent[name]`` checked as an object; ``{}`` when absent or not an object (the
    absence is reported by the parent's own check)."""
    if parent is None or name not in parent:
        return {}
    found = members(problems, parent[name], join(path, name), required=required, optional=optional)
    return found if found is not None else {}


def optional_text(
    problems: Problems,
    parent: dict[str, Any],
    path: str,
    name: str,
    max_length: int,
    *,
    ascii_only: bool = False,
    min_length: int = 1,
) -> str | None:
    if name not in parent:
        return None
    return text(
        problems,
        parent[name],
        join(path, name),
        max_length=max_length,
        min_length=min_length,
        ascii_only=ascii_only,
    )


def canonical_json(value: Any) -> str:
    """One text per JSON value (sorted members, no spaces, UTF-8 kept): two bodies that say
    the same thing compare equal, whatever their member order or white space."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
