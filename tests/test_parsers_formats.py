"""Each text format through the real engine: prefixes removed, fields filled, lines numbered."""

from __future__ import annotations

from datetime import datetime

import pytest

from triage.model import FLAG_CONTINUATION
from triage.parsers import parse_bytes
from triage.parsers.sniff import sniff_kind

RHEL47_CONSOLE = (
    b"Linux version 2.6.9-78.ELxenU (brewbuilder@hs20-bc1-5.build.redhat.com) (gcc version 3.4.6"
    b" 20060404 (Red Hat 3.4.6-10)) #1 SMP Wed Jul 9 15:46:26 EDT 2008\r\n"
    b"BIOS-provided physical RAM map:\r\n"
    b" Xen: 0000000000000000 - 0000000020800000 (usable)\r\n"
    b"Kernel command line:  ro root=/dev/VolGroup00/LogVol00 console=xvc0\r\n"
    b"Unable to handle kernel paging request at virtual address c0a00000\r\n"
    b" printing eip:\r\n"
    b"EFLAGS: 00010202   (2.6.9-78.ELxenU) \r\n"
)


def rows(table):
    return table.to_pylist()


def test_console_rhel47_crlf_keeps_indentation_and_numbers():
    t = rows(parse_bytes(RHEL47_CONSOLE, "console"))
    assert [r["lineno"] for r in t] == list(range(1, 8))
    assert t[0]["text"].startswith("Linux version 2.6.9-78.ELxenU (brewbuilder@")
    assert t[2]["text"] == " Xen: 0000000000000000 - 0000000020800000 (usable)"
    assert t[6]["text"] == "EFLAGS: 00010202   (2.6.9-78.ELxenU) "
    assert all("\r" not in r["text"] for r in t)
    assert t[1]["offset"] == RHEL47_CONSOLE.index(b"BIOS-provided")
    assert all(r["mono"] is None and r["level"] is None for r in t)


def test_console_xenconsoled_timestamps_and_printk_time():
    data = (
        b"[2009-03-02 10:11:12] Linux version 2.6.18-128.el5xen (mockbuild@x) (gcc) #1 SMP\n"
        b"[2009-03-02 10:11:13] [    0.120000] [    T1] Freeing unused kernel memory: 176k freed\n"
        b"(XEN) Domain 3 crashed\n"
    )
    t = rows(parse_bytes(data, "console"))
    assert t[0]["timestamp"] == datetime(2009, 3, 2, 10, 11, 12)
    assert t[1]["mono"] == pytest.approx(0.12)
    assert t[1]["text"] == "Freeing unused kernel memory: 176k freed"
    assert t[2]["text"] == "(XEN) Domain 3 crashed" and t[2]["timestamp"] is None


def test_syslog_rhel53_inner_printk_time_and_kernel_only():
    data = (
        b"Mar  2 10:11:12 web01 kernel: [ 1234.567890] BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]\n"
        b"Mar  2 10:11:12 web01 sshd[2345]: Accepted publickey for root from 10.1.2.3\n"
        b"Mar  2 10:11:13 web01 kernel:  [<ffffffff80262f7d>] _spin_lock+0x3/0xa\n"
        b"Mar  2 10:11:14 web01 syslogd 1.4.1: restart.\n"
        b"Mar  2 10:31:14 web01 -- MARK --\n"
        b"Mar  2 10:31:15 web01 klogd: <4>EFLAGS: 00010202\n"
        b"Mar  2 10:40:02 web01 exiting on signal 15\n"  # sysklogd stopping: no tag
        b"Mar  2 10:40:03 web01 crond[881]: exiting on signal 15\n"
    )
    t = rows(parse_bytes(data, "syslog", year_hint=2009))
    assert [r["lineno"] for r in t] == [1, 3, 4, 5, 6, 7]  # sshd and crond dropped
    assert t[5]["text"] == "exiting on signal 15" and t[5]["tag"] is None
    first = t[0]
    assert first["host"] == "web01" and first["tag"] == "kernel" and first["pid"] is None
    assert first["mono"] == pytest.approx(1234.56789)
    assert first["timestamp"] == datetime(2009, 3, 2, 10, 11, 12)
    assert first["level"] is None  # kernel: lines carry no priority
    assert first["text"] == "BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]"
    assert t[1]["text"] == " [<ffffffff80262f7d>] _spin_lock+0x3/0xa"
    assert t[2]["text"] == "syslogd 1.4.1: restart."
    assert t[3]["text"] == "-- MARK --" and t[3]["tag"] is None
    assert t[4]["level"] == 4 and t[4]["text"] == "EFLAGS: 00010202"


