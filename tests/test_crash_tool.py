"""crash utility pastes: the sys banner, log, bt and foreach bt of a RHEL 5 x86_64 session."""

from __future__ import annotations

from datetime import datetime

from triage.crashes import title_stated
from triage.model import KIND_CRASH_TOOL, LINES_SCHEMA, SourceFile
from triage.parsers.crash_tool import (
    bt_frames_as_crash,
    culprit_frames,
    panic_task,
    parse_crash_tool,
    parse_source,
)

SESSION = b"""\
crash 4.1.2-4.el5
Copyright (C) 2002-2009  Red Hat, Inc.

      KERNEL: /usr/lib/debug/lib/modules/2.6.18-194.26.1.el5/vmlinux
    DUMPFILE: /var/crash/2011-01-05-10:12/vmcore  [PARTIAL DUMP]
        CPUS: 8
        DATE: Wed Jan  5 10:11:41 2011
      UPTIME: 12 days, 03:14:07
LOAD AVERAGE: 0.24, 0.18, 0.12
       TASKS: 312
    NODENAME: db01.example.com
     RELEASE: 2.6.18-194.26.1.el5
     VERSION: #1 SMP Fri Oct 29 14:21:16 EDT 2010
     MACHINE: x86_64  (2493 Mhz)
      MEMORY: 15.7 GB
       PANIC: "Oops: 0000 [1] SMP " (check log for details)
         PID: 4711
     COMMAND: "java"
        TASK: ffff81022f8e0080  [THREAD_INFO: ffff81021a5b4000]
         CPU: 3
       STATE: TASK_RUNNING (PANIC)

crash> log
<6>Linux version 2.6.18-194.26.1.el5 (mockbuild@builder10.centos.org) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-48)) #1 SMP Fri Oct 29 14:21:16 EDT 2010
<6>Command line: ro root=/dev/VolGroup00/LogVol00 crashkernel=128M@16M
<1>Unable to handle kernel NULL pointer dereference at 0000000000000010 RIP:
<1> [<ffffffff80027d35>] tcp_sendmsg+0x4d2/0xa38
<4>PGD 22a5d8067 PUD 22f4f5067 PMD 0
<0>Oops: 0000 [1] SMP
<4>last sysfs file: /devices/pci0000:00/0000:00:1e.0/0000:08:01.0/irq
<4>CPU 3
<4>Modules linked in: nfs lockd fscache nfs_acl autofs4 sunrpc bnx2 dm_mod
<4>Pid: 4711, comm: java Not tainted 2.6.18-194.26.1.el5 #1
<4>RIP: 0010:[<ffffffff80027d35>]  [<ffffffff80027d35>] tcp_sendmsg+0x4d2/0xa38
<4>RSP: 0018:ffff81021a5b5db8  EFLAGS: 00010246
<4>Call Trace:
<4> [<ffffffff80055b9d>] sock_sendmsg+0xf8/0x14a
<4> [<ffffffff800a0ba0>] autoremove_wake_function+0x0/0x2e
<4> [<ffffffff8022c6a5>] sys_sendto+0x131/0x164
<4> [<ffffffff8005d116>] system_call+0x7e/0x83
<4>
<4>Code: 48 8b 50 10 48 85 d2 74 0b 8b 42 30 85 c0 0f 85 c3 00 00 00
<1>RIP  [<ffffffff80027d35>] tcp_sendmsg+0x4d2/0xa38
<4> RSP <ffff81021a5b5db8>
crash> bt
PID: 4711   TASK: ffff81022f8e0080  CPU: 3   COMMAND: "java"
 #0 [ffff81021a5b5b10] crash_kexec at ffffffff800aeb6b
 #1 [ffff81021a5b5bd0] __die at ffffffff80065127
 #2 [ffff81021a5b5c10] do_page_fault at ffffffff80066da7
 #3 [ffff81021a5b5d00] error_exit at ffffffff8005dde9
    [exception RIP: tcp_sendmsg+1234]
    RIP: ffffffff80027d35  RSP: ffff81021a5b5db8  RFLAGS: 00010246
    RAX: 0000000000000000  RBX: ffff810228f05800  RCX: 0000000000000000
    RDX: 0000000000000000  RSI: 0000000000000000  RDI: ffff81022bd4c8c0
    RBP: ffff81021a5b5e28   R8: 0000000000000000   R9: 0000000000000001
    R10: 0000000000000000  R11: 0000000000000246  R12: 0000000000000000
    R13: 00000000000005a8  R14: ffff81022bd4c8c0  R15: 0000000000000000
    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018
 #4 [ffff81021a5b5e30] sock_sendmsg at ffffffff80055b9d
 #5 [ffff81021a5b5f20] sys_sendto at ffffffff8022c6a5
 #6 [ffff81021a5b5f80] system_call at ffffffff8005d116
    RIP: 0000003c0a2c5f4b  RSP: 0000000041c5e9a8  RFLAGS: 00010202
    RAX: 000000000000002c  RBX: ffffffff8005d116  RCX: 0000000000000000
    ORIG_RAX: 000000000000002c  CS: 0033  SS: 002b
crash> foreach bt
PID: 0      TASK: ffffffff80308b60  CPU: 0   COMMAND: "swapper"
 #0 [ffffffff80449f20] schedule at ffffffff80063036
 #1 [ffffffff80449ff8] cpu_idle at ffffffff80048fd3

PID: 3121   TASK: ffff81022e3c6040  CPU: 5   COMMAND: "nfsd"
 #0 [ffff81022ba29c70] schedule at ffffffff80063036
 #1 [ffff81022ba29d48] svc_recv at ffffffff884d1a2e [sunrpc]
 #2 [ffff81022ba29e48] nfsd at ffffffff886d3b5a [nfsd]
 #3 [ffff81022ba29f48] kernel_thread at ffffffff8005dfb1
"""

