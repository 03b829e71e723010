"""Synthetic inputs for the benchmarks: big console logs, many small files, many bundles.

The lines are realistic kernel and daemon output (RHEL 5 Xen guest), so the prefilter and the
parsers see the mix of prefixes and message shapes they meet in real logs; a few crash reports
are planted so that the work after the prefilter is exercised too.
"""

from __future__ import annotations

import io
import os
import random
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

BANNER = (
    "Linux version 2.6.18-128.el5xen (mockbuild@hs20-bc1-5.build.redhat.com) (gcc version 4.1.2 "
    "20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Dec 17 12:22:24 EST 2008"
)
NOISE = [
    "eth0: no IPv6 routers present",
    "device-mapper: ioctl: 4.11.5-ioctl (2007-12-12) initialised: dm-devel@redhat.com",
    "EXT3 FS on xvda1, internal journal",
    "kjournald starting.  Commit interval 5 seconds",
    'audit(1245061265.123:42): avc:  denied  { read } for  pid=2315 comm="httpd" name="x"',
    "xen_net: Xen virtual ethernet driver.",
    "Adding 2096472k swap on /dev/VolGroup00/LogVol01.  Priority:-1 extents:1 across:2096472k",
    "NET: Registered protocol family 10",
    "lo: Disabled Privacy Extensions",
    "IA-32 Microcode Update Driver: v1.14a-xen <tigran@veritas.com.uk>",
    "SELinux: initialized (dev xvda1, type ext3), uses xattr",
    "printk: 3 messages suppressed.",
]
CRASH = [
    "BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]",
    "",
    "Pid: 12, comm:              events/1",
    "EIP: 0061:[<c0614a1c>] CPU: 1",
    "EIP is at _spin_lock+0x7/0xf",
    " EFLAGS: 00000286    Not tainted  (2.6.18-128.el5xen #1)",
    " [<ee1d5a2f>] netif_poll+0x4f/0x6b0 [xennet]",
    " [<c05b1d8e>] net_rx_action+0x92/0x175",
    " [<c042a6a1>] __do_softirq+0x5e/0xc8",
    " [<c0407461>] do_softirq+0x52/0x9d",
    " =======================",
]


def bsd_time(t: float) -> str:
    """An RFC 3164 time: the day of the month padded with a space, not a zero."""
    g = time.gmtime(t)
    return time.strftime("%b ", g) + f"{g.tm_mday:2d}" + time.strftime(" %H:%M:%S", g)


