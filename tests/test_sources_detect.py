"""Content detection: one realistic head per kind, and the role as a tie-break only."""

from __future__ import annotations

import importlib
import struct

import pytest
from helpers_sources import (
    CONSOLE,
    CRASH_TOOL,
    DMESG_HEAD,
    INVENTORY,
    JOURNAL,
    SYSLOG,
    UNAME,
    VMCORE_DMESG,
    XAPI_DB,
    XENSOURCE_NEW,
    XENSOURCE_OLD,
    XL_INFO,
)

from triage.model import (
    KIND_CONFIG,
    KIND_CONSOLE,
    KIND_CRASH_TOOL,
    KIND_DMESG,
    KIND_DUMP,
    KIND_JOURNAL,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_UNKNOWN,
    KIND_VMCORE_DMESG,
    KIND_XENSOURCE,
)
from triage.sources import detect

PLAIN_DMESG = (
    b"Linux version 2.6.18-398.el5xen (mockbuild@builder17.centos.org) (gcc version 4.1.2)\n"
    b"Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0\n"
    b"BIOS-provided physical RAM map:\n Xen: 0000000000000000 - 0000000040800000 (usable)\n"
    b"ACPI: RSDP 000F0490, 0024 (r2 Xen)\nMemory: 1015808k/1056768k available\n"
)
PRI_DMESG = b"".join(
    b"<6>[    0.%06d] %s\n" % (i, m)
    for i, m in enumerate(
        [
            b"Linux version 4.18.0-372.el8.x86_64",
            b"Command line: ro",
            b"x86/fpu: xstate",
            b"BIOS-e820: ok",
        ]
    )
)
DMESG_T = b"".join(
    b"[Mon Mar  4 10:%02d:00 2024] %s\n" % (i, m)
    for i, m in enumerate(
        [
            b"Linux version 5.14.0-70.el9.x86_64",
            b"Command line: ro",
            b"xen: PV spinlocks",
            b"NX: active",
        ]
    )
)
DMESG_ISO = b"".join(
    b"2024-03-04T10:%02d:00,123456+0100 %s\n" % (i, m)
    for i, m in enumerate(
        [b"Linux version 5.14.0", b"Command line: ro", b"Hypervisor detected: Xen HVM", b"e820 ok"]
    )
)
RFC3339 = b"".join(
    b"2024-03-04T10:%02d:00.123456+01:00 web07 kernel: %s\n" % (i, m)
    for i, m in enumerate([b"Linux version 5.14.0", b"blkfront: xvda", b"eth0: link up", b"oops"])
)
JOURNAL_MONO = b"".join(
    b"[%6d.%06d] web07 kernel: %s\n" % (i, i * 11, m)
    for i, m in enumerate([b"Linux version 5.14.0", b"Command line: ro", b"xen: PV", b"NX"])
)
#: the same four kernel messages as util-linux and journalctl print them in other modes
_MSGS = [b"Linux version 5.14.0-70.el9.x86_64", b"Command line: ro", b"xen: PV", b"NX: active"]
DMESG_FORMS = {
    "delta": b"[%5d.%06d <    0.000123>] ",  # dmesg -d
    "ctime_delta": b"[Mon Mar  4 10:00:%02d 2024 <    0.%06d>] ",  # dmesg -T -d
    "ctime_caller": b"[Mon Mar  4 10:00:%02d 2024] [    T%d] ",  # util-linux 2.39+, caller id
    "ctime_caller_glued": b"[Mon Mar  4 10:00:%02d 2024][    T%d] ",
    "iso_colon_zone": b"2024-03-04T10:00:%02d,%06d+01:00 ",  # newer --time-format iso
    "reltime": b"[  +%d.%06d] ",  # dmesg -e, within a minute
}
JOURNAL_FORMS = {
    "short-precise": b"Mar  4 10:00:%02d.%06d web07 kernel: ",
    "short-precise, day padded": b"Mar 04 10:00:%02d.%06d web07 kernel: ",
    "short-full": b"Mon 2024-03-04 10:%02d:%02d CET web07 kernel: ",
    "short-unix": b"17095%05d.%06d web07 kernel: ",
}
RFC5424 = b"".join(
    b"<4>1 2024-03-04T10:00:%02d.000123+01:00 web07 kernel - - - %s\n" % (i, m)
    for i, m in enumerate(_MSGS)
)


def _lines(prefix: bytes) -> bytes:
    return b"".join((prefix % (i, i * 11)) + m + b"\n" for i, m in enumerate(_MSGS))


