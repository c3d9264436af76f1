"""Expected failures of the ``authserver`` command, each as one line for the operator.

An operator who mistypes a revision or whose database is down needs the cause, not
a hundred lines of traceback. Only failures an operator can fix are listed here; a
bug still shows its traceback.
"""

from __future__ import annotations

from alembic.util import CommandError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError

from authserver.store import StoreUnavailableError

EXPECTED = (
    OperationalError,
    InterfaceError,
    StoreUnavailableError,
    RedisConnectionError,
    RedisTimeoutError,
    CommandError,
    OSError,
)


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else "unknown error"


def describe(exc: BaseException) -> str:
    """One line naming what failed and where to look; never a secret or a URL password."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The driver's own first line ("connection to server at ... failed: Connection
        # refused") names host and port but never the password; SQLAlchemy's str() adds
        # the statement and a background link, which an operator does not need.
        return f"the database cannot be used (AUTHSERVER_DATABASE_URL): {_first_line(exc.orig)}"
    if isinstance(exc, StoreUnavailableError | RedisConnectionError | RedisTimeoutError):
        return "the store cannot be reached (AUTHSERVER_REDIS_URL)"
    if isinstance(exc, CommandError):
        return f"migration failed: {_first_line(exc)}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _first_line(exc)}{where}"
    return _first_line(exc)
