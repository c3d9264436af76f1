"""Moved to ``tppkit`` (the one TPP kit); kept as a re-export so older imports still work."""

from tppkit import *  # noqa: F403
from tppkit import __all__  # noqa: F401