SYZ_CONSOLE = (
    b"Warning: Permanently added '10.128.0.2' (ECDSA) to the list of known hosts.\r\n"
    b"2018/01/03 09:12:34 fuzzer started\r\n"
    b"[   26.305129] audit: type=1400 audit(1514970754.329:7): avc:  denied\r\n"
    b"2018/01/03 09:12:35 executing program 0:\r\n"
    b"[   27.001122] ==================================================================\r\n"
    b"[   27.008560] BUG: KASAN: use-after-free in tcp_v4_rcv+0x1a2/0x2f0\r\n"
)


def _elf_vmcore() -> bytes:
    """ELF64 ET_CORE with one PT_NOTE holding a VMCOREINFO note, as /proc/vmcore has."""
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    note = struct.pack("<III", 11, 12, 0) + b"VMCOREINFO\0\0" + b"OSRELEASE=5\n"
    phdr = struct.pack("<IIQQQQQQ", 4, 0, 120, 0, 0, len(note), len(note), 0)
    return ehdr + phdr + note + bytes(512)


FLATTENED = b"makedumpfile".ljust(16, b"\0") + struct.pack(">QQ", 1, 1) + bytes(4064)
XC_CORE_LEGACY = struct.pack("<6I", 0xF00FEBED, 1, 4096, 24, 5000, 8192) + bytes(200)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (DMESG_HEAD, KIND_DMESG),
        (PLAIN_DMESG, KIND_DMESG),
        (PRI_DMESG, KIND_DMESG),
        (DMESG_T, KIND_DMESG),
        (DMESG_ISO, KIND_DMESG),
        (SYSLOG, KIND_SYSLOG),
        (RFC3339, KIND_SYSLOG_RFC3339),
        (JOURNAL, KIND_JOURNAL),
        (JOURNAL_MONO, KIND_JOURNAL),
        (XENSOURCE_NEW, KIND_XENSOURCE),
        (XENSOURCE_OLD, KIND_XENSOURCE),
        (CRASH_TOOL, KIND_CRASH_TOOL),
        (CONSOLE, KIND_CONSOLE),
        (SYZ_CONSOLE, KIND_CONSOLE),
        (XAPI_DB, KIND_CONFIG),
        (XL_INFO, KIND_CONFIG),
        (INVENTORY, KIND_CONFIG),
        (b"KDUMP   " + bytes(600), KIND_DUMP),
        (b"DISKDUMP" + bytes(600), KIND_DUMP),
        (FLATTENED, KIND_DUMP),
        (_elf_vmcore(), KIND_DUMP),
        (XC_CORE_LEGACY, KIND_DUMP),
        (b"", KIND_UNKNOWN),
        (bytes(range(256)) * 16, KIND_UNKNOWN),
        (b"# Title\n\nSome prose about kernels in general.\nNothing more.\n", KIND_UNKNOWN),
        (b'{"expected": [{"first_function": "foo", "frame_count": 3}]}\n', KIND_UNKNOWN),
    ],
)
def test_kind_from_content(head: bytes, kind: str) -> None:
    assert detect(head) == kind


@pytest.mark.parametrize("form", sorted(DMESG_FORMS))
def test_dmesg_in_its_other_modes_is_dmesg(form: str) -> None:
    assert detect(_lines(DMESG_FORMS[form])) == KIND_DMESG


@pytest.mark.parametrize("form", sorted(JOURNAL_FORMS))
def test_journalctl_short_modes_are_journal(form: str) -> None:
    assert detect(_lines(JOURNAL_FORMS[form])) == KIND_JOURNAL


def test_rfc5424_lines_are_rfc3339_syslog_not_prefixed_dmesg() -> None:
    """`<4>1 2024-…` starts like a dmesg `-r` line; the version and RFC 3339 time decide."""
    assert detect(RFC5424) == KIND_SYSLOG_RFC3339


def test_elf_that_is_not_a_core_is_not_a_dump() -> None:
    exe = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HHI", 2, 62, 1) + bytes(200)
    assert detect(exe) == KIND_UNKNOWN


def test_role_breaks_a_tie_but_not_content() -> None:
    # vmcore-dmesg.txt and dmesg look the same: the role decides
    assert detect(VMCORE_DMESG) == KIND_DMESG
    assert detect(VMCORE_DMESG, role="vmcore-dmesg") == KIND_VMCORE_DMESG
    # a plain timestamped log named as a guest console is a console
    assert detect(DMESG_HEAD, role="guest-console") == KIND_CONSOLE
    # …but a name never turns a syslog into a crash-tool transcript, nor prose into a log
    assert detect(SYSLOG, role="crash-tool") == KIND_SYSLOG
    assert detect(b"just some words\nand more words\n", role="messages") == KIND_UNKNOWN


