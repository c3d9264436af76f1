"""Server CPU time from ``/proc``: utime + stime of a process and its live children
(gunicorn's master and workers; one Node process counts all its threads itself), read
before and after a timed window, so CPU per request is what the server spent, not what
the wall clock and the other tenants of the machine say."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process has gone: it spends nothing more
        return None
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Live direct children of ``pid`` (e.g. gunicorn's workers), by scanning /proc."""
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields[1] is the parent pid (stat field 4).
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def process_ticks(pid: int) -> int:
    """utime + stime of one process in clock ticks (0 once it has gone)."""
    fields = _stat_fields(pid)
    # stat fields 14 and 15 (utime, stime) are at index 11 and 12 after the name.
    return int(fields[11]) + int(fields[12]) if fields is not None else 0


def tree_ticks(pid: int) -> dict[int, int]:
    """Ticks per process of ``pid`` and its live children, keyed by pid."""
    return {member: process_ticks(member) for member in [pid, *children(pid)]}


def cpu_ms_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU milliseconds spent between two ``tree_ticks`` readings. A worker started in
    between counts in full (all its time is inside the window); one that exited in between
    is lost (its last ticks cannot be read), which undercounts: the report says so."""
    ticks = sum(after[pid] - before.get(pid, 0) for pid in after)
    return ticks * 1000.0 / TICKS_PER_SECOND
