"""The processes of a run, read from /proc (Linux), and a folder of logs big enough to see them
at work: what a test of how a run ends looks at."""

from __future__ import annotations

from pathlib import Path

#: fields of /proc/<pid>/stat after the command name: state, parent, process group, ...
_PPID, _PGRP = 1, 2


def _where(field: int, value: int) -> list[int]:
    """The processes whose stat `field` is `value`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        if int(fields[field]) == value:
            out.append(int(entry.name))
    return out


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    return _where(_PPID, pid)


def in_group(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    return _where(_PGRP, pgid)


def many_logs(folder: Path, count: int) -> Path:
    """`count` small syslogs in `folder`: a run of a few seconds at `-j 2`."""
    folder.mkdir()
    line = b"Mar  4 10:00:00 web07 kernel: eth0: link up, 1000Mbps, full-duplex\n"
    for i in range(count):
        (folder / f"host{i:04}.log").write_bytes(line * 200)
    return folder
