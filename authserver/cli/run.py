"""``authserver run``: the development server (use gunicorn in production)."""

from __future__ import annotations

import click

from authserver.cli.common import app_services
from authserver.cli.common import build_app


def banner(issuer: str) -> str:
    return "\n".join(
        [
            f"authserver listening; issuer {issuer}",
            f"  discovery: {issuer}/.well-known/openid-configuration",
            f"  jwks:      {issuer}/jwks",
            f"  health:    {issuer}/healthz  readiness: {issuer}/readyz",
        ]
    )


@click.command()
@click.option("--host", default=None, help="Defaults to AUTHSERVER_LISTEN_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Defaults to AUTHSERVER_LISTEN_PORT (5000).")
def run(host: str | None, port: int | None) -> None:
    """Serve on 127.0.0.1 with Werkzeug's development server."""
    with app_services() as svc:
        svc.keys.ensure_keys()
        settings = svc.settings
    app = build_app()
    click.echo(banner(settings.issuer))
    app.run(
        host=host or settings.listen_host,
        port=port or settings.listen_port,
        threaded=True,
        use_reloader=False,
    )
