"""The processes of a run, read from /proc (Linux): what a test of how a run ends looks at."""

from __future__ import annotations

from pathlib import Path


def _stat_fields(pid_dir: Path) -> list[str] | None:
    try:
        stat = (pid_dir / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry)) and int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def in_group(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry)) and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out
