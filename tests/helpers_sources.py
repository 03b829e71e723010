"""Builders for realistic bundles used by the tests/test_sources_*.py files.

Every bundle is assembled in memory from the layouts documented in
/work/shared/knowledge (formats.md §1.5, §4; xenserver-status-report.md), written to tmp_path,
and read back only through the public `triage.sources` API.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import time
import zipfile
from pathlib import Path

import zstandard

SOS = "sosreport-web07-2024-03-05-abcdefg"
BUG = "bug-report-20230411093012"

DMESG_HEAD = b"".join(
    b"[%5d.%06d] %s\n" % (i // 10, i * 1371 % 1000000, msg)
    for i, msg in enumerate(
        [
            b"Linux version 3.10.0-1160.el7.x86_64 (mockbuild@x86-vm-26.build.eng.bos.redhat.com)"
            b" (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Tue Aug 18 14:50:17 EDT 2020",
            b"Command line: BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/xvda1 ro console=hvc0",
            b"e820: BIOS-provided physical RAM map:",
            b"Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
            b"NX (Execute Disable) protection: active",
            b"DMI not present or invalid.",
            b"Hypervisor detected: Xen",
            b"e820: last_pfn = 0x100000 max_arch_pfn = 0x400000000",
            b"Booting paravirtualized kernel on Xen",
            b"xen: PV spinlocks enabled",
            b"Memory: 3994584k/4194304k available (6792k kernel code, 0k absent, 199720k reserved)",
            b"blkfront: xvda: barrier or flush: disabled; persistent grants: disabled;",
        ]
    )
)
VMCORE_DMESG = DMESG_HEAD + (
    b"[ 5012.331201] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n"
    b"[ 5012.331220] IP: [<ffffffff810b7f5e>] list_del+0xe/0x40\n"
    b"[ 5012.331240] Oops: 0002 [#1] SMP\n"
    b"[ 5012.331300] Kernel panic - not syncing: Fatal exception\n"
)
SYSLOG = (
    b"".join(
        b"Mar  %d 10:%02d:%02d web07 kernel: %s\n" % (d, i, i * 7 % 60, m)
        for d, (i, m) in zip(
            [4] * 6,
            enumerate(
                [
                    b"blkfront: xvda: barrier or flush: disabled",
                    b"XENBUS: Device with no driver: device/vif/0",
                    b"INFO: task jbd2/xvda1-8:345 blocked for more than 120 seconds.",
                    b"Call Trace:",
                    b" [<ffffffff8163a909>] schedule+0x29/0x70",
                    b"systemd-journald[512]: Received SIGTERM",
                ]
            ),
            strict=True,
        )
    )
    + b"Mar  4 10:07:00 web07 sshd[901]: Accepted publickey for root from 10.0.0.5 port 51000\n"
)
JOURNAL = (
    b"-- Logs begin at Mon 2024-03-04 09:00:01 UTC, end at Tue 2024-03-05 10:00:00 UTC. --\n"
    b"Mar 04 09:00:01 web07 kernel: Linux version 3.10.0-1160.el7.x86_64\n"
    b"Mar 04 09:00:01 web07 kernel: Command line: ro root=/dev/xvda1\n"
    b"-- Reboot --\n"
    b"Mar 04 09:05:01 web07 kernel: Linux version 3.10.0-1160.el7.x86_64\n"
)
UNAME = b"Linux web07 3.10.0-1160.el7.x86_64 #1 SMP Tue Aug 18 14:50:17 EDT 2020 x86_64 GNU/Linux\n"
RPMS = (
    b"kernel-3.10.0-1160.el7.x86_64                               Mon 01 Jan 2024 10:00:00 AM UTC\n"
    b"xe-guest-utilities-7.20.0-1.x86_64                          Mon 01 Jan 2024 10:00:01 AM UTC\n"
)
XENSOURCE_NEW = b"".join(
    b"Apr 11 09:%02d:00 xs01 xenopsd-xc: [debug||%d |Async.VM.pool_migrate R:3e35c13ce76f|xenops] "
    b"VM = 814c8b22-d896-bc76-a421-7afce8e8a538; domid = 8; progress = %d / 100\n" % (i, 18 + i, i)
    for i in range(8)
)
XENSOURCE_OLD = b"".join(
    b"[20100914T14:02:%02d.405Z|debug|xs-host1|38240 inet-RPC|Async.VM.pool_migrate "
    b"R:4d1e7a0c2b9f|xapi] Sender 1. Logging into remote server\n" % i
    for i in range(8)
)
XL_INFO = (
    b"host                   : xs01\nrelease                : 4.19.0+1\n"
    b"total_memory           : 64892\nfree_memory            : 1021\n"
    b"xen_major              : 4\nxen_minor              : 13\n"
)
XAPI_DB = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<database><manifest><pair key="schema_major_vsn" '
    b'value="5"/></manifest><table name="VM"><row ref="OpaqueRef:1" name__label="web07"/></table>'
    b"</database>\n"
)
INVENTORY = b"INSTALLATION_UUID='0b8c2a57-96a1-4c1e-9a5b-1f0a0b8f6d11'\nPRODUCT_VERSION='8.2.1'\nBUILD_NUMBER='release/yangtze/master/58'\n"
CONSOLE = (
    b"[2024-03-04 09:00:00] Logfile Opened\r\n"
    b'[2024-03-04 09:00:01] Using config file "/var/run/xend/boot/xenbl.2".\r\n'
    b"[2024-03-04 09:00:02] Linux version 2.6.18-398.el5xen (mockbuild@builder17.centos.org)\r\n"
    b"[2024-03-04 09:00:02] Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0\r\n"
    b"[2024-03-04 09:00:03] BIOS-provided physical RAM map:\r\n"
    b"[2024-03-04 09:00:03]  Xen: 0000000000000000 - 0000000040800000 (usable)\r\n"
)
CRASH_TOOL = (
    b"      KERNEL: /usr/lib/debug/lib/modules/3.10.0-1160.el7.x86_64/vmlinux\n"
    b"    DUMPFILE: /var/crash/127.0.0.1-2024-03-04-10:20:31/vmcore  [PARTIAL DUMP]\n"
    b"        CPUS: 4\n        DATE: Mon Mar  4 10:20:25 2024\n      UPTIME: 01:23:45\n"
    b"LOAD AVERAGE: 0.12, 0.20, 0.18\n       TASKS: 212\n    NODENAME: web07\n"
    b'     RELEASE: 3.10.0-1160.el7.x86_64\n       PANIC: "Oops: 0002 [#1] SMP "\n\n'
    b"crash> bt\n"
    b'PID: 345    TASK: ffff88003a5c0000  CPU: 1   COMMAND: "jbd2/xvda1-8"\n'
    b" #0 [ffff88003a5c3b20] machine_kexec at ffffffff81051beb\n"
    b" #1 [ffff88003a5c3b80] __crash_kexec at ffffffff810f2542\n"
)


def compress(data: bytes, fmt: str) -> bytes:
    if fmt == "gz":
        return gzip.compress(data, mtime=0)
    if fmt == "bz2":
        return bz2.compress(data)
    if fmt == "xz":
        return lzma.compress(data)
    if fmt == "zst":
        return zstandard.ZstdCompressor().compress(data)
    if fmt == "lz4":
        import lz4.frame

        return lz4.frame.compress(data)
    return data


def tar_bytes(
    files: dict[str, bytes],
    links: dict[str, str] | None = None,
    compression: str = "",
    mtime: float | None = None,
    extra: list[tarfile.TarInfo] | None = None,
    hardlinks: dict[str, str] | None = None,
) -> bytes:
    """A tar (optionally compressed) with regular files, symlinks, hard links and raw infos."""
    buf = io.BytesIO()
    stamp = mtime if mtime is not None else time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = stamp
            tar.addfile(ti, io.BytesIO(data))
        for name, target in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            ti.mtime = stamp
            tar.addfile(ti)
        for name, target in (hardlinks or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.LNKTYPE
            ti.linkname = target
            tar.addfile(ti)
        for ti in extra or []:
            tar.addfile(ti)
    return compress(buf.getvalue(), compression)


def zip_bytes(files: dict[str, bytes], stored: bool = False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2023, 4, 11, 9, 30, 12)), data, method)
    return buf.getvalue()


def sosreport_files(root: str = SOS) -> tuple[dict[str, bytes], dict[str, str]]:
    """A sosreport tree: messages rotated (one cut by sos to its tail), root symlinks, kdump dir."""
    files = {
        f"{root}/sos_commands/kernel/dmesg": DMESG_HEAD,
        f"{root}/sos_commands/kernel/uname_-a": UNAME,
        f"{root}/sos_commands/rpm/sh_-c_rpm_--nodigest_-qa_--qf_NAME_-_VERSION_-_RELEASE_._ARCH_INSTALLTIME_date_awk_-F_printf_-59s_s_n_1_2_sort_-V": RPMS,
        f"{root}/sos_commands/logs/journalctl_--no-pager_--catalog_--boot": JOURNAL,
        f"{root}/sos_strings/logs/var.log.messages.tailed": SYSLOG,
        f"{root}/var/log/messages-20240225": SYSLOG.replace(b"Mar  4", b"Feb 24"),
        f"{root}/var/log/messages-20240303": SYSLOG.replace(b"Mar  4", b"Mar  2"),
        f"{root}/var/crash/127.0.0.1-2024-03-04-10:20:31/vmcore-dmesg.txt": VMCORE_DMESG,
        f"{root}/sos_reports/manifest.json": b'{"components": {"report": {"plugins": {"kernel": '
        b'{"commands": [{"command": "dmesg", "filepath": "sos_commands/kernel/dmesg", '
        b'"truncated": true}]}}}}}',
        f"{root}/version.txt": b"sosreport: 4.5.6\n",
    }
    links = {
        f"{root}/uname": "sos_commands/kernel/uname_-a",
        f"{root}/installed-rpms": "sos_commands/rpm/sh_-c_rpm_--nodigest_-qa_--qf_NAME_-_VERSION_-_RELEASE_._ARCH_INSTALLTIME_date_awk_-F_printf_-59s_s_n_1_2_sort_-V",
        f"{root}/var/log/messages": "../../sos_strings/logs/var.log.messages.tailed",
        f"{root}/etc/localtime": "/usr/share/zoneinfo/UTC",
    }
    return files, links


def status_report_files(prefix: str = "") -> dict[str, bytes]:
    p = f"{prefix}{BUG}/"
    return {
        p + "var/log/xensource.log": XENSOURCE_NEW,
        p + "var/log/xensource.log.1.gz": gzip.compress(XENSOURCE_NEW, mtime=0),
        p + "var/log/xensource.log.2.gz": gzip.compress(XENSOURCE_OLD, mtime=0),
        p + "var/log/kern.log": SYSLOG.replace(b"web07", b"xs01"),
        p + "xl-info.out": XL_INFO,
        p + "xapi-db.xml": XAPI_DB,
        p + "etc/xensource-inventory": INVENTORY,
        p + "xl-dmesg.out": b"(XEN) Xen version 4.13.4-9.24.1 (mockbuild@) (gcc (GCC) 8.3.1)\n"
        b"(XEN) Latest ChangeSet: \n(XEN) Command line: dom0_mem=4096M,max:4096M\n",
    }


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
