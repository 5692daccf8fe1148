"""Where the cores go during a bench: CPU seconds per role, read from /proc (Linux).

The benches run the load generator, the web workers, PostgreSQL and the
follower on one machine, so a throughput ratio mixes the server's cost with
theirs. CPU seconds per role, per hit, separate them.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
ROLES = ("web", "postgres", "follower")  # the load generator reports its own
Snapshot = dict[int, tuple[str, float]]  # pid -> (role, CPU seconds)


def _role(comm: str, cmdline: str) -> str | None:
    if comm == "postgres":
        return "postgres"
    if "gunicorn" in cmdline or "crowdray.cli serve" in cmdline:
        return "web"
    if "crowdray.cli follow" in cmdline:
        return "follower"
    return None


def snapshot() -> Snapshot:
    """Pid -> (role, CPU seconds used so far) for every process with a role."""
    out: Snapshot = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        role = _role(comm, cmdline)
        if role is not None:
            # utime and stime are fields 14 and 15 of stat; [0] here is field 3.
            out[int(proc.name)] = (role, (int(fields[11]) + int(fields[12])) / TICKS_PER_S)
    return out


def used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per role between two snapshots (processes that ended between are missed)."""
    total = dict.fromkeys(ROLES, 0.0)
    for pid, (role, seconds) in after.items():
        start = before.get(pid)
        total[role] += seconds - (start[1] if start and start[0] == role else 0.0)
    return total
