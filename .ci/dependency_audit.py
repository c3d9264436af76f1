"""CI step: pip-audit on the installed dependencies, never passing silently.

pip-audit asks PyPI's JSON API for advisories. Where that source cannot be reached (a
closed network, a mirror without the JSON API), pip-audit reports every package as
"not found" and still exits 0; this step says so plainly instead. A known vulnerability
fails CI; an audit that could not run is reported, not failed, because this machine
cannot reach the advisory source and CI must be reproducible here.
"""

from __future__ import annotations

import json
import subprocess
import sys

TIMEOUT_SECONDS = 300


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--progress-spinner",
        "off",
        "--skip-editable",
        "--format",
        "json",
    ]
    try:
        result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"pip-audit: NOT RUN, the advisory source did not answer in {TIMEOUT_SECONDS} s")
        return 0
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = (result.stderr or "").strip().splitlines()[-1:] or ["no output"]
        print(f"pip-audit: NOT RUN, the advisory source could not be reached ({tail[0]})")
        return 0
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if dependencies and not audited:
        print(
            f"pip-audit: NOT AUDITED, the advisory source answered for none of the "
            f"{len(dependencies)} installed dependencies (unreachable from this machine)"
        )
        return 0
    for dep in vulnerable:
        ids = ", ".join(v.get("id", "?") for v in dep["vulns"])
        print(f"pip-audit: {dep['name']} {dep.get('version', '?')} is vulnerable: {ids}")
    print(
        f"pip-audit: {len(audited)} dependencies audited, {len(skipped)} could not be, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
