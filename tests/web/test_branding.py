"""One layout for the pages people see: the bank's name and logo from the settings, a skip
link, a strict CSP, and nothing loaded from another origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver import create_app
from authserver.clock import FrozenClock
from authserver.context import services
from authserver.db import db
from authserver.settings import SettingsError

PAGES = ("/", "/login", "/login/done")
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>'
)


@pytest.fixture
def branded(make_settings: Any, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    logo = tmp_path / "northwind.svg"
    logo.write_bytes(LOGO)
    application = create_app(
        make_settings(branding={"name": "Northwind Bank", "logo_path": str(logo)}), clock=clock
    )
    yield application
    # As the ``app`` fixture: no pooled connection outlives the test (PostgreSQL warns).
    services(application).revocation_view.close()
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_banks_name_logo_and_skip_link(branded: Flask, path: str) -> None:
    page = branded.test_client().get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Northwind Bank" in html
    assert re.search(r"<title>[^<]*Northwind Bank</title>", html)
    assert 'src="/branding/logo"' in html
    assert '<a class="skip-link" href="#main">' in html
    assert 'id="main"' in html


def test_the_configured_logo_is_served_by_us(branded: Flask) -> None:
    logo = branded.test_client().get("/branding/logo")
    assert logo.status_code == 200
    assert logo.data == LOGO
    assert logo.mimetype == "image/svg+xml"
    assert logo.headers["Cache-Control"] == "public, max-age=3600"


def test_the_packaged_logo_is_the_default(client: FlaskClient) -> None:
    logo = client.get("/branding/logo")
    assert logo.status_code == 200
    assert logo.mimetype == "image/svg+xml"
    assert b"<svg" in logo.data


@pytest.mark.parametrize("path", [*PAGES, "/account/consents/x/withdraw"])
def test_pages_reference_only_our_own_origin_under_a_strict_csp(
    client: FlaskClient, path: str
) -> None:
    page = client.get(path, follow_redirects=True)
    html = page.get_data(as_text=True)
    # Every src/href is a path on this server (no scheme, no protocol-relative //host).
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url.startswith("/") and not url.startswith("//") or url.startswith("#"), url
    directives = [d.strip() for d in page.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'self'" in directives
    assert "base-uri 'none'" in directives
    assert "object-src 'none'" in directives
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in directives)
    assert "style=" not in html  # no inline styles: the CSP would refuse them


@pytest.mark.parametrize("logo", ["logo.gif", "missing.svg"])
def test_a_logo_that_is_not_an_svg_or_png_file_stops_the_start(
    make_settings: Any, tmp_path: Path, logo: str
) -> None:
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    with pytest.raises(SettingsError, match="(?i)logo_path"):
        make_settings(branding={"logo_path": str(tmp_path / logo)})