def test_syslog_year_rolls_back_across_new_year():
    data = (
        b"Dec 31 23:59:58 h kernel: a\nJan  1 00:00:01 h kernel: b\nJan  2 08:00:00 h kernel: c\n"
    )
    t = rows(parse_bytes(data, "syslog", year_hint=2010))
    assert [r["timestamp"].year for r in t] == [2009, 2010, 2010]
    assert t[0]["timestamp"] == datetime(2009, 12, 31, 23, 59, 58)


def test_syslog_pid_and_rfc3339():
    data = b"2024-01-01T12:00:00.123456+01:00 db2 kernel: [    5.000001] e1000: eth0 up\n"
    t = rows(parse_bytes(data, "syslog-rfc3339"))
    assert t[0]["timestamp"] == datetime(2024, 1, 1, 12, 0, 0, 123456)
    assert t[0]["host"] == "db2" and t[0]["mono"] == pytest.approx(5.000001)
    assert t[0]["text"] == "e1000: eth0 up"


def test_dmesg_variants():
    data = (
        b"[Mon Jan  1 12:00:00 2024] Linux version 5.14.0-70.el9.x86_64 (mockbuild@x) (gcc) #1\n"
        b"kern  :warn  : [    1.000000] ACPI: something odd\n"
        b"2013-06-13T22:11:00,123456+0100 usb 1-1: new device\n"
        b"<4>[    2.500000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1\n"
    )
    t = rows(parse_bytes(data, "dmesg"))
    assert t[0]["timestamp"] == datetime(2024, 1, 1, 12, 0, 0) and t[0]["mono"] is None
    assert t[0]["text"].startswith("Linux version 5.14.0-70.el9.x86_64")
    assert t[1]["level"] == 4 and t[1]["mono"] == pytest.approx(1.0)
    assert t[1]["text"] == "ACPI: something odd"
    assert t[2]["timestamp"] == datetime(2013, 6, 13, 22, 11, 0, 123456)
    assert t[2]["text"] == "usb 1-1: new device"
    assert t[3]["level"] == 4 and t[3]["text"].startswith("WARNING: CPU: 0")


def test_dmesg_delta_caller_and_iso_zone_forms():
    """`dmesg -d` and `-T -d` print the delta since the message before inside the brackets;
    util-linux 2.39+ prints the caller id after the time; newer `--time-format iso` prints
    the zone with a colon."""
    data = (
        b"[    5.123456 <    0.000120>] e1000: eth0 NIC Link is Up\n"
        b"[Mon Mar  4 10:00:07 2024 <    1.500000>] BUG: unable to handle page fault\n"
        b"[Mon Mar  4 10:00:08 2024] [   T1194] WARNING: CPU: 2 PID: 1194 at x.c:1\n"
        b"[Mon Mar  4 10:00:09 2024][  C3] RIP: 0010:xfrm_state_fini+0x440/0x5c0\n"
        b"2024-03-04T10:00:10,000250+01:00 usb 1-1: new device\n"
        b"[Mar 4 10:01] xen_net: Xen virtual ethernet driver.\n"
        b"[  +0.000250] eth0: no IPv6 routers present\n"
    )
    t = rows(parse_bytes(data, "dmesg"))
    assert t[0]["mono"] == pytest.approx(5.123456) and t[0]["text"] == "e1000: eth0 NIC Link is Up"
    assert t[1]["timestamp"] == datetime(2024, 3, 4, 10, 0, 7) and t[1]["mono"] is None
    assert t[1]["text"] == "BUG: unable to handle page fault"
    assert t[2]["text"] == "WARNING: CPU: 2 PID: 1194 at x.c:1"
    assert t[3]["text"] == "RIP: 0010:xfrm_state_fini+0x440/0x5c0"
    assert t[4]["timestamp"] == datetime(2024, 3, 4, 10, 0, 10, 250)
    assert t[4]["text"] == "usb 1-1: new device"
    assert [r["text"] for r in t[5:]] == [
        "xen_net: Xen virtual ethernet driver.",
        "eth0: no IPv6 routers present",
    ]
    assert t[5]["timestamp"] is None and t[6]["mono"] is None  # dmesg -e: no time of its own


