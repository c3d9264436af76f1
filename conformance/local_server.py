"""Moved to ``tppkit.local_server``; kept as a re-export so older imports still work."""

from tppkit.local_server import ROOT  # noqa: F401
from tppkit.local_server import ServerDidNotStartError  # noqa: F401
from tppkit.local_server import cli  # noqa: F401
from tppkit.local_server import free_port  # noqa: F401
from tppkit.local_server import serving  # noqa: F401
