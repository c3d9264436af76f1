"""``OBErrorResponse1`` bodies (UK OB v4.0) and the one exception that carries them.

Codes are v4.0's four-character ``OBExternalStatusReason1Code`` values from the
``OB_Internal_CodeSet`` (OpenBankingUK/External_Internal_CodeSets): ``U001``–``U029``
for 4xx, ``U000`` for 5xx. ``Message`` texts are ours and never echo input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIELD_EXPECTED = "U001"  # UK.OBIE.Field.Expected
FIELD_INVALID = "U002"  # UK.OBIE.Field.Invalid
FIELD_INVALID_DATE = "U003"  # UK.OBIE.Field.InvalidDate
FIELD_MISSING = "U004"  # UK.OBIE.Field.Missing
FIELD_UNEXPECTED = "U005"  # UK.OBIE.Field.Unexpected
HEADER_INVALID = "U006"  # UK.OBIE.Header.Invalid
HEADER_MISSING = "U007"  # UK.OBIE.Header.Missing
CONSENT_MISMATCH = "U008"  # UK.OBIE.Resource.ConsentMismatch
INVALID_CONSENT_STATUS = "U009"  # UK.OBIE.Resource.InvalidConsentStatus
INVALID_FORMAT = "U010"  # UK.OBIE.Resource.InvalidFormat
RESOURCE_NOT_FOUND = "U011"  # UK.OBIE.Resource.NotFound
UNSUPPORTED_CURRENCY = "U023"  # UK.OBIE.Unsupported.Currency
UNSUPPORTED_SCHEME = "U027"  # UK.OBIE.Unsupported.Scheme
REAUTHENTICATE = "U028"  # UK.OBIE.Reauthenticate (403)
RESOURCE_EXISTS = "U029"  # UK.OBIE.Rules.ResourceAlreadyExists (409)
UNEXPECTED_ERROR = "U000"  # UK.OBIE.UnexpectedError (5xx)
OTHER_REASON = "U042"  # UK.OBIE.OtherReason (our 429 body; the standard gives 429 none)


@dataclass(frozen=True)
class OBError:
    """One ``OBError1``: the code, a fixed message, and the JSON path of the field."""

    code: str
    message: str
    path: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"ErrorCode": self.code, "Message": self.message}
        if self.path is not None:
            body["Path"] = safe_path(self.path)
        return body


MAX_PATH = 500  # OBError1.Path maxLength


def safe_path(path: str) -> str:
    """A path may name a field the TPP invented: render it as printable ASCII within the
    standard's 500 characters, so a hostile name cannot break the body or a log line."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in path)
    if len(printable) <= MAX_PATH:
        return printable
    return printable[: MAX_PATH - 3] + "..."


class OBErrorResponse(Exception):  # noqa: N818 -- named after the wire type it renders
    """Raise anywhere under ``/open-banking``; ``openbanking.envelope`` renders it."""

    def __init__(self, status: int, errors: list[OBError]) -> None:
        if not errors:
            raise ValueError("an OBErrorResponse1 lists at least one error")
        super().__init__(f"{status}: " + ", ".join(e.code for e in errors))
        self.status = status
        self.errors = tuple(errors)

    def to_json(self) -> dict[str, Any]:
        return {"Errors": [error.to_json() for error in self.errors]}


def bad_request(*errors: OBError) -> OBErrorResponse:
    return OBErrorResponse(400, list(errors))


def forbidden(code: str, message: str, path: str | None = None) -> OBErrorResponse:
    return OBErrorResponse(403, [OBError(code, message, path)])


def not_found(message: str = "No such resource.") -> OBErrorResponse:
    return OBErrorResponse(404, [OBError(RESOURCE_NOT_FOUND, message)])
