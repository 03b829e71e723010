"""Boot segmentation over parsed logs: banners, clock restarts, journal separators, identity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from triage.kernel import segment_boots
from triage.parsers import parse_bytes

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

TWO_BOOT_CONSOLE = (
    b"Linux version 2.6.9-78.ELxenU (brewbuilder@hs20-bc1-5.build.redhat.com) (gcc version 3.4.6"
    b" 20060404 (Red Hat 3.4.6-10)) #1 SMP Wed Jul 9 15:46:26 EDT 2008\r\n"
    b"BIOS-provided physical RAM map:\r\n"
    b"web01 login: \r\n"
    b"Unable to handle kernel paging request at virtual address c0a00000\r\n"
    b"EIP: 0061:[<c0119f2e>] Not tainted VLI\r\n"
    b"EFLAGS: 00010202   (2.6.9-78.ELxenU) \r\n"
    b"Linux version 2.6.9-89.0.25.ELxenU (mockbuild@builder10.centos.org) (gcc version 3.4.6"
    b" 20060404 (Red Hat 3.4.6-11)) #1 SMP Mon Apr 5 12:00:00 EDT 2010\r\n"
    b"Kernel command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0\r\n"
)


def test_console_with_two_boots():
    lines = parse_bytes(TWO_BOOT_CONSOLE, "console", "s")
    boots, ids = segment_boots(lines, "s")
    assert [(b.first_line, b.last_line) for b in boots] == [(1, 6), (7, 8)]
    assert ids.to_pylist() == ["s:0"] * 6 + ["s:1"] * 2
    first, second = boots
    assert (first.release, first.distro, first.distro_release, first.flavour) == (
        "2.6.9-78.ELxenU",
        "rhel",
        "4.7",
        "xenU",
    )
    assert first.hostname == "web01"  # from the login prompt, not the build host
    assert first.arch == "i386"  # EIP register line
    assert second.release == "2.6.9-89.0.25.ELxenU" and second.distro_release == "4.8"
    assert second.distro == "centos"  # built on centos.org
    assert second.hostname == ""


def test_clock_restart_without_banner_and_rhel6_early_lines():
    data = (
        b"[  500.000000] last words of boot 0\n"
        b"[    0.000000] Initializing cgroup subsys cpuset\n"
        b"[    0.000000] Linux version 2.6.32-71.el6.x86_64 (mockbuild@x86-007.build.bos.redhat.com)"
        b" (gcc version 4.4.4) #1 SMP Wed Sep 1 01:33:01 EDT 2010\n"
        b"[   30.000000] CPU: Intel\n"
        b"[    0.000000] Initializing cgroup subsys cpuset\n"
        b"[    3.000000] Pid: 1, comm: swapper Not tainted 2.6.32-131.0.15.el6.x86_64 #1\n"
    )
    boots, _ = segment_boots(parse_bytes(data, "dmesg", "d"), "d")
    assert [(b.first_line, b.last_line) for b in boots] == [(1, 1), (2, 4), (5, 6)]
    assert boots[0].release == ""
    assert boots[1].release == "2.6.32-71.el6.x86_64" and boots[1].arch == "x86_64"
    assert boots[1].distro == "rhel"
    assert boots[2].release == "2.6.32-131.0.15.el6.x86_64"  # from the oops header
    assert boots[2].distro_release == "6.1"


def test_journal_separators_and_syslog_hostname():
    data = (
        b"Jan 01 10:00:00 vm7 kernel: Linux version 4.18.0-80.el8.x86_64 (mockbuild@x) (gcc) #1\n"
        b"Jan 01 10:00:05 vm7 kernel: CPU: 0 PID: 1 Comm: init Not tainted 4.18.0-80.el8.x86_64 #1\n"
        b"-- Boot 0123456789abcdef0123456789abcdef --\n"
        b"Jan 01 11:00:00 vm7 kernel: e1000: eth0 up\n"
    )
    boots, _ = segment_boots(parse_bytes(data, "journal", "j", year_hint=2024), "j")
    assert [(b.first_line, b.last_line) for b in boots] == [(1, 2), (3, 4)]
    assert boots[0].hostname == "vm7" and boots[0].distro_release == "8.0"
    assert boots[0].start_time == datetime(2024, 1, 1, 10, 0, 0)
    assert boots[1].start_time == datetime(2024, 1, 1, 11, 0, 0)


@pytest.mark.parametrize(
    ("header", "release", "distro_release"),
    [
        (
            "Pid: 0, comm: swapper Tainted: P           ---------------    2.6.32-431.el6.x86_64"
            " #1 VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform",
            "2.6.32-431.el6.x86_64",
            "6.5",
        ),
        (
            "CPU: 5 PID: 0 Comm: swapper/5 Kdump: loaded Tainted: G           OE  ------------"
            "   3.10.0-957.el7.x86_64 #1",
            "3.10.0-957.el7.x86_64",
            "7.6",
        ),
        (
            "CPU: 1 PID: 32037 Comm: insmod Tainted: GF          O--------------"
            "   3.10.0-54.0.1.el7.s390x #1",
            "3.10.0-54.0.1.el7.s390x",
            "",  # a RHEL 7 beta, before 7.0 GA
        ),
        (
            "CPU: 5 PID: 0 Comm: swapper/5 Kdump: loaded Tainted: G           OE    --------- -  -"
            " 4.18.0-240.el8.x86_64 #1",
            "4.18.0-240.el8.x86_64",
            "8.3",
        ),
        (  # the hung-task report's own line
            "      Tainted: G           OE    --------- -  - 4.18.0-240.el8.x86_64 #1",
            "4.18.0-240.el8.x86_64",
            "8.3",
        ),
    ],
)
def test_red_hat_tainted_oops_header_gives_the_release(header, release, distro_release):
    """A wrapped ring (vmcore-dmesg) without its banner: the oops header states the release,
    with Red Hat's own taint flags (dashes) between the upstream ones and the release."""
    data = (
        "[ 9123.456789] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n"
        "[ 9123.457010] Oops: 0000 [#1] SMP \n"
        f"[ 9123.457200] {header}\n"
        "[ 9123.458100] Kernel panic - not syncing: Fatal exception in interrupt\n"
    ).encode()
    boots, _ = segment_boots(parse_bytes(data, "vmcore-dmesg", "t"), "t")
    assert [(b.release, b.distro, b.distro_release) for b in boots] == [
        (release, "rhel", distro_release)
    ]


