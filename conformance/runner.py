"""Run the selected modules one after another and print one table line per module.

A module returns a short note (PASS), raises ``Skip`` (SKIPPED) or anything else
(FAIL, with the message). The last line is always ``N passed, M failed, K skipped``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from conformance.config import Config
from conformance.context import Context
from conformance.context import Skip

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"
NAME_WIDTH = 78
REASON_LIMIT = 300

Run = Callable[[Context], str | None]


@dataclass(frozen=True)
class Module:
    """One module of the FAPI 2.0 test plan (``number`` from its table), or a variant of one."""

    number: int
    name: str
    run: Run | None = None
    skip: str = ""

    @property
    def label(self) -> str:
        return f"{self.number:>2} {self.name}"


@dataclass(frozen=True)
class Result:
    module: Module
    status: str
    reason: str


def execute(module: Module, ctx: Context) -> Result:
    if module.run is None:
        return Result(module, SKIPPED, module.skip)
    try:
        note = module.run(ctx)
    except Skip as skipped:
        return Result(module, SKIPPED, str(skipped))
    except AssertionError as failed:
        return Result(module, FAIL, str(failed) or "assertion failed")
    except OSError as error:
        return Result(module, FAIL, f"network error: {error}")
    except Exception as error:  # a module bug or a server answer it could not parse
        return Result(module, FAIL, f"{type(error).__name__}: {error}")
    return Result(module, PASS, note or "")


def select(modules: Iterable[Module], only: list[str] | None) -> list[Module]:
    """All modules, or those named in ``only`` (by name or table number)."""
    everything = list(modules)
    if not only:
        return everything
    chosen = [m for m in everything if m.name in only or str(m.number) in only]
    known = {m.name for m in everything} | {str(m.number) for m in everything}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(f"unknown module(s): {', '.join(unknown)}")
    return chosen


def line(result: Result) -> str:
    reason = " ".join(result.reason.split())
    if len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 1] + "…"
    return f"{result.module.label:<{NAME_WIDTH}} {result.status:<8} {reason}".rstrip()


def summary(results: list[Result]) -> str:
    counts = {status: sum(r.status == status for r in results) for status in (PASS, FAIL, SKIPPED)}
    return f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIPPED]} skipped"


def run(
    issuer: str,
    config: Config,
    modules: list[Module],
    out: TextIO = sys.stdout,
    *,
    duplicates: bool = True,
) -> list[Result]:
    ctx = Context.create(issuer, config, duplicates=duplicates)
    print(f"{' #':<3}{'module':<{NAME_WIDTH - 3}} {'result':<8} reason", file=out)
    results: list[Result] = []
    for module in modules:
        result = execute(module, ctx)
        results.append(result)
        print(line(result), file=out, flush=True)
    print(summary(results), file=out, flush=True)
    return results
