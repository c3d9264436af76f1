"""``python -m conformance --issuer URL --config FILE [--only NAME ...]``.

Exit status: 0 when no module failed, 1 when one did, 2 for a bad configuration.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from joserfc.errors import SecurityWarning

from conformance.config import ConfigError
from conformance.config import load_config
from conformance.modules import MODULES
from conformance.runner import FAIL
from conformance.runner import run
from conformance.runner import select


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Black-box FAPI 2.0 conformance checks against a running authserver.",
    )
    parser.add_argument("--issuer", help="The server's issuer identifier.")
    parser.add_argument("--config", type=Path, help="Clients, keys and user (JSON).")
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="Run only these modules (names or table numbers).",
    )
    parser.add_argument(
        "--without-duplicates",
        action="store_true",
        help="Send only client_id and request_uri to /authorize in every module (the OIDF "
        "suite also repeats response_type, scope and redirect_uri, except in #75).",
    )
    parser.add_argument("--list", action="store_true", help="List the modules and exit.")
    args = parser.parse_args(argv)
    if not args.list and not (args.issuer and args.config):
        parser.error("--issuer and --config are required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for module in MODULES:
            print(module.label)
        return 0
    # FAPI 2.0 §5.4 names EdDSA (Ed25519); joserfc warns that RFC 9864 renamed it.
    warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
    try:
        config = load_config(args.config)
        modules = select(MODULES, args.only)
    except (ConfigError, ValueError) as error:
        print(f"conformance: {error}", file=sys.stderr)
        return 2
    results = run(args.issuer, config, modules, duplicates=not args.without_duplicates)
    return 1 if any(result.status == FAIL for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