WRAPPED_RING = (
    b"[86000.000000] INFO: task java:4000 blocked for more than 120 seconds.\n"
    b"[86002.000002] INFO: task java:4002 blocked for more than 120 seconds.\n"
    b"[    0.000000] \n"
    b"[86010.123456] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n"
    b"[86010.123700] CPU: 5 PID: 0 Comm: swapper/5 Not tainted 3.10.0-1160.el7.x86_64 #1\n"
    b"[86010.124100] Kernel panic - not syncing: Fatal exception in interrupt\n"
)


@pytest.mark.parametrize("kind", ["vmcore-dmesg", "dmesg"])
def test_vmcore_dmesg_wrap_marker_is_not_a_reboot(kind):
    """vmcore-dmesg of a 3.5-5.9 kernel prints the buffer's zero-filled end record as an empty
    `[    0.000000] ` line where the ring wraps; the clock goes on from where it was: one boot."""
    boots, ids = segment_boots(parse_bytes(WRAPPED_RING, kind, "w"), "w")
    assert [(b.first_line, b.last_line, b.release) for b in boots] == [
        (1, 6, "3.10.0-1160.el7.x86_64")
    ]
    assert ids.to_pylist() == ["w:0"] * 6


def test_real_reboot_after_an_empty_first_line_is_still_a_reboot():
    data = (
        b"[  500.000000] last words of boot 0\n"
        b"[    0.000000] \n"
        b"[    0.000000] Linux version 3.10.0-1160.el7.x86_64 (mockbuild@x) (gcc) #1\n"
        b"[    1.000000] x\n"
    )
    boots, _ = segment_boots(parse_bytes(data, "dmesg", "r"), "r")
    assert [b.release for b in boots] == ["", "3.10.0-1160.el7.x86_64"]


def test_journal_early_lines_under_the_initrd_hostname_do_not_name_the_boot():
    """`journalctl -k`: the kernel's first lines are journaled under the initrd's `localhost`,
    the rest under the machine's name, which is the boot's however few lines carry it."""
    early = b"".join(
        b"Mar 03 10:21:40 localhost kernel: ACPI: early table line %d\n" % i for i in range(40)
    )
    data = (
        b"Mar 03 10:21:40 localhost kernel: Linux version 4.18.0-513.5.1.el8_9.x86_64"
        b" (mockbuild@x86-vm-07.build.eng.bos.redhat.com) (gcc version 8.5.0 20210514"
        b" (Red Hat 8.5.0-20) (GCC)) #1 SMP Fri Sep 29 05:21:10 EDT 2023\n"
        + early
        + b"Mar 03 10:21:44 db2.example.com kernel: XFS (dm-0): Mounting V5 Filesystem\n"
    )
    boots, _ = segment_boots(parse_bytes(data, "journal", "k", year_hint=2024), "k")
    assert [b.hostname for b in boots] == ["db2.example.com"]


