"""The ``authserver`` command: operators' and scripts' way in.

Every command takes ``--json`` for scripts; a bad setting exits 2 with one line,
an invalid request or an expected failure (database or store unreachable, unknown
revision, unwritable path) exits 1 with one line on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from authserver.cli.audit import audit
from authserver.cli.clients import clients
from authserver.cli.consents import consents
from authserver.cli.db import db_group
from authserver.cli.demo import demo
from authserver.cli.failures import EXPECTED
from authserver.cli.failures import describe
from authserver.cli.keys import keys
from authserver.cli.revoke import revoke
from authserver.cli.run import run
from authserver.cli.users import users
from authserver.cli.webhooks import webhooks
from authserver.settings import SettingsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="authserver", prog_name="authserver")
@click.option("--verbose", is_flag=True, help="Also show Alembic's progress messages.")
def cli(verbose: bool) -> None:
    """authserver: FAPI 2.0 authorization server for open banking."""
    # Alembic logs "Context impl ..." at INFO on every database touch; it is noise
    # for an operator unless they asked for it.
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)


for command in (run, db_group, demo, clients, consents, users, keys, audit, revoke, webhooks):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except SettingsError as exc:
        click.echo(f"authserver: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except EXPECTED as exc:
        click.echo(f"authserver: {describe(exc)}", err=True)
        sys.exit(1)