SRC = SourceFile(
    disk_path="/tmp/x", bundle="case.tar", path="crash-session.txt", kind=KIND_CRASH_TOOL
)


def parsed():
    return parse_crash_tool(SESSION, "sid", "case.tar!crash-session.txt")


def test_banner_facts() -> None:
    _, facts, _ = parsed()
    f = {x.key: x.value for x in facts}
    assert f["kernel.release"] == "2.6.18-194.26.1.el5"
    assert f["crash.kernel"] == "/usr/lib/debug/lib/modules/2.6.18-194.26.1.el5/vmlinux"
    assert f["crash.dumpfile"] == "/var/crash/2011-01-05-10:12/vmcore"
    assert f["crash.partial_dump"] == "true"
    assert f["crash.cpus"] == "8"
    assert f["crash.panic"] == "Oops: 0000 [1] SMP"
    assert f["host.nodename"] == "db01.example.com"
    assert f["crash.machine"] == "x86_64"
    assert f["crash.cpu_mhz"] == "2493"
    assert f["host.memory"] == "15.7 GB"
    assert f["crash.uptime"] == "12 days, 03:14:07"
    assert f["crash.command"] == "java"
    assert f["crash.task"] == "ffff81022f8e0080"
    assert f["crash.state"] == "TASK_RUNNING (PANIC)"
    date = next(x for x in facts if x.key == "crash.date")
    assert date.time == datetime(2011, 1, 5, 10, 11, 41)
    assert date.lineno == 7
    assert {(x.subject_type, x.subject_id, x.source_path) for x in facts} == {
        ("host", "db01.example.com", "case.tar!crash-session.txt")
    }


def test_log_lines_lose_prefixes() -> None:
    lines, _, _ = parsed()
    assert lines.schema == LINES_SCHEMA
    rows = lines.to_pylist()
    assert len(rows) == SESSION.count(b"\n")
    oops = next(r for r in rows if r["text"].startswith("Unable to handle kernel NULL pointer"))
    assert oops["level"] == 1
    assert next(r for r in rows if r["text"] == "Oops: 0000 [1] SMP")["level"] == 0
    # the log already holds the panic string: the banner line keeps its own text
    panic_row = next(r for r in rows if r["lineno"] == 16)
    assert panic_row["text"] == "PANIC: (panic string logged at line 29)"
    assert rows[28]["text"] == "Oops: 0000 [1] SMP"
    assert rows[0]["offset"] == 0 and rows[1]["offset"] == len(b"crash 4.1.2-4.el5\n")


