"""Everything the package reads at run time is shipped in the wheel (setup.cfg package_data).

A template, static file or migration outside those patterns works from a checkout and
fails from an installed wheel; CI's wheel step catches it too, this catches it early.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from authserver.package_data import package_path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "authserver"


def _shipped() -> set[Path]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = config["options.package_data"]["authserver"].split()
    return {path for pattern in patterns for path in PACKAGE.glob(pattern) if path.is_file()}


def test_every_data_file_is_shipped() -> None:
    data = {
        path
        for folder in ("templates", "static", "migrations")
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert data - _shipped() == set()


def test_data_folders_are_found_through_the_package() -> None:
    for name in ("templates", "static", "migrations"):
        assert package_path(name) == PACKAGE / name