def test_config_roles_are_config_unless_the_content_is_a_log() -> None:
    assert detect(UNAME, role="uname") == KIND_CONFIG
    assert detect(UNAME) == KIND_UNKNOWN
    assert detect(SYSLOG, role="xl-info") == KIND_SYSLOG


def test_syslog_with_few_xapi_lines_stays_syslog() -> None:
    mixed = SYSLOG + XENSOURCE_NEW.splitlines(keepends=True)[0]
    assert detect(mixed) == KIND_SYSLOG


def test_lazy_head_split_equals_the_eager_split() -> None:
    """analyze() splits only what it reads; the lines must be those of a full split."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    d = importlib.import_module("triage.sources.detect")  # the package exports a function so named
    pieces = st.sampled_from([b"a", b"kernel: x", b"\r", b"\n", b"\r\n", b"\r\r\n", b" ", b""])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, max_size=600), st.booleans())
    def check(parts: list[bytes], cut: bool) -> None:
        head = b"".join(parts)
        want = d._LINE_SPLIT.split(head)
        if cut and len(want) > 1:
            want.pop()
        assert list(d._head_lines(head, cut)) == want

    check()


#: what programs print that begins like a kernel message: a script's banner, a document's rules
SCRIPT_BANNER = (
    b"#!/bin/sh\n\ncat >&2 <<'EOT'\n"
    b"WARNING: git-remote-bzr is now maintained independently.\n"
    b"WARNING: For more information visit https://github.com/felipec/git-remote-bzr\n"
    b"WARNING:\n"
    b"WARNING: You can pick a directory on your $PATH and download it, e.g.:\n"
    b"WARNING:   $ chmod +x $HOME/bin/git-remote-bzr\nEOT\n"
)
DOC_RULES = b"=======\nRoadmap\n=======\n\nA series of milestones tracks\nlarge-scale goals.\n"
#: a 2.6.18 WARNING as a plain dmesg holds it: the same header, with the kernel's other markers
PLAIN_WARNING = (
    b"WARNING: at kernel/softirq.c:137 local_bh_enable()\n"
    b"Modules linked in: xennet xenblk ext3 jbd\n"
    b"Pid: 0, comm: swapper Not tainted 2.6.18-128.el5xen #1\n"
    b"Call Trace:\n"
    b" [<ffffffff80290e6f>] local_bh_enable+0x3a/0x8f\n"
    b" [<ffffffff8025e6c4>] rt_run_flush+0x84/0xa8\n"
)


@pytest.mark.parametrize(
    "head", [SCRIPT_BANNER, DOC_RULES, SCRIPT_BANNER.replace(b"WARNING:", b"BUG:")]
)
def test_repeated_generic_marker_alone_is_no_kernel_log(head: bytes) -> None:
    assert detect(head) == KIND_UNKNOWN


def test_kernel_reports_with_generic_headers_stay_kernel_logs() -> None:
    assert detect(PLAIN_WARNING) == KIND_DMESG
    assert detect(PLAIN_WARNING * 2) == KIND_DMESG  # two reports: the header repeats
    # one line is judged by its score, as before
    assert detect(b"INFO: NMI handler (perf_event_nmi_handler) took too long to run\n") in (
        KIND_DMESG,
        KIND_CONSOLE,
    )


#: a RHEL 5 guest's dmesg, which has no times: mostly drivers' and subsystems' own prefixes
RHEL5_DMESG = (
    b"Linux version 2.6.18-128.el5xen (mockbuild@builder10.centos.org) (gcc version 4.1.2 "
    b"20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Jan 21 11:12:42 EST 2009\n"
    b"Xen reported: 2992.500 MHz processor.\n"
    b"Initializing CPU#0\n"
    b"PID hash table entries: 4096 (order: 12, 32768 bytes)\n"
    b"xen_mem: Initialising balloon driver.\n"
    b"NET: Registered protocol family 2\n"
    b"IP route cache hash table entries: 32768 (order: 6, 262144 bytes)\n"
    b"TCP established hash table entries: 131072 (order: 9, 2097152 bytes)\n"
    b"audit: initializing netlink socket (disabled)\n"
    b"type=2000 audit(1245061265.412:1): initialized\n"
    b"io scheduler cfq registered (default)\n"
    b"rtc: IRQ 8 is not free.\n"
    b"i8042.c: No controller found.\n"
    b"md: Autodetecting RAID arrays.\n"
    b"kjournald starting.  Commit interval 5 seconds\n"
    b"device-mapper: uevent: version 1.0.3\n"
    b"device-mapper: ioctl: 4.11.5-ioctl (2007-12-12) initialised: dm-devel@redhat.com\n"
    b"SELinux: initialized (dev xvda1, type ext3), uses xattr\n"
    b"xen-vbd: registered block device major 202\n"
    b" xvda: xvda1 xvda2\n"
    b"netfront: Initialising virtual ethernet driver.\n"
    b"netfront: device eth0 has flipping receive path.\n"
    b"Adding 2097144k swap on /dev/VolGroup00/LogVol01.  Priority:-1 extents:1 "
    b"across:2097144k\n"
    b"EXT3 FS on dm-0, internal journal\n"
)
#: text with the same `word: text` shape and no line only a kernel writes
HEADERS = (
    b"Return-Path: <ops@example.com>\nReceived: from mail.example.com (localhost)\n"
    b"Subject: nightly backup report\nContent-Type: text/plain; charset=utf-8\n"
    b"Status: completed with warnings\nHost: db01.example.com\nNote: 3 files skipped\n"
    b"Error: /srv/db/tmp: permission denied\nDuration: 2h 14m\nNext: Thu 02:00\n"
) * 3


def test_untimed_kernel_messages_with_their_prefixes_are_a_kernel_log() -> None:
    # a quarter are lines only a kernel writes (banner, NET:, EXT3, ...): the rest count with them
    assert detect(RHEL5_DMESG) in (KIND_DMESG, KIND_CONSOLE)
    # and the file's role decides between the kernel kinds, as for timed lines
    assert detect(RHEL5_DMESG, "dmesg") == KIND_DMESG
    assert detect(RHEL5_DMESG, "vmcore-dmesg") == KIND_VMCORE_DMESG


def test_prefixed_lines_without_kernel_evidence_are_no_kernel_log() -> None:
    assert detect(HEADERS) == KIND_UNKNOWN
    # one line that reads as a kernel's among them is not a tenth
    assert detect(HEADERS + b"ACPI: tables loaded\n" + HEADERS) == KIND_UNKNOWN
    # nor are generic markers, which programs print too: a type stub's level constants
    stub = b"from typing import Dict\n\nDEBUG: int = ...\nINFO: int = ...\nSUCCESS: int = ...\n"
    stub += b"WARNING: int = ...\nERROR: int = ...\n\nDEFAULT_TAGS: Dict[int, str] = ...\n"
    assert detect(stub) == KIND_UNKNOWN


def _after_a_hard_reset(log: bytes, block: int = 4096) -> bytes:
    """`log` as a hard reset leaves it: the rest of its last block NULs (written to the
    filesystem's metadata, not yet its data), then the next boot's lines."""
    half = log[: len(log) // 2]
    return half + bytes(block - len(half) % block) + log


@pytest.mark.parametrize(
    ("log", "kind"),
    [(SYSLOG, KIND_SYSLOG), (DMESG_HEAD, KIND_DMESG), (CONSOLE, KIND_CONSOLE)],
)
def test_a_run_of_nuls_a_hard_reset_leaves_does_not_make_a_log_binary(
    log: bytes, kind: str
) -> None:
    head = _after_a_hard_reset(log)
    assert head.count(b"\x00") > len(head[:4096]) // 10  # what called it binary
    assert detect(head) == kind
    # a log whose first block was never written at all is read from its next one
    assert detect(bytes(4096) + log) == kind


def test_binary_data_with_runs_of_nuls_stays_binary() -> None:
    exe = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HHI", 2, 62, 1) + bytes(4000)
    noise = bytes(range(256)) * 4
    for head in (
        exe + noise,  # an executable: a header, padding, code
        (noise + bytes(600)) * 6,  # records padded to their size
        bytes(16 * 1024),  # nothing but NULs: a sparse or zeroed file
        SYSLOG.decode().encode("utf-16-le"),  # a NUL after each byte of text: no run
    ):
        assert detect(head) == KIND_UNKNOWN


@pytest.mark.parametrize(
    "head", [SYSLOG, DMESG_HEAD, PLAIN_DMESG, PRI_DMESG, CONSOLE, JOURNAL, RFC5424, CRASH_TOOL]
)
def test_a_utf8_byte_order_mark_changes_nothing_of_a_head(head: bytes) -> None:
    """Notepad's "UTF-8 with BOM" opens a file with the mark; one such file added to another
    opens a line with it. The lines are told by what follows the mark."""
    d = importlib.import_module("triage.sources.detect")
    bom = b"\xef\xbb\xbf"
    lines = head.split(b"\n")
    marked = bom + b"\n".join([*lines[:3], bom + lines[3], *lines[4:]])
    assert d.analyze(marked).counts == d.analyze(head).counts
