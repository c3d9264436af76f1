"""The user directory: the protocol floor's only question about end users.

Bulk revocation by user must tell a missing user from an existing one; ``sca/``
implements this Protocol so the protocol floor never imports ``sca.models``.
"""

from __future__ import annotations

from typing import Protocol


class UserDirectory(Protocol):
    def exists(self, user_id: str) -> bool:
        """True when a user with this id is registered (enabled or not)."""