def test_journal_short_precise_full_and_unix():
    data = (
        b"Mar 04 10:00:01.250000 vm1 kernel: Linux version 5.14.0-70.el9.x86_64 (x) #1\n"
        b"Mon 2024-03-04 10:00:02 CET vm1 kernel: Command line: ro console=hvc0\n"
        b"Mon 2024-03-04 10:00:03 +03 vm1 systemd[1]: Started Session 1.\n"
        b"1709546404.000500 vm1 kernel: xen: PV spinlocks enabled\n"
    )
    t = rows(parse_bytes(data, "journal", year_hint=2024))
    assert [r["lineno"] for r in t] == [1, 2, 4]  # systemd's line is not kernel-relevant
    assert t[0]["timestamp"] == datetime(2024, 3, 4, 10, 0, 1, 250000)
    assert t[0]["text"].startswith("Linux version 5.14.0") and t[0]["host"] == "vm1"
    assert t[1]["timestamp"] == datetime(2024, 3, 4, 10, 0, 2)
    assert t[1]["tag"] == "kernel" and t[1]["text"] == "Command line: ro console=hvc0"
    # short-unix: seconds since the epoch, shown in UTC
    assert t[2]["timestamp"] == datetime(2024, 3, 4, 10, 0, 4, 500)
    assert t[2]["text"] == "xen: PV spinlocks enabled"


def test_rfc5424_header_tag_and_level():
    data = (
        b"<12>1 2024-03-04T10:00:01.000123+01:00 web07 kernel - - - [   12.500000] BUG: x\n"
        b'<30>1 2024-03-04T10:00:02Z web07 sshd 4242 ID47 [origin ip="10.0.0.1"] Accepted\n'
        b'<14>1 2024-03-04T10:00:03Z web07 kernel - - [meta sequenceId="7"] <3>EXT4-fs error\n'
    )
    t = rows(parse_bytes(data, "syslog-rfc3339"))
    assert [r["lineno"] for r in t] == [1, 3]  # only the kernel's lines are kept
    assert t[0]["timestamp"] == datetime(2024, 3, 4, 10, 0, 1, 123)
    assert (t[0]["host"], t[0]["tag"], t[0]["level"]) == ("web07", "kernel", 4)
    assert t[0]["mono"] == pytest.approx(12.5) and t[0]["text"] == "BUG: x"
    assert t[1]["level"] == 3 and t[1]["text"] == "EXT4-fs error"  # the message's own <N> wins


def test_rfc5424_byte_order_mark_is_not_text():
    """MSG-UTF8 is a BOM, then the text (RFC 5424 §6.4): a frame behind one still reads as a
    frame, and its printk time as the time."""
    bom = "\ufeff".encode()
    data = (
        b"<4>1 2024-01-05T10:00:15.9Z web01 kernel - - - "
        + bom
        + b" [<ffffffff8b1c5a41>] write_cache_pages+0x251/0x4d0\n"
        b"<4>1 2024-01-05T10:00:16Z web01 kernel - - - " + bom + b"[   12.500000] BUG: x\n"
    )
    t = rows(parse_bytes(data, "syslog-rfc3339"))
    assert t[0]["text"] == " [<ffffffff8b1c5a41>] write_cache_pages+0x251/0x4d0"
    assert t[1]["text"] == "BUG: x" and t[1]["mono"] == pytest.approx(12.5)