@pytest.mark.parametrize(
    ("banner", "distro", "distro_release"),
    [
        # an Ubuntu LTS's hardware enablement kernel: 22.04's, though 6.5 shipped with 23.10
        (
            "Linux version 6.5.0-28-generic (buildd@lcy02-amd64-098) (x86_64-linux-gnu-gcc-12"
            " (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38)"
            " #29~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Thu Apr  4 14:39:20 UTC 2 (Ubuntu"
            " 6.5.0-28.29~22.04.1-generic 6.5.13)",
            "ubuntu",
            "22.04",
        ),
        # a Debian backport
        (
            "Linux version 4.19.0-0.bpo.9-amd64 (debian-kernel@lists.debian.org) (gcc version"
            " 6.3.0 20170516 (Debian 6.3.0-18+deb9u1)) #1 SMP Debian 4.19.118-2+deb10u1~bpo9+1"
            " (2020-06-09)",
            "debian",
            "9",
        ),
        # RHEL rebuilds named by their build host
        (
            "Linux version 4.18.0-477.10.1.el8_8.x86_64"
            " (mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc version 8.5.0 20210514"
            " (Red Hat 8.5.0-18) (GCC)) #1 SMP Tue May 16 11:38:37 UTC 2023",
            "rocky",
            "8.8",
        ),
        (
            "Linux version 5.14.0-362.8.1.el9_3.x86_64 (mockbuild@x64-builder02.almalinux.org)"
            " (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.35.2-42.el9) #1"
            " SMP PREEMPT_DYNAMIC Wed Nov 8 10:10:58 EST 2023",
            "almalinux",
            "9.3",
        ),
    ],
)
def test_banner_names_what_the_release_does_not(banner, distro, distro_release):
    data = f"[    0.000000] {banner}\n[    1.000000] Freeing unused kernel memory: 1234K\n"
    boots, _ = segment_boots(parse_bytes(data.encode(), "dmesg", "b"), "b")
    assert [(b.distro, b.distro_release) for b in boots] == [(distro, distro_release)]


def test_quoted_proc_version_late_in_boot_is_not_a_boot():
    data = (
        b"[    0.000000] Linux version 3.10.0-229.el7.x86_64 (builder@x) (gcc) #1\n"
        b"[ 4000.000000] Linux version 3.10.0-229.el7.x86_64 (builder@x) (gcc) #1\n"
    )
    boots, _ = segment_boots(parse_bytes(data, "dmesg", "q"), "q")
    assert len(boots) == 1


def test_empty_lines_table():
    boots, ids = segment_boots(parse_bytes(b"", "console"), "e")
    assert boots == [] and len(ids) == 0


def test_rhel7_vmcore_dmesg_from_corpus():
    path = CORPORA / "abrt/tests/runtests/kernel-vmcore-harvest/vmcore-dmesg.txt"
    if not path.exists():
        pytest.skip(f"corpus file absent: {path}")
    lines = parse_bytes(path.read_bytes(), "vmcore-dmesg", "v")
    boots, ids = segment_boots(lines, "v")
    assert len(boots) == 1
    assert boots[0].release.startswith("3.10.0-229.el7")
    assert boots[0].distro_release == "7.1"
    assert len(ids) == lines.num_rows


