"""The user directory (``checks/user_directory.py``) over the users table, read-only.

Separate from ``UserService`` (which opens TOTP secrets under the master key) so a
resource server process can answer "does this user exist" for bulk revocation
without the master key or any login code.
"""

from __future__ import annotations

from authserver.db import db
from authserver.sca.models import User


class SqlUserDirectory:
    def exists(self, user_id: str) -> bool:
        return db.session.get(User, user_id) is not None
