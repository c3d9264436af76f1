"""Where and when a result was measured (commit, CPUs, Python, load before and after) and
the printed and JSON result every server benchmark writes to ``benchmarks/results/``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.harness.load import summarise
from benchmarks.harness.options import RESULTS
from benchmarks.harness.options import ROOT
from benchmarks.harness.options import Options
from benchmarks.harness.options import Outcome


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: other work on the same cores moves the numbers."""
    return [round(value, 2) for value in os.getloadavg()]


def machine(load_before: list[float]) -> dict[str, Any]:
    """Where a result was measured: CPUs, Python, and the load before and after."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_before": load_before[0],
        "load_average_1_5_15m_before": load_before,
        "load_average_1_5_15m_after": load_average(),
    }


def write_result(stem: str, run_id: str, result: dict[str, Any]) -> Path:
    """``benchmarks/results/<stem>-<UTC stamp>-<run id>.json`` (git-ignored); its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"{stem}-{stamp}-{run_id}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")
    return target


def report(
    *,
    benchmark: str,
    stem: str,
    run_id: str,
    options: Options,
    config: dict[str, Any],
    outcome: Outcome,
    load_before: list[float],
    ok_status: int = 200,
) -> int:
    """Print the result, write its JSON to benchmarks/results/; the exit status of the run."""
    summary = summarise(outcome, ok_status)
    machine_description = machine(load_before)
    result = {
        "benchmark": benchmark,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine_description,
        "config": {
            **{k: v for k, v in asdict(options).items() if not k.endswith("_url")},
            "server": "gunicorn" + (" gthread" if options.threads > 1 else " sync"),
            "backends": "PostgreSQL + Redis",
            **config,
        },
        "result": summary,
    }
    latency = summary["latency_ms"]
    measured_on = machine_description["load_average_1_5_15m_after"]
    print(
        f"load average (1/5/15 min) before {load_before}, after {measured_on} "
        f"on {os.cpu_count()} cpus\n"
        f"requests {summary['requests']}  errors {summary['errors']}  "
        f"connections {summary['connections_opened']}  wall {summary['wall_seconds']} s\n"
        + (f"statuses {summary['statuses']}\n" if summary["errors"] else "")
        + f"throughput {summary['throughput_rps']} req/s\n"
        f"latency ms  p50 {latency['p50']}  p90 {latency['p90']}  "
        f"p99 {latency['p99']}  max {latency['max']}"
    )
    write_result(stem, run_id, result)
    return 0 if summary["errors"] == 0 and summary["requests"] == options.requests else 1