def test_journal_short_monotonic_and_boot_separators():
    data = (
        b"-- Logs begin at Mon 2024-01-01 10:00:00 UTC, end at Mon 2024-01-01 12:00:00 UTC. --\n"
        b"[    0.000000] vm1 kernel: Linux version 4.18.0-80.el8.x86_64 (mockbuild@x) (gcc) #1\n"
        b"[   12.000000] vm1 systemd[1]: Started Session 1.\n"
        b"-- Boot 0123456789abcdef0123456789abcdef --\n"
        b"Jan 01 12:00:00 vm1 kernel: Linux version 4.18.0-80.el8.x86_64 (mockbuild@x) (gcc) #1\n"
    )
    t = rows(parse_bytes(data, "journal", year_hint=2024))
    assert [r["lineno"] for r in t] == [2, 4, 5]
    assert t[0]["mono"] == 0.0 and t[0]["host"] == "vm1"
    assert t[1]["text"] == "-- Boot 0123456789abcdef0123456789abcdef --"
    assert t[1]["tag"] == "journal"
    assert t[2]["timestamp"] == datetime(2024, 1, 1, 12, 0, 0)


def test_kmsg_records_give_level_and_time_and_their_properties_continue_them():
    """/dev/kmsg (`cat /dev/kmsg`, extended netconsole): `PRI,SEQ,MICROSECONDS,FLAG;text`."""
    from triage.sources import detect

    data = (
        b"6,1042,5123456,-;e1000: eth0 NIC Link is Up\n"
        b" SUBSYSTEM=net\n"
        b" DEVICE=n2\n"
        b"12,1043,5200000,-;BUG: unable to handle kernel NULL pointer dereference at 08\n"
        b"1,1044,5200100,c;Oops: 0000 [#1] SMP\n"
        b"4,1045,5200200,-,caller=T512;RIP: 0010:[<ffffffffa01b2c3d>] xfs_iflush_cluster+0x1ad\n"
    )
    assert detect(data) == "dmesg"
    t = rows(parse_bytes(data, "dmesg"))
    assert [r["level"] for r in t] == [6, None, None, 4, 1, 4]
    assert t[0]["mono"] == pytest.approx(5.123456) and t[0]["text"] == "e1000: eth0 NIC Link is Up"
    assert t[1]["text"] == " SUBSYSTEM=net" and t[1]["flags"] & FLAG_CONTINUATION
    assert t[3]["mono"] == pytest.approx(5.2) and t[3]["text"].startswith("BUG: unable")
    assert t[5]["text"].startswith("RIP: 0010:") and t[5]["timestamp"] is None


def test_vmcore_dmesg_legacy_ring_and_continuations():
    data = (
        b"ng a partial first record\n"
        b"<4>Unable to handle kernel NULL pointer dereference at 0000000000000000 RIP: \n"
        b"<4> [<ffffffff8013f4a2>] do_exit+0x12/0x340\n"
        b"<0>Kernel panic - not syncing: Fatal exception\n"
    )
    t = rows(parse_bytes(data, "vmcore-dmesg"))
    assert [r["level"] for r in t] == [None, 4, 4, 0]
    assert t[2]["text"] == " [<ffffffff8013f4a2>] do_exit+0x12/0x340"
    assert not t[0]["flags"] & FLAG_CONTINUATION  # nothing before it to continue
    modern = b"[   10.000000] BUG: unable to handle\nembedded second line\n[   10.1] next\n"
    m = rows(parse_bytes(modern, "vmcore-dmesg"))
    assert m[1]["flags"] & FLAG_CONTINUATION and m[1]["mono"] is None
    assert not m[2]["flags"] & FLAG_CONTINUATION


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (RHEL47_CONSOLE, "console"),
        (b"Jan  1 00:00:01 h kernel: x\nJan  1 00:00:02 h kernel: y\n", "syslog"),
        (b"[    1.000000] x\n[    1.100000] y\n", "dmesg"),
        (b"<6>x\n<4>y\n", "vmcore-dmesg"),
        (b"-- Logs begin at Mon 2024-01-01. --\nJan 01 00:00:01 h kernel: x\n", "journal"),
    ],
)
def test_sniff_kind(data, kind):
    assert sniff_kind(data) == kind
