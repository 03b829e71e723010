"""What a crash or a Windows editor leaves at the head of a text log: a run of NULs where a hard
reset cut the log off, a UTF-8 byte order mark. The log is still read as the log it is."""

from __future__ import annotations

from pathlib import Path

import triage
from triage.model import SourceFile
from triage.sources import walk

HUNG = (
    b"".join(
        b"Mar  3 09:%02d:01 db2 kernel: e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n" % i
        for i in range(12)
    )
    + b"Mar  3 10:15:01 db2 kernel: INFO: task jbd2/dm-0-8:512 blocked for more than 120 seconds.\n"
    + b'Mar  3 10:15:01 db2 kernel: "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables '
    b"this message.\n"
)
REBOOT = (
    b"Mar  3 10:21:40 db2 kernel: Initializing cgroup subsys cpuset\n"
    b"Mar  3 10:21:40 db2 kernel: Linux version 3.10.0-1160.el7.x86_64 "
    b"(mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) "
    b"#1 SMP Mon Oct 19 16:18:59 UTC 2020\n"
    b"Mar  3 10:21:40 db2 kernel: Command line: BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 ro\n"
)


def _only(out: list) -> SourceFile:
    (src,) = [s for s in out if isinstance(s, SourceFile)]
    return src


def test_a_syslog_cut_off_by_a_hard_reset_is_read_around_its_nuls(tmp_path: Path) -> None:
    """The rest of the 4 KiB block the reset cut is NULs, and the next boot writes after it:
    most of the head is NULs, yet the lines on both sides are the log's."""
    nuls = bytes(4096 - len(HUNG))
    path = tmp_path / "messages"
    path.write_bytes(HUNG + nuls + REBOOT)
    assert _only(list(walk([str(path)]))).kind == "syslog"
    ds = triage.open_dataset(str(triage.ingest([str(path)], out=str(tmp_path / "ds")).out))
    assert list(ds.sources["status"]) == ["ok"] and list(ds.sources["line_count"]) == [17]
    (title,) = list(ds.crashes["title"])
    assert title.startswith("INFO: task") and "hung" in title
    lines = ds.sql('SELECT lineno, "offset", text FROM lines ORDER BY lineno')
    # the NULs belong to the next boot's first line, which starts where they do
    first = lines[lines.lineno == 15].iloc[0]
    assert (first["offset"], first["text"]) == (len(HUNG), "Initializing cgroup subsys cpuset")
    assert list(ds.boots["release"]) == ["", "3.10.0-1160.el7.x86_64"]
