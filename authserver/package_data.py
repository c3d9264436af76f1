"""Files shipped inside the package (templates, static files, migrations).

They are found through ``importlib.resources`` so that an installed wheel works exactly
like a source checkout; nothing is looked up relative to the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(name: str) -> Path:
    """A directory shipped in the ``authserver`` package, as a real filesystem path.

    Flask and Alembic need real directories. A zipped install (zipimport) would give a
    non-filesystem resource; it is refused at start-up rather than failing page by page.
    """
    resource = files("authserver") / name
    if not isinstance(resource, Path) or not resource.is_dir():
        raise RuntimeError(f"authserver package data {name!r} is missing or not on disk")
    return resource