PLAIN_SOURCES = {
    # one host throughout, the year from the caller
    "one-host": b"Jun 15 10:21:05 web07 kernel: NET: Registered protocol family 10\n"
    b"Jun 15 10:21:06 web07 sshd[211]: Accepted publickey for root\n",
    # two hosts (a loghost's file): a boot each, so segmented alone
    "two-hosts": b"Jun 15 10:21:05 db02 kernel: a\nJun 15 10:21:06 web07 kernel: b\n"
    b"Jun 15 10:21:07 web07 kernel: c\nJun 15 10:21:08 db02 kernel: d\n",
    # one host, named short and fully qualified, and a placeholder: one boot, the majority
    "majority": b"Jun 15 10:21:05 localhost kernel: a\nJun 15 10:21:06 web07 kernel: b\n"
    b"Jun 15 10:21:07 web07.example.com kernel: c\nJun 15 10:21:08 web07 kernel: d\n",
    # a line without a syslog prefix carries no host nor time
    "headless": b"  continued text before any header\nJun 15 10:21:05 web07 kernel: a\n",
    # the initrd's name on the first lines, more of them than of the real name's
    "initrd": b"Jun 15 10:21:05 localhost kernel: a\nJun 15 10:21:05 localhost kernel: b\n"
    b"Jun 15 10:21:09 web07 kernel: c\n",
    # nothing but a placeholder: that is still the name it has
    "unnamed": b"Jun 15 10:21:05 localhost.localdomain kernel: a\n",
    # a printk clock: its restarts are looked for, so not a plain boot here
    "clocked": b"[    0.000000] Initializing cgroup subsys cpuset\n[    1.000000] x\n",
}


@pytest.mark.parametrize("kind", ["syslog", "console"])
def test_boots_of_many_plain_sources_are_those_each_gets_alone(kind: str) -> None:
    """`plain_boots` works many sources out together; each gets what `segment_boots` gives it
    alone (none for a clocked or empty source, which are segmented alone)."""
    from triage.kernel import plain_boots

    names = list(PLAIN_SOURCES)
    tables = [parse_bytes(PLAIN_SOURCES[n], kind, n) for n in names]
    tables.append(tables[0].slice(0, 0))  # no lines
    ids = [*names, "empty"]
    got = plain_boots(tables, ids)
    for name, table, together in zip(ids, tables, got, strict=True):
        # given for every source with lines, no printk clock and one host, and for no other
        plain = table.num_rows > 0 and table.column("mono").null_count == table.num_rows
        plain &= not (kind == "syslog" and name == "two-hosts")
        assert (together is not None) == plain, name
        if together is None:
            continue
        boots, boot_ids = segment_boots(table, name, set())
        assert together[0] == boots, name
        assert together[1].to_pylist() == boot_ids.to_pylist(), name
    by_name = dict(zip(ids, got, strict=True))
    assert sum(g is not None for g in got) >= 3  # the unclocked sources, whatever the format
    if kind == "syslog":
        boots, boot_ids = segment_boots(tables[names.index("two-hosts")], "t", set())
        assert [(b.boot_id, b.hostname, b.first_line, b.last_line) for b in boots] == [
            ("t:0", "db02", 1, 4),
            ("t:1", "web07", 2, 3),
        ]
        assert boot_ids.to_pylist() == ["t:0", "t:1", "t:1", "t:0"]
        assert by_name["majority"][0][0].hostname == "web07"
        assert by_name["headless"][0][0].start_time is not None
        assert by_name["initrd"][0][0].hostname == "web07"
        assert by_name["unnamed"][0][0].hostname == "localhost.localdomain"
    assert by_name["clocked"] is None and by_name["empty"] is None


def test_plain_boot_of_a_large_log_prefers_a_real_name_to_localhost():
    """A log too large to hold is counted a block at a time (`PlainBoot`): the same name as
    `segment_boots` gives, a real one before the initrd's `localhost`."""
    from triage.kernel import PlainBoot

    table = parse_bytes(PLAIN_SOURCES["initrd"], "syslog", "i", year_hint=2024)
    plain = PlainBoot("i")
    plain.add(table.slice(0, 2))
    plain.add(table.slice(2))
    assert [b.hostname for b in plain.boots()] == ["web07"]
    assert plain.boots() == segment_boots(table, "i", set())[0]


