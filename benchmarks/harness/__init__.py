"""The benchmark harness every server benchmark shares (see the modules for the parts):

- ``options``: command-line options and the validity windows that bound a run;
- ``server``: throw-away PostgreSQL database and Redis prefix, BENCH-ONLY clients through
  the CLI, gunicorn awaited until ready;
- ``load``: requests signed up front, the driver threads, percentiles;
- ``results``: the machine and load description and the printed and JSON result;
- ``wrk``: requests rendered to raw HTTP and replayed once each by ``wrk`` (``replay.lua``);
- ``cpu``: a server's CPU time (its processes' utime + stime) from ``/proc``.
"""

from benchmarks.harness.load import drive
from benchmarks.harness.load import fetch_nonce
from benchmarks.harness.load import percentile
from benchmarks.harness.load import summarise
from benchmarks.harness.load import warm_up_and_run
from benchmarks.harness.options import ASSERTION_LIFETIME
from benchmarks.harness.options import LOOPBACK
from benchmarks.harness.options import RESULTS
from benchmarks.harness.options import ROOT
from benchmarks.harness.options import Options
from benchmarks.harness.options import Outcome
from benchmarks.harness.options import Prepared
from benchmarks.harness.options import add_backend_arguments
from benchmarks.harness.options import checked_options
from benchmarks.harness.options import server_arguments
from benchmarks.harness.results import git_commit
from benchmarks.harness.results import load_average
from benchmarks.harness.results import machine
from benchmarks.harness.results import report
from benchmarks.harness.results import write_result
from benchmarks.harness.server import Run
from benchmarks.harness.server import backends
from benchmarks.harness.server import bench_run
from benchmarks.harness.server import gunicorn
from benchmarks.harness.server import register_client
from benchmarks.harness.server import run_cli

__all__ = [
    "ASSERTION_LIFETIME",
    "LOOPBACK",
    "RESULTS",
    "ROOT",
    "Options",
    "Outcome",
    "Prepared",
    "Run",
    "add_backend_arguments",
    "backends",
    "bench_run",
    "checked_options",
    "drive",
    "fetch_nonce",
    "gunicorn",
    "git_commit",
    "load_average",
    "machine",
    "percentile",
    "register_client",
    "report",
    "run_cli",
    "server_arguments",
    "summarise",
    "warm_up_and_run",
    "write_result",
]
