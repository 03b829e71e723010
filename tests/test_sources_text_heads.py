"""What a crash or a Windows editor leaves at the head of a text log: a run of NULs where a hard
reset cut the log off, a UTF-8 byte order mark. The log is still read as the log it is."""

from __future__ import annotations

from pathlib import Path

from helpers_sources import CRASH_TOOL

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

#: the UTF-8 byte order mark
BOM = b"\xef\xbb\xbf"


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


BANNER = (
    b"Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) "
    b"11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"
)
#: as Notepad's "UTF-8 with BOM" and PowerShell 5's `Out-File -Encoding utf8` save them
MARKED = {
    "dmesg.txt": BOM + b"[    0.000000] " + BANNER + b"\r\n[    1.000000] Freeing unused\r\n",
    "kern.log": BOM
    + b"Mar  3 10:15:01 web1 kernel: [ 8123.456789] EXT4-fs error (device sda1): ext4_find_entry\n"
    b"Mar  3 10:15:02 web1 kernel: [ 8124.000001] Buffer I/O error on dev sda1, logical block 0\n",
    "crash.txt": BOM + CRASH_TOOL,
}


def test_a_log_saved_with_a_utf8_byte_order_mark_keeps_its_first_line(tmp_path: Path) -> None:
    """The mark is no part of the first line: its time, its banner and its facts are read,
    and the line still starts at offset 0, where the file does."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in MARKED.items():
        (folder / name).write_bytes(data)
    ds = triage.open_dataset(str(triage.ingest([str(folder)], out=str(tmp_path / "ds")).out))
    kinds = dict(zip(ds.sources["path"], ds.sources["kind"], strict=True))
    assert kinds == {"dmesg.txt": "dmesg", "kern.log": "syslog", "crash.txt": "crash-tool"}
    first = ds.sql(
        'SELECT s.path, "offset", mono, strftime("timestamp", \'%m-%d %H:%M:%S\') AS t, text '
        "FROM lines JOIN sources s USING (source_id) WHERE lineno = 1"
    ).set_index("path")
    assert list(first.loc["dmesg.txt", ["offset", "mono", "text"]]) == [0, 0.0, BANNER.decode()]
    kern = first.loc["kern.log"]
    assert (kern["offset"], kern["mono"], kern["t"]) == (0, 8123.456789, "03-03 10:15:01")
    assert kern["text"].startswith("EXT4-fs error")
    assert first.loc["crash.txt", "text"].startswith("      KERNEL: /usr/lib/debug")
    releases = ds.sql("SELECT release FROM boots JOIN sources s USING (source_id)")
    assert "5.15.0-91-generic" in set(releases["release"])
    facts = dict(zip(ds.facts["key"], ds.facts["lineno"], strict=False))
    assert facts["crash.kernel"] == 1