@pytest.mark.parametrize(
    "separator",
    [b"-- Reboot --", b"-- Boot 4f3c2a1b9d8e4f6a8b7c6d5e4f3a2b1c --"],
)
def test_short_monotonic_journal_separator_and_clock_restart_are_one_reboot(separator: bytes):
    """`journalctl -o short-monotonic`: the separator, then the new boot's clock from 0; one cut
    at the separator, as `-o short` of the same journal gives."""
    data = (
        b"-- Logs begin at Fri 2024-01-05 10:00:00 UTC, end at Sat 2024-01-06 08:00:30 UTC. --\n"
        b"[    0.000000] web01 kernel: Linux version 3.10.0-1160.el7.x86_64"
        b" (mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44)"
        b" (GCC) ) #1 SMP Wed Oct 14 17:02:59 UTC 2020\n"
        b"[   12.345678] web01 kernel: XFS (dm-0): Mounting V5 Filesystem\n"
        b"[ 3600.500000] web01 kernel: BUG: soft lockup - CPU#1 stuck for 22s!"
        b" [kworker/1:1:1234]\n" + separator + b"\n"
        b"[    0.000000] web01 kernel: Linux version 4.18.0-513.5.1.el8_9.x86_64"
        b" (mockbuild@x86-vm-08.build.eng.bos.redhat.com) (gcc version 8.5.0 20210514"
        b" (Red Hat 8.5.0-20) (GCC)) #1 SMP Fri Sep 29 05:21:10 EDT 2023\n"
        b"[   30.000000] web01 kernel: INFO: task jbd2/dm-0-8:512 blocked for more than"
        b" 120 seconds.\n"
    )
    lines = parse_bytes(data, "journal", "m")
    boots, _ = segment_boots(lines, "m")
    assert [(b.first_line, b.last_line) for b in boots] == [(2, 4), (5, 7)]
    assert [b.release for b in boots] == ["3.10.0-1160.el7.x86_64", "4.18.0-513.5.1.el8_9.x86_64"]


RHEL7_BANNER = (
    b"Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc version"
    b" 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Wed Oct 14 17:02:59 UTC 2020"
)
RHEL5_BANNER = (
    b"Linux version 2.6.18-398.el5xen (mockbuild@builder17.centos.org) (gcc version 4.1.2"
    b" 20080704 (Red Hat 4.1.2-55)) #1 SMP Tue Sep 16 21:31:50 EDT 2014"
)


def _spans(data: bytes, kind: str) -> list[tuple[int, int, str]]:
    boots, _ = segment_boots(parse_bytes(data, kind, "p", year_hint=2024), "p")
    return [(b.first_line, b.last_line, b.release) for b in boots]


def test_syslog_cgroup_lines_before_the_banner_open_its_boot():
    """RHEL 7 messages without a printk clock: cgroup_init_early's lines come before the banner
    and are the new boot's, not the end of the one before."""
    head = (
        b"Jan  4 23:50:01 web01 kernel: e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex,"
        b" Flow Control: RX\n"
    )
    boot = (
        b"Jan  5 10:00:00 web01 kernel: Initializing cgroup subsys cpuset\n"
        b"Jan  5 10:00:00 web01 kernel: Initializing cgroup subsys cpu\n"
        b"Jan  5 10:00:00 web01 kernel: Initializing cgroup subsys cpuacct\n"
        b"Jan  5 10:00:00 web01 kernel: " + RHEL7_BANNER + b"\n"
        b"Jan  5 10:00:00 web01 kernel: Command line: BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64"
        b" root=/dev/mapper/centos-root ro\n"
    )
    release = "3.10.0-1160.el7.x86_64"
    assert _spans(head + boot, "syslog") == [(1, 1, ""), (2, 6, release)]
    # a file that starts at the boot: one boot, not a boot of the cgroup lines before it
    assert _spans(boot, "syslog") == [(1, 5, release)]


def test_syslog_sysklogd_start_opens_the_boot_but_not_a_rotation_restart():
    """RHEL 5: sysklogd's restart and klogd's start precede the ring buffer it copies out; a
    restart of a log rotation days before is the old boot's."""
    data = (
        b"Jun  7 04:02:04 db03 syslogd 1.4.1: restart.\n"
        b"Jun  8 11:20:45 db03 sshd[8113]: Accepted publickey for oper from 10.20.3.7 port 50718"
        b" ssh2\n"
        b"Jun  9 10:16:22 db03 syslogd 1.4.1: restart.\n"
        b"Jun  9 10:16:22 db03 kernel: klogd 1.4.1, log source = /proc/kmsg started.\n"
        b"Jun  9 10:16:22 db03 kernel: " + RHEL5_BANNER + b"\n"
        b"Jun  9 10:16:22 db03 kernel: BIOS-provided physical RAM map:\n"
    )
    assert _spans(data, "syslog") == [(1, 1, ""), (3, 6, "2.6.18-398.el5xen")]