def _planted(
    fh, size: int, crashes: int, block: Callable[[], str], crash_line: Callable[[str], str]
) -> None:
    """Blocks of lines (`block()`) up to about `size` bytes, with `crashes` soft lockups
    (`crash_line` of each of their lines) spread evenly among them."""
    every = max(size // max(crashes, 1), 1)
    written, next_crash = 0, every // 2
    while written < size:
        chunk = block()
        fh.write(chunk)
        written += len(chunk)
        if written >= next_crash:
            fh.write("".join(crash_line(line) for line in CRASH))
            next_crash += every


def console_log(path: Path, size: int, crashes: int = 4, seed: int = 7) -> Path:
    """A console log of about `size` bytes: `[ts] message` lines, one boot, a few soft lockups."""
    rnd = random.Random(seed)
    t = 0.0

    def block() -> str:
        nonlocal t
        buf = io.StringIO()
        for _ in range(2000):
            t += rnd.random() * 0.05
            buf.write(f"[{t:12.6f}] {NOISE[rnd.randrange(len(NOISE))]}\n")
        return buf.getvalue()

    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write(f"[    0.000000] {BANNER}\n")
        _planted(fh, size, crashes, block, lambda line: f"[{t:12.6f}] {line}\n")
    return path


def flooded_console(path: Path, size: int) -> int:
    """A console log of about `size` bytes that is nothing but soft lockup reports, back to
    back (a guest stuck for days prints one every 20 seconds or so); the number of reports."""
    reports, t = 0, 0.0
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write(f"[    0.000000] {BANNER}\n")
        while fh.tell() < size:
            t += 20.0
            fh.write("".join(f"[{t + i * 1e-4:12.6f}] {line}\n" for i, line in enumerate(CRASH)))
            reports += 1
    return reports


def member_archive(path: Path, count: int) -> Path:
    """A tar.gz of `count` tiny syslogs, one per folder: a collection of many hosts' logs."""
    with tarfile.open(path, "w:gz") as tar:
        for i in range(count):
            data = "".join(
                f"{bsd_time(1245061265 + i + k)} web{i % 50:02d} kernel: {NOISE[(i + k) % 12]}\n"
                for k in range(5)
            ).encode()
            info = tarfile.TarInfo(f"logs/host{i:05d}/messages")
            info.size, info.mtime = len(data), 1245061265
            tar.addfile(info, io.BytesIO(data))
    return path


def syslog_log(path: Path, size: int, crashes: int = 4, seed: int = 19) -> Path:
    """A host's `/var/log/messages` of about `size` bytes: kernel lines among daemon lines, a
    few soft lockups, over a New Year (year-less times, so the year is worked out per line)."""
    rnd = random.Random(seed)
    step = 120 * 86400 * 75 / size  # about four months over the file: October to January
    t = 1255000000.0  # 8 October 2009

    def block() -> str:
        nonlocal t
        buf = io.StringIO()
        for _ in range(2000):
            t += rnd.random() * 2 * step
            ts = bsd_time(t)
            if rnd.random() < 0.4:
                buf.write(f"{ts} web07 kernel: {NOISE[rnd.randrange(len(NOISE))]}\n")
            else:
                prog, msg = DAEMONS[rnd.randrange(len(DAEMONS))]
                buf.write(f"{ts} web07 {prog}[{rnd.randrange(300, 32000)}]: {msg}\n")
        return buf.getvalue()

    with open(path, "w", encoding="ascii", newline="\n") as fh:
        _planted(fh, size, crashes, block, lambda line: f"{bsd_time(t)} web07 kernel: {line}\n")
    os.utime(path, (t, t))
    return path


#: xapi's own lines in a 6.x+ xensource.log (the bracket: level|host|thread|task|module)
XAPI_LINES = [
    "[debug|xs13|381661 UNIX /var/lib/xcp/xapi|session.login_with_password D:{t}|xapi] Session.create",
    "[ info|xs13|381661 UNIX /var/lib/xcp/xapi|dispatch:VM.get_record D:{t}|taskhelper] task forwarded",
    "[debug|xs13|50 |xapi events D:{t}|xenops] Event on VM {u}; resident_here = true",
    "[debug|xs13|12 |heartbeat D:{t}|xapi] Host.heartbeat called",
    "[debug|xs13|28 |scan one D:{t}|xapi] Attempting to scan SR OpaqueRef:4b2f0d1c-8e7a-4c3b",
]
#: a VM start as the audit log records it: a fact, so one in many thousand lines
VM_START = "[debug|xs13|50 |VM.start R:{t}|audit] VM.start: VM = '{u} (web01)'"


def xensource_log(path: Path, size: int, seed: int = 23) -> Path:
    """A pool master's xensource.log of about `size` bytes (syslog era, over a New Year): xapi's
    bracketed lines among squeezed's, a VM start at the start of each 2,000 lines."""
    rnd = random.Random(seed)
    step = 60 * 86400 * 160 / size  # about two months over the file: December to January
    t = 1291161600.0  # 1 December 2010
    vm = "814c8b22-d896-bc76-a421-7afce8e8a538"
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        written = 0
        while written < size:
            buf = io.StringIO()
            for i in range(2000):
                t += rnd.random() * 2 * step
                head = f"{bsd_time(t)} xs13 "
                if i and rnd.random() < 0.2:
                    buf.write(head + f"squeezed[812]: balancing {rnd.randrange(1 << 20)}\n")
                    continue
                line = XAPI_LINES[rnd.randrange(len(XAPI_LINES))] if i else VM_START
                buf.write(
                    head + "xapi: " + line.format(t=f"{rnd.getrandbits(48):012x}", u=vm) + "\n"
                )
            chunk = buf.getvalue()
            fh.write(chunk)
            written += len(chunk)
    os.utime(path, (t, t))
    return path


def status_report(folder: Path, log: Path, compression: str = "") -> Path:
    """A XenServer status report in `folder` holding `log` as its xensource.log: a plain tar,
    or compressed as `xen-bugtool` leaves it (`compression="bz2"`: bug-report-*.tar.bz2)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = "bug-report-20110131120000"
    suffix = f".tar.{compression}" if compression else ".tar"
    with tarfile.open(folder / f"{root}{suffix}", f"w:{compression}") as tar:
        tar.add(log, f"{root}/var/log/xensource.log")
    return folder


def gzipped(plain: Path, path: Path) -> Path:
    """`plain` compressed as logrotate leaves it (gzip), at the fastest level."""
    import gzip
    import shutil

    with open(plain, "rb") as src, gzip.open(path, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return path


def small_files(folder: Path, count: int, size: int = 20_000, seed: int = 11) -> Path:
    """`count` syslog-style files of about `size` bytes each."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    lines = []
    for i in range(size // 80 + 1):
        ts = time.strftime("%b %d %H:%M:%S", time.gmtime(1245061265 + i))
        lines.append(f"{ts} web07 kernel: {NOISE[rnd.randrange(len(NOISE))]}")
    body = ("\n".join(lines) + "\n").encode()[:size]
    for i in range(count):
        (folder / f"host{i:05d}.log").write_bytes(body)
    return folder


def bundles(folder: Path, count: int, seed: int = 13) -> Path:
    """`count` sosreport-shaped tar.gz bundles, each with messages, dmesg and uname."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    for i in range(count):
        name = f"sosreport-host{i:04d}-2009-06-15-abc{i:04d}"
        files = {
            "sos_commands/kernel/uname_-a": (
                f"Linux host{i:04d} 2.6.18-128.el5xen #1 SMP Wed Dec 17 12:22:24 EST 2008 i686 "
                "i686 i386 GNU/Linux\n"
            ),
            "sos_commands/kernel/dmesg": "".join(
                f"[{j * 0.01:12.6f}] {NOISE[rnd.randrange(len(NOISE))]}\n" for j in range(3000)
            ),
            "var/log/messages": "".join(
                f"Jun 15 10:{j // 60 % 60:02d}:{j % 60:02d} host{i:04d} kernel: "
                f"{NOISE[rnd.randrange(len(NOISE))]}\n"
                for j in range(3000)
            ),
        }
        if i % 10 == 0:
            files["var/log/messages"] += "".join(
                f"Jun 15 11:00:00 host{i:04d} kernel: {line}\n" for line in CRASH
            )
        with tarfile.open(folder / f"{name}.tar.gz", "w:gz") as tar:
            for member, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(f"{name}/{member}")
                info.size = len(data)
                info.mtime = 1245061265
                tar.addfile(info, io.BytesIO(data))
    return folder


#: daemon lines around the kernel's in a host's syslog (a support bundle's logs are mostly these)
DAEMONS = [
    ("sshd", "Accepted publickey for root from 10.1.2.3 port 51022 ssh2"),
    ("sshd", "pam_unix(sshd:session): session opened for user root by (uid=0)"),
    ("crond", "(root) CMD (/usr/lib/sa/sa1 1 1)"),
    ("ntpd", "synchronized to 10.1.0.1, stratum 2"),
    ("xinetd", "START: nrpe pid=4242 from=10.1.0.9"),
    ("yum", "Updated: tzdata-2009f-1.el5.noarch"),
    ("snmpd", "Connection from UDP: [10.1.0.9]:161"),
    ("dhclient", "DHCPREQUEST on eth0 to 10.1.0.1 port 67"),
]


def _syslog(
    rnd: random.Random,
    host: str,
    start: int,
    n: int,
    progs: list[tuple[str, str]],
    kernel_share: float,
) -> str:
    """`n` RFC 3164 lines from `start` on, a share of them the kernel's."""
    out = []
    t = start
    for _ in range(n):
        t += rnd.randrange(1, 200)
        ts = bsd_time(t)
        if rnd.random() < kernel_share:
            out.append(f"{ts} {host} kernel: {NOISE[rnd.randrange(len(NOISE))]}\n")
        else:
            prog, msg = progs[rnd.randrange(len(progs))]
            out.append(f"{ts} {host} {prog}[{rnd.randrange(300, 32000)}]: {msg}\n")
    return "".join(out)


def sosreport(folder: Path, count: int, seed: int = 17, week_lines: int = 6000) -> Path:
    """`count` sosreport-shaped tar.bz2 bundles the size of a small real one (~3 MB of logs):
    messages with four weekly rotations (kernel lines among daemon lines), secure, cron,
    the boot dmesg, `dmesg` and `uname -a` command output, and ~80 small command and config
    files, which a real sosreport has by the hundred and which are walked and detected too."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    for i in range(count):
        host = f"host{i:04d}"
        name = f"sosreport-{host}-2009-06-15-abc{i:04d}"

        week = 7 * 86400
        end = 1245061265
        files = {
            "sos_commands/kernel/uname_-a": (
                f"Linux {host} 2.6.18-128.el5xen #1 SMP Wed Dec 17 12:22:24 EST 2008 i686 "
                "i686 i386 GNU/Linux\n"
            ),
            "sos_commands/kernel/dmesg": f"{BANNER}\n"
            + "".join(f"{NOISE[rnd.randrange(len(NOISE))]}\n" for _ in range(1500)),
            "var/log/dmesg": f"{BANNER}\n"
            + "".join(f"{NOISE[rnd.randrange(len(NOISE))]}\n" for _ in range(400)),
            "var/log/secure": _syslog(rnd, host, end - week, week_lines // 3, DAEMONS[:2], 0.0),
            "var/log/cron": _syslog(rnd, host, end - week, week_lines // 4, DAEMONS[2:3], 0.0),
        }
        for r in range(5):
            files["var/log/messages" + (f".{r}" if r else "")] = _syslog(
                rnd, host, end - (r + 1) * week, week_lines, DAEMONS, 0.3
            )
        if i % 10 == 0:
            files["var/log/messages"] += "".join(
                f"Jun 15 11:00:00 {host} kernel: {line}\n" for line in CRASH
            )
        for k in range(40):
            files[f"sos_commands/misc/command_{k:02d}"] = "".join(
                f"{k:4d} {j:6d} value-{rnd.randrange(10**6)}\n"
                for j in range(rnd.randrange(20, 200))
            )
            files[f"etc/conf{k:02d}.conf"] = "".join(
                f"option_{j} = {rnd.randrange(1000)}\n" for j in range(rnd.randrange(5, 60))
            )
        with tarfile.open(folder / f"{name}.tar.bz2", "w:bz2") as tar:
            for member, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(f"{name}/{member}")
                info.size = len(data)
                info.mtime = end
                tar.addfile(info, io.BytesIO(data))
    return folder


def ensure(path: Path, make) -> Path:
    """Build an input once and reuse it across benchmark runs."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        make(tmp)
        os.replace(tmp, path)
    return path