def test_timestamped_log_fills_mono() -> None:
    text = b"crash> log\n[    0.000000] Linux version 3.10.0-1160.el7.x86_64\n[  812.004511] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n"
    lines, _, _ = parse_crash_tool(text, "s", "d")
    rows = lines.to_pylist()
    assert rows[2]["mono"] == 812.004511
    assert rows[2]["text"].startswith("BUG: unable to handle kernel NULL pointer")


def test_one_crash_record_from_the_crashes_stage() -> None:
    from triage import crashes

    lines, _, _ = parsed()
    found = crashes.extract(lines, "sid", [])
    assert len(found) == 1
    assert "tcp_sendmsg" in found[0].title
    assert found[0].first_line >= 26


def test_panic_becomes_a_line_when_no_log_was_pasted() -> None:
    banner_only = SESSION.split(b"crash> log")[0]
    lines, _, _ = parse_crash_tool(banner_only, "s", "d")
    texts = lines.column("text").to_pylist()
    assert "Oops: 0000 [1] SMP" in texts


def test_bt_tasks_frames_and_exception() -> None:
    _, facts, tasks = parsed()
    assert [(t.pid, t.comm, t.cpu) for t in tasks] == [
        (4711, "java", 3),
        (0, "swapper", 0),
        (3121, "nfsd", 5),
    ]
    java = tasks[0]
    assert java.exception_rip == "tcp_sendmsg+0x4d2"
    assert java.registers["RIP"] == "ffffffff80027d35"
    assert java.registers["ORIG_RAX"] == "ffffffffffffffff"
    assert "CS" in java.registers and java.registers["RDI"] == "ffff81022bd4c8c0"
    assert [f.function for f in java.frames] == [
        "crash_kexec",
        "__die",
        "do_page_fault",
        "error_exit",
        "tcp_sendmsg",
        "sock_sendmsg",
        "sys_sendto",
        "system_call",
    ]
    assert java.state == "TASK_RUNNING (PANIC)"
    nfsd = tasks[2]
    assert [f.module for f in nfsd.frames] == ["", "sunrpc", "nfsd", ""]
    assert nfsd.frames[1].address == "ffffffff884d1a2e"
    assert panic_task(tasks, facts) is java
    assert [f.function for f in culprit_frames(java)][:2] == ["tcp_sendmsg", "sock_sendmsg"]


def test_bt_frames_as_crash() -> None:
    _, facts, tasks = parsed()
    f = {x.key: x.value for x in facts}
    stated = bt_frames_as_crash(
        f["crash.panic"], panic_task(tasks, facts), source_id="sid", release=f["kernel.release"]
    )
    assert stated.title == "" and stated.fingerprint == ""  # naming it is the crashes stage's
    crash = title_stated(stated)
    assert crash.record == "crash"
    assert crash.panicked
    assert crash.function == "tcp_sendmsg"
    assert crash.frames[0].function == "tcp_sendmsg" and crash.frames[0].offset == 1234
    assert (crash.pid, crash.comm, crash.cpu) == (4711, "java", 3)
    assert crash.title  # titled by the crashes stage (or the sanitised panic string)
    assert "ffff" not in crash.title
    assert crash.fingerprint
    assert crash.release == "2.6.18-194.26.1.el5"
    assert not crash.corrupted
    frameless = bt_frames_as_crash("Kernel panic - not syncing: Fatal exception", None)
    assert frameless.corrupted and frameless.frames == []


def test_registry_entry_and_bad_bytes() -> None:
    res = parse_source(SRC, SESSION + b"\xff\xfe broken line\n")
    assert res.lines.num_rows == SESSION.count(b"\n") + 1
    assert res.lines.column("flags").to_pylist()[-1] & 2
    assert all(x.bundle == "case.tar" for x in res.facts)
    from triage import parsers

    assert parsers.parser_for(KIND_CRASH_TOOL) is parse_source
    empty, facts, tasks = parse_crash_tool(b"", "s", "d")
    assert empty.num_rows == 0 and facts == [] and tasks == []
