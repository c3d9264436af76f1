"""``authserver run``: the development server (use gunicorn in production)."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

from authserver import create_app
from authserver.cli.common import app_services
from authserver.settings import Settings
from authserver.settings import load_settings

_WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - names, compared against --host


def banner(issuer: str) -> str:
    return "\n".join(
        [
            f"authserver listening; issuer {issuer}",
            f"  discovery: {issuer}/.well-known/openid-configuration",
            f"  jwks:      {issuer}/jwks",
            f"  health:    {issuer}/healthz  readiness: {issuer}/readyz",
        ]
    )


def _issuer_settings(host: str, port: int) -> Settings:
    """The settings to serve with: an unset issuer follows the address actually served.

    An issuer that names another port than the one listened on makes every discovery
    document and token point elsewhere, so it is derived when unset, and a configured
    one that disagrees is kept (it may sit behind a proxy) but named in a warning.
    """
    settings = load_settings()
    if "issuer" not in settings.model_fields_set:
        shown = "127.0.0.1" if host in _WILDCARDS else host
        return load_settings(issuer=f"http://{shown}:{port}")
    parts = urlsplit(settings.issuer)
    issuer_port = parts.port or (443 if parts.scheme == "https" else 80)
    same_host = host in _WILDCARDS or parts.hostname == host
    if issuer_port != port or not same_host:
        click.echo(
            f"authserver: warning: AUTHSERVER_ISSUER is {settings.issuer} but this server "
            f"listens on {host}:{port}; clients will be sent to the issuer",
            err=True,
        )
    return settings


@click.command()
@click.option("--host", default=None, help="Defaults to AUTHSERVER_LISTEN_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Defaults to AUTHSERVER_LISTEN_PORT (5000).")
def run(host: str | None, port: int | None) -> None:
    """Serve with Werkzeug's development server; the issuer follows --host/--port if unset."""
    configured = load_settings()
    host = host or configured.listen_host
    port = port or configured.listen_port
    settings = _issuer_settings(host, port)
    with app_services(settings=settings) as svc:
        svc.keys.ensure_keys()
    app = create_app(settings)  # not build_app: a server keeps its JSON logs
    click.echo(banner(settings.issuer))
    app.run(host=host, port=port, threaded=True, use_reloader=False)
