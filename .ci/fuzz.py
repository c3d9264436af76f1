"""CI's bounded fuzz run (issue 14 item 6): schemathesis over /openapi.json and
hypothesis-generated bodies for /par, /token, /revoke and /introspect, against a real
app with real keys, tokens, DPoP proofs and request signatures (tests/fuzz/).

Derandomized: every run tries the same requests. Prints the requests tried per endpoint
and exits 1 on any finding: a 5xx, a stack trace in a body, or an unhandled exception.
Run from the repository root: ``.venv/bin/python .ci/fuzz.py [--examples N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz.forms_run import run_forms  # noqa: E402 - after the path is set
from tests.fuzz.openapi_run import run_openapi  # noqa: E402
from tests.fuzz.recorder import Recorder  # noqa: E402
from tests.fuzz.world import build_world  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=40, help="per operation and mode")
    parser.add_argument("--form-examples", type=int, default=300, help="per form endpoint")
    parser.add_argument("--database-url", default=None, help="a migrated database; SQLite else")
    parser.add_argument("--redis-url", default=None, help="the store; in-process else")
    options = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="authserver-fuzz-") as folder:
        world = build_world(Path(folder), options.database_url, options.redis_url)
        recorder = Recorder()
        recorder.watch(world.app)
        try:
            run_openapi(world, recorder, options.examples)
            run_forms(world, recorder, options.form_examples)
        finally:
            world.close()
    print(recorder.table())
    print(f"fuzz: {sum(recorder.requests.values())} requests in {time.monotonic() - started:.0f} s")
    for finding in recorder.findings:
        print("FINDING: " + finding, file=sys.stderr)
    return 1 if recorder.findings else 0


if __name__ == "__main__":
    sys.exit(main())
