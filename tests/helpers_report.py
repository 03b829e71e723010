"""A realistic dataset for the report tests, built from the model's records.

It goes through `model.records_to_table(...).to_pandas()` exactly like the store will, so list
and struct columns arrive as numpy arrays of dicts and timestamps as pandas Timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from triage import model
from triage.model import Boot, Crash, ErrorRecord, Evidence, Fact, Finding, Frame, SourceFile

HOSTILE_TEXT = (
    "logger: <script>alert(1)</script> [bold red]boom[/] | a|b "
    "\x1b[2J\x1b]0;pwned\x07 \u202eevil\u202c <!-- </script>"
)

VM_UUID = "0b6d4c51-7c1e-4a2e-9b53-5c1d8e0f2a11"
XS_BUNDLE = "bug-report-20091003141502.tar.bz2"
SOS_BUNDLE = "sosreport-db02.example.com-20091103.tar.xz"


@dataclass
class ReportDataset:
    sources: pd.DataFrame
    lines: pd.DataFrame
    boots: pd.DataFrame
    crashes: pd.DataFrame
    facts: pd.DataFrame
    findings: pd.DataFrame
    errors: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)


def _src(bundle: str, path: str, kind: str, role: str, vm_name: str = "") -> SourceFile:
    return SourceFile(
        disk_path=f"/data/in/{bundle}",
        members=(path,),
        bundle=bundle,
        path=path,
        kind=kind,
        role=role,
        vm_name=vm_name,
        layout="status-report" if bundle == XS_BUNDLE else "sosreport",
    )


def _source_row(src: SourceFile, lines: int, status: str = "ok", error: str = "") -> dict:
    return {
        "source_id": src.source_id,
        "bundle": src.bundle,
        "path": src.path,
        "display": src.display,
        "kind": src.kind,
        "layout": src.layout,
        "role": src.role,
        "rotation": 0,
        "vm_name": src.vm_name,
        "parent_id": "",
        "size": lines * 97,
        "sha256": model.stable_id(src.display, length=64),
        "mtime": None,
        "truncated": False,
        "status": status,
        "error": error,
        "line_count": lines,
    }


def build_dataset(hostile: bool = False, unexplained: int = 3) -> ReportDataset:
    """Two bundles: a XenServer status report with a RHEL 4.7 xenU guest console, and a RHEL 5.3
    sosreport with a netfront soft lockup; unexplained crashes sharing a fingerprint; errors."""
    guest = _src(XS_BUNDLE, "guest-rhel47-web01.log", model.KIND_CONSOLE, "guest-console", "web01")
    xensource = _src(XS_BUNDLE, "var/log/xensource.log", model.KIND_XENSOURCE, "xensource")
    messages = _src(SOS_BUNDLE, "var/log/messages", model.KIND_SYSLOG, "messages")
    app = _src("app01-console.log", "app01-console.log", model.KIND_CONSOLE, "guest-console")
    sources = [
        _source_row(guest, 1842),
        _source_row(xensource, 52311),
        _source_row(messages, 20877),
        _source_row(app, 9120, "partial", "truncated gzip stream"),
    ]

    b47 = Boot(
        boot_id=model.stable_id(guest.source_id, "0"),
        source_id=guest.source_id,
        index=0,
        first_line=1,
        last_line=1842,
        release="2.6.9-78.0.1.ELxenU",
        distro="rhel",
        distro_release="4.7",
        flavour="xenU",
        arch="i686",
        hostname="web01",
        banner="Linux version 2.6.9-78.0.1.ELxenU (mockbuild@builder10.centos.org) "
        "(gcc version 3.4.6 20060404 (Red Hat 3.4.6-10)) #1 SMP Tue Aug 5 11:51:18 EDT 2008",
        start_time=datetime(2009, 10, 3, 9, 12, 4),
    )
    b53 = Boot(
        boot_id=model.stable_id(messages.source_id, "2"),
        source_id=messages.source_id,
        index=2,
        first_line=18211,
        last_line=20877,
        release="2.6.18-128.el5xen",
        distro="rhel",
        distro_release="5.3",
        flavour="xen",
        arch="x86_64",
        hostname="db02",
        start_time=datetime(2009, 11, 2, 22, 40, 51),
    )
    apps = [
        Boot(
            boot_id=model.stable_id(app.source_id, str(i)),
            source_id=app.source_id,
            index=i,
            first_line=1 + i * 3000,
            last_line=3000 + i * 3000,
            release="2.6.32-754.35.1.el6.x86_64",
            distro="centos",
            distro_release="6.10",
            arch="x86_64",
            hostname="app01",
            start_time=datetime(2021, 3, 1 + i, 8, 0, 0),
        )
        for i in range(3)
    ]
    boots = [b47, b53, *apps]

    oops = Crash(
        crash_id=model.stable_id(guest.source_id, "812"),
        source_id=guest.source_id,
        boot_id=b47.boot_id,
        first_line=812,
        last_line=851,
        type="BUG",
        title="BUG: unable to handle kernel paging request in do_page_fault",
        panicked=True,
        timestamp=datetime(2009, 10, 3, 14, 2, 11),
        release=b47.release,
        function="do_page_fault",
        frames=[Frame("do_page_fault", 0x1A2, 0x4F0), Frame("error_code", 0x2B, 0x30)],
        fingerprint="9f1c2e77a0d4b3c1",
    )
    lockup = Crash(
        crash_id=model.stable_id(messages.source_id, "20311"),
        source_id=messages.source_id,
        boot_id=b53.boot_id,
        first_line=20311,
        last_line=20346,
        type="HANG",
        title="BUG: soft lockup in netif_poll",
        timestamp=datetime(2009, 11, 3, 2, 14, 7),
        release=b53.release,
        cpu=1,
        comm="swapper",
        pid=0,
        function="netif_poll",
        frames=[Frame("_spin_lock"), Frame("netif_poll"), Frame("net_rx_action")],
        fingerprint="4be0d5a1c9e2f7a3",
    )
    crashes = [oops, lockup]
    gpf_title = "general protection fault in ext4_journal_start_sb"
    for i in range(unexplained):
        boot = apps[i % len(apps)]
        crashes.append(
            Crash(
                crash_id=model.stable_id(app.source_id, "gpf", str(i)),
                source_id=app.source_id,
                boot_id=boot.boot_id,
                first_line=boot.first_line + 2500 + 60 * (i // len(apps)),
                last_line=boot.first_line + 2540 + 60 * (i // len(apps)),
                type="GPF",
                title=HOSTILE_TEXT if hostile and i == 0 else gpf_title,
                timestamp=datetime(2021, 3, 1 + i, 17, 30, 0) + timedelta(minutes=7 * i),
                release=boot.release,
                function="ext4_journal_start_sb",
                fingerprint="d00df00dcafe0001",
                panicked=i == 0,
            )
        )
    crashes.append(
        Crash(
            crash_id=model.stable_id(app.source_id, "slab"),
            source_id=app.source_id,
            boot_id=apps[2].boot_id,
            first_line=8900,
            last_line=8930,
            type="BUG",
            title="kernel BUG at mm/slab.c:2752",
            corrupted=True,
            corrupted_reason="report cut off: no call trace",
            timestamp=datetime(2021, 3, 3, 23, 58, 1),
            release=apps[2].release,
            fingerprint="",
        )
    )
    crashes.append(
        Crash(
            crash_id=model.stable_id(app.source_id, "oom"),
            source_id=app.source_id,
            boot_id=apps[1].boot_id,
            first_line=5120,
            last_line=5180,
            record="event",
            type="OOM",
            title="Out of memory: Kill process 2211 (java)",
            timestamp=datetime(2021, 3, 2, 11, 0, 0),
        )
    )

    lockup_evidence = [
        Evidence(
            messages.source_id,
            20311,
            "Nov  3 02:14:07 db02 kernel: BUG: soft lockup - CPU#1 stuck for 10s! [swapper:0]",
            "soft lockup report",
            f"{SOS_BUNDLE}!var/log/messages",
        ),
        Evidence(
            messages.source_id,
            20329,
            "Nov  3 02:14:07 db02 kernel:  [<ffffffff80264a83>] _spin_lock+0x9/0xa",
            "trace holds _spin_lock under netif_poll",
        ),
        Evidence(
            messages.source_id,
            20331,
            "Nov  3 02:14:07 db02 kernel:  [<ffffffff88062b4c>] :xennet:netif_poll+0x9c/0x8d1",
            "trace holds _spin_lock under netif_poll",
        ),
    ]
    if hostile:
        lockup_evidence.append(
            Evidence(messages.source_id, 20350, f"Nov  3 02:14:09 db02 {HOSTILE_TEXT}", "context")
        )
    findings = [
        Finding(
            finding_id=model.stable_id("spurious-page-fault", oops.crash_id),
            signature_id="xen-rhel/spurious-page-fault",
            title="RHEL 4 guest crashes on a spurious page fault raised by a newer CPU",
            source_id=guest.source_id,
            boot_id=b47.boot_id,
            crash_id=oops.crash_id,
            confidence="high",
            confidence_reason="RHEL 4 xenU kernel, kernel-space fault address, "
            "no suppress-spurious-page-faults in the VM's other-config",
            verdict="affected",
            verdict_reason="2.6.9-78.0.1.ELxenU is a Red Hat xenU kernel, not a XenServer .xs build",
            release=b47.release,
            distro_release="4.7",
            host="xenhost07",
            vm_uuid=VM_UUID,
            vm_name="web01",
            evidence=[
                Evidence(
                    guest.source_id,
                    812,
                    "Unable to handle kernel paging request at virtual address c0a4b000",
                    "kernel-space fault address",
                    f"{XS_BUNDLE}!guest-rhel47-web01.log",
                ),
                Evidence(guest.source_id, 815, "Oops: 0003 [#1]", "oops header"),
                Evidence(
                    guest.source_id,
                    819,
                    "EFLAGS: 00010202   (2.6.9-78.0.1.ELxenU)",
                    "running kernel",
                ),
            ],
            references=["RHBZ 465914"],
            fix="Install the XenServer RHEL 4.8 kernel from the XenServer Tools ISO inside the "
            "guest: mount xs-tools.iso and run /mnt/Linux/install.sh.",
            workaround="Set the flag while the guest still runs a Red Hat kernel, then reboot it:\n"
            f"xe vm-param-set uuid={VM_UUID} other-config:suppress-spurious-page-faults=true\n"
            "Remove it after the XenServer kernel is installed, as it costs performance:\n"
            f"xe vm-param-remove uuid={VM_UUID} param-name=other-config "
            "param-key=suppress-spurious-page-faults",
            first_time=datetime(2009, 10, 3, 14, 2, 11),
        ),
        Finding(
            finding_id=model.stable_id("rhel47-64gib-boot", guest.source_id),
            signature_id="xen-rhel/rhel47-64gib-boot",
            title="RHEL 4.7 PAE xenU guest cannot use memory above 64 GiB",
            source_id=guest.source_id,
            boot_id=b47.boot_id,
            confidence="medium",
            confidence_reason="host memory 96 GiB from xl info; no boot failure in the console",
            verdict="affected",
            verdict_reason="2.6.9-78.0.1.ELxenU is between 2.6.9-78.EL and 2.6.9-89.0.23.EL",
            release=b47.release,
            distro_release="4.7",
            host="xenhost07",
            vm_uuid=VM_UUID,
            vm_name="web01",
            evidence=[
                Evidence(
                    guest.source_id,
                    1,
                    b47.banner,
                    "RHEL 4.7 PAE xenU banner",
                    f"{XS_BUNDLE}!guest-rhel47-web01.log",
                )
            ],
            references=["RHBZ 311431"],
            fix="Install the XenServer RHEL 4.8 kernel from xs-tools.iso (/mnt/Linux/install.sh).",
            workaround="Once the VM has booted with the XenServer Tools, lift the limit:\n"
            f"    xe vm-param-remove uuid={VM_UUID} param-name=other-config "
            "param-key=machine-address-size",
        ),
        Finding(
            finding_id=model.stable_id("netfront-deadlock", lockup.crash_id),
            signature_id="xen-rhel/netfront-deadlock",
            title="netfront rx_lock deadlock: a vCPU spins in netif_poll",
            source_id=messages.source_id,
            boot_id=b53.boot_id,
            crash_id=lockup.crash_id,
            confidence="medium",
            confidence_reason="soft lockup with _spin_lock under netif_poll; mechanism inferred",
            verdict="affected",
            verdict_reason="2.6.18-128.el5xen is older than the fix in 2.6.18-137.el5",
            release=b53.release,
            distro_release="5.3",
            host="db02",
            evidence=lockup_evidence,
            references=["EXT-45", "RHBZ 480939"],
            fix="Update the guest kernel to 2.6.18-164.el5 (RHEL 5.4) or later.",
            workaround="None known besides the kernel update; avoid changing rxbuf_min/rxbuf_max "
            "through sysfs while the interface is up:\n"
            "$ cat /sys/class/net/eth0/device/rxbuf_min",
            first_time=datetime(2009, 11, 3, 2, 14, 7),
        ),
    ]
    facts = [
        Fact(XS_BUNDLE, "host", "xenhost07", "memory_total_bytes", str(96 * 2**30), "xenhost07"),
        Fact(XS_BUNDLE, "vm", VM_UUID, "other-config:machine-address-size", "36", "web01"),
    ]
    errors = [
        ErrorRecord(
            f"{XS_BUNDLE}!var/log/xensource.log.3.gz",
            "sources",
            "truncated-gzip",
            f"{XS_BUNDLE}!var/log/xensource.log.3.gz: gzip stream ends early after 1.2 MiB",
        ),
        ErrorRecord(
            f"{SOS_BUNDLE}!../../etc/passwd",
            "sources",
            "path-traversal",
            f"{SOS_BUNDLE}!../../etc/passwd: member escapes the archive root, skipped",
        ),
    ]

    def frame(records: list[Any], schema: Any) -> pd.DataFrame:
        return model.records_to_table(records, schema).to_pandas()

    return ReportDataset(
        sources=frame(sources, model.SOURCES_SCHEMA),
        lines=model.LINES_SCHEMA.empty_table().to_pandas(),
        boots=frame(boots, model.BOOTS_SCHEMA),
        crashes=frame(crashes, model.CRASHES_SCHEMA),
        facts=frame(facts, model.FACTS_SCHEMA),
        findings=frame(findings, model.FINDINGS_SCHEMA),
        errors=frame(errors, model.ERRORS_SCHEMA),
        manifest={
            "schema_version": model.SCHEMA_VERSION,
            "tool_version": "0.1.0",
            "signature_digest": "sha256:5d41402abc4b2a76b9719d911017c592",
            "inputs": [
                {"path": f"/data/in/{XS_BUNDLE}", "sha256": "ab" * 32},
                {"path": f"/data/in/{SOS_BUNDLE}", "sha256": "cd" * 32},
                {"path": "/data/in/app01-console.log", "sha256": "ef" * 32},
            ],
            "counts": {"sources": len(sources), "findings": len(findings)},
            "timings": {"total_s": 3.92},
            "created": "2024-05-14T09:30:00",
        },
    )


def empty_dataset() -> ReportDataset:
    def empty(schema: Any) -> pd.DataFrame:
        return schema.empty_table().to_pandas()

    return ReportDataset(
        sources=empty(model.SOURCES_SCHEMA),
        lines=empty(model.LINES_SCHEMA),
        boots=empty(model.BOOTS_SCHEMA),
        crashes=empty(model.CRASHES_SCHEMA),
        facts=empty(model.FACTS_SCHEMA),
        findings=empty(model.FINDINGS_SCHEMA),
        errors=empty(model.ERRORS_SCHEMA),
        manifest={},
    )