def test_console_bootdata_line_is_its_boots():
    """RHEL 5 x86_64 prints `Bootdata ok` before the banner: no boot of that line alone at the
    start, and the second boot's is not the end of the first."""
    boot = (
        b"Bootdata ok (command line is ro root=/dev/VolGroup00/LogVol00 console=xvc0)\r\n"
        + RHEL5_BANNER
        + b"\r\n"
        b"Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0\r\n"
        b"BUG: soft lockup - CPU#1 stuck for 10s! [swapper:0]\r\n"
        b"\r\n"
        b"Restarting system.\r\n"
    )
    spans = _spans(boot + boot, "console")
    assert [(a, b) for a, b, _ in spans] == [(1, 6), (7, 12)]
    assert {r for *_, r in spans} == {"2.6.18-398.el5xen"}


def test_xenconsoled_logfile_opened_is_not_a_boot():
    data = (
        b"[2024-01-05 10:00:00] Logfile Opened\r\n"
        b"[2024-01-05 10:00:01] " + RHEL5_BANNER + b"\r\n"
        b"[2024-01-05 10:00:01] Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0\r\n"
        b"[2024-01-05 10:05:00] BUG: soft lockup - CPU#0 stuck for 10s! [swapper:0]\r\n"
    )
    assert _spans(data, "console") == [(1, 4, "2.6.18-398.el5xen")]


def test_lead_in_stops_at_other_lines_and_later_clocks():
    """Only a run of known pre-banner lines right before the banner moves: an ordinary line, or
    a line whose printk clock is later than the banner's, ends it."""
    data = (
        b"[ 4000.000000] Initializing cgroup subsys cpuset\n"  # a clock far past the banner's
        b"[    0.000000] " + RHEL7_BANNER + b"\n"
        b"[    1.000000] x86/fpu: xstate_offset[2]:  576, xstate_sizes[2]:  256\n"
    )
    assert [(a, b) for a, b, _ in _spans(data, "dmesg")] == [(1, 1), (2, 3)]
    data = (
        b"Bootdata ok (command line is ro root=/dev/VolGroup00/LogVol00 console=xvc0)\n"
        b"Xen reported: 2666.760 MHz processor.\n" + RHEL5_BANNER + b"\n"
    )
    assert [(a, b) for a, b, _ in _spans(data, "console")] == [(1, 2), (3, 3)]


def test_syslog_with_printk_clock_rsyslog_start_opens_the_restarted_boot():
    """Debian 7 messages: rsyslog's start lines, then the ring buffer from `[    0.000000]`."""
    data = (
        b"Mar  3 09:00:00 deb7 kernel: [86400.123456] e1000: eth0 NIC Link is Down\n"
        b"Mar  3 09:05:10 deb7 kernel: imklog 5.8.11, log source = /proc/kmsg started.\n"
        b'Mar  3 09:05:10 deb7 rsyslogd: [origin software="rsyslogd" swVersion="5.8.11"'
        b' x-pid="2001" x-info="http://www.rsyslog.com"] start\n'
        b"Mar  3 09:05:10 deb7 kernel: [    0.000000] Initializing cgroup subsys cpuset\n"
        b"Mar  3 09:05:10 deb7 kernel: [    0.000000] Linux version 3.2.0-4-amd64"
        b" (debian-kernel@lists.debian.org) (gcc version 4.6.3 (Debian 4.6.3-14) ) #1 SMP"
        b" Debian 3.2.54-2\n"
    )
    assert _spans(data, "syslog") == [(1, 1, ""), (2, 5, "3.2.0-4-amd64")]


def test_an_x86_64_boot_without_a_register_dump_is_told_by_its_bootdata_line() -> None:
    """An early boot death prints no `RIP:`; x86_64 2.6.x kernels alone print `Bootdata ok`
    first, and a 64-bit RHEL 4 guest dying at boot was taken for the 32-bit PAE xenU the
    64 GiB boot crash is about."""
    data = (
        b"Bootdata ok (command line is  ro root=/dev/VolGroup00/LogVol00 console=xvc0)\n"
        b"Linux version 2.6.9-78.ELxenU (brewbuilder@hs20-bc1-5.build.redhat.com) (gcc version"
        b" 3.4.6 20060404 (Red Hat 3.4.6-10)) #1 SMP Wed Jul 9 16:05:41 EDT 2008\n"
        b"BIOS-provided physical RAM map:\n"
        b" Xen: 0000000000000000 - 0000000020800000 (usable)\n"
    )
    (boot,) = segment_boots(parse_bytes(data, "console", "x"), "x")[0]
    assert boot.arch == "x86_64" and boot.release == "2.6.9-78.ELxenU"
