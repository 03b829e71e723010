"""A syslog holding several hosts' lines (a central loghost's /var/log/messages) is read one
host at a time: each host's boots, crash reports and findings come from its own lines, while
the dataset keeps one source with the file's line numbers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import triage
from triage import pipeline
from triage.model import SourceFile

A_BANNER = (
    "Linux version 2.6.18-128.el5xen (mockbuild@builder10.centos.org) (gcc version 4.1.2 "
    "20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Jan 21 11:12:42 EST 2009"
)
B_BANNER = (
    "Linux version 2.6.18-164.el5xen (mockbuild@builder10.centos.org) (gcc version 4.1.2 "
    "20080704 (Red Hat 4.1.2-46)) #1 SMP Thu Sep 3 04:47:32 EDT 2009"
)
C_BANNER = (
    "Linux version 2.6.18-92.el5xen (brewbuilder@ls20-bc2-13.build.redhat.com) (gcc version "
    "4.1.2 20071124 (Red Hat 4.1.2-41)) #1 SMP Tue Apr 29 13:31:30 EDT 2008"
)
BOOT_LINES = [
    "Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0",
    "BIOS-provided physical RAM map:",
    " Xen: 0000000000000000 - 0000000040800000 (usable)",
    "Built 1 zonelists.  Total pages: 264192",
    "Kernel command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0",
    "Xen reported: 2992.500 MHz processor.",
    "Memory: 1020928k/1056768k available (2474k kernel code, 26748k reserved, 1268k data)",
    "Brought up 2 CPUs",
    "NET: Registered protocol family 2",
    "Xen virtual console successfully installed as xvc0",
    "Registering block device major 202",
    " xvda: xvda1 xvda2",
    "EXT3-fs: mounted filesystem with ordered data mode.",
    "Freeing unused kernel memory: 176k freed",
]
#: guest-a's XFS error, forced shutdown and panic (RHEL 5.3: affected by xen-rhel/xfs-panic)
A_OOPS = [
    'Filesystem "xvdb1": XFS internal error xfs_btree_check_sblock at line 307 of file '
    "fs/xfs/xfs_btree.c.  Caller 0xffffffff8835d3b4",
    "",
    "Call Trace:",
    " [<ffffffff8834e2a6>] :xfs:xfs_btree_check_sblock+0xaf/0xbe",
    " [<ffffffff8835d3b4>] :xfs:xfs_inobt_increment+0x156/0x17e",
    " [<ffffffff8835ca8f>] :xfs:xfs_dialloc+0x4d0/0x80c",
    "xfs_force_shutdown(xvdb1,0x8) called from line 1139 of file fs/xfs/xfs_trans.c.  "
    "Return address = 0xffffffff8837a1c6",
    'Filesystem "xvdb1": Corruption of in-memory data detected.  Shutting down filesystem: xvdb1',
    "XFS: Transforming an alert into a BUG.",
    "----------- [cut here ] --------- [please bite here ] ---------",
    "Kernel BUG at fs/xfs/support/debug.c:55",
    "invalid opcode: 0000 [1] SMP ",
    "last sysfs file: /devices/xen/vbd-51729/block/xvdb/removable",
    "CPU 1 ",
    "Modules linked in: xfs xennet xenblk dm_mod ext3 jbd",
    "Pid: 4410, comm: smbd Not tainted 2.6.18-128.el5xen #1",
    "RIP: e030:[<ffffffff88379c2b>]  [<ffffffff88379c2b>] :xfs:cmn_err+0x9b/0xbc",
    "RSP: e02b:ffff88001e6f3a48  EFLAGS: 00010246",
    "RAX: 0000000000000000 RBX: 0000000000000000 RCX: ffffffff884a1e40",
    "Process smbd (pid: 4410, threadinfo ffff88001e6f2000, task ffff88003f4c0080)",
    "Call Trace:",
    " [<ffffffff8837a1c6>] :xfs:xfs_trans_cancel+0x55/0xfa",
    " [<ffffffff8837b6d3>] :xfs:xfs_create+0x275/0x4d2",
    " [<ffffffff88384f1c>] :xfs:xfs_vn_mknod+0x1a6/0x30a",
    " [<ffffffff8023cc2c>] vfs_create+0xe6/0x158",
    " [<ffffffff8021b3b2>] open_namei+0x19d/0x6d5",
    " [<ffffffff802276dc>] do_filp_open+0x1c/0x38",
    " [<ffffffff8025d29e>] tracesys+0xd5/0xe0",
    "",
    "Code: 0f 0b 68 1a 6b 3b 88 c2 37 00 48 83 c4 18 5b c3 48 8b 0d ",
    "RIP  [<ffffffff88379c2b>] :xfs:cmn_err+0x9b/0xbc",
    " RSP <ffff88001e6f3a48>",
    " <0>Kernel panic - not syncing: Fatal exception",
]
#: guest-b's soft lockup (RHEL 5.4)
B_LOCKUP = [
    "BUG: soft lockup - CPU#0 stuck for 10s! [kjournald:612]",
    "CPU 0:",
    "Modules linked in: xennet xenblk dm_mod ext3 jbd ehci_hcd ohci_hcd uhci_hcd",
    "Pid: 612, comm: kjournald Not tainted 2.6.18-164.el5xen #1",
    "RIP: e030:[<ffffffff80264a47>]  [<ffffffff80264a47>] _spin_lock+0x7/0x10",
    "RSP: e02b:ffffffff80639f00  EFLAGS: 00000286",
    "RAX: ffff88003e8a2580 RBX: ffff88003e8a2000 RCX: 0000000000000000",
    "Call Trace:",
    " [<ffffffff8022c8b1>] :jbd:journal_commit_transaction+0x3c5/0x1042",
    " [<ffffffff8023b1f2>] :jbd:kjournald+0xc1/0x213",
    " [<ffffffff80233bce>] kthread+0xfe/0x132",
    " [<ffffffff80260b2c>] child_rip+0xa/0x12",
]
C_CHATTER = [
    "eth0: no IPv6 routers present",
    "audit(1236852061.410:22): audit_pid=1650 old=0 by auid=4294967295",
    "xenbus_probe_frontend: Device with no driver: device/console/0",
]


def _loghost_messages() -> tuple[str, dict[str, list[int]]]:
    """A RHEL 5 loghost's messages: guest-c (named short and fully qualified) boots first,
    guest-a boots and, later, panics on an XFS error while guest-b boots — its banner lands
    inside guest-a's oops — and guest-b then has a soft lockup among guest-c's lines. Also the
    line numbers of each guest's lines."""
    out: list[str] = []
    whose: dict[str, list[int]] = {"guest-a": [], "guest-b": [], "guest-c": []}
    clock = [8 * 3600]

    def log(host: str, text: str, name: str | None = None) -> None:
        clock[0] += 1
        h, rest = divmod(clock[0], 3600)
        stamp = f"Mar 12 {h:02d}:{rest // 60:02d}:{rest % 60:02d}"
        out.append(f"{stamp} {name or host} kernel: {text}")
        whose[host].append(len(out))

    log("guest-c", C_BANNER)
    for text in BOOT_LINES:
        log("guest-c", text, "guest-c.example.com")
    log("guest-a", A_BANNER)
    for i, text in enumerate(BOOT_LINES):
        log("guest-a", text)
        log("guest-c", C_CHATTER[i % 3])
    log("guest-a", "SGI XFS with ACLs, security attributes, large block numbers, no debug")
    log("guest-a", "XFS mounting filesystem xvdb1")
    for i, text in enumerate(A_OOPS):
        log("guest-a", text)
        if i == 12:  # guest-b boots while guest-a prints its oops
            log("guest-b", B_BANNER)
            for boot_text in BOOT_LINES[:6]:
                log("guest-b", boot_text)
        if i % 7 == 3:
            log("guest-c", C_CHATTER[i % 3], "GUEST-C.example.com")
    for text in BOOT_LINES[6:]:
        log("guest-b", text)
    for i, text in enumerate(B_LOCKUP):
        log("guest-b", text)
        if i % 4 == 1:
            log("guest-c", C_CHATTER[i % 3])
    return "\n".join(out) + "\n", whose


@pytest.fixture(scope="module")
def loghost(tmp_path_factory: pytest.TempPathFactory) -> tuple[triage.Dataset, dict]:
    root = tmp_path_factory.mktemp("loghost")
    text, whose = _loghost_messages()
    path = root / "logs" / "messages"
    path.parent.mkdir()
    path.write_text(text)
    stamp = 1236902400  # 2009-03-13: the year of its lines
    os.utime(path, (stamp, stamp))
    triage.ingest(str(path.parent), out=str(root / "out"))
    return triage.open_dataset(str(root / "out")), whose


def test_each_host_boots_its_own_kernel(loghost: tuple) -> None:
    ds, whose = loghost
    assert len(ds.sources) == 1
    boots = ds.boots.sort_values("first_line")
    got = [(b.hostname, b.release, b.distro_release) for b in boots.itertuples()]
    assert got == [
        ("guest-c", "2.6.18-92.el5xen", "5.2"),
        ("guest-a", "2.6.18-128.el5xen", "5.3"),
        ("guest-b", "2.6.18-164.el5xen", "5.4"),
    ]
    assert sorted(boots.boot_id) == [f"{ds.sources.source_id[0]}:{i}" for i in range(3)]
    # each boot spans its host's lines, and each line carries its host's boot, at its own number
    lines = ds.sql("SELECT lineno, boot_id FROM lines ORDER BY lineno")
    boot_of = dict(zip(boots.hostname, boots.boot_id, strict=True))
    expect = {n: boot_of[h] for h, ns in whose.items() for n in ns}
    assert dict(zip(lines.lineno, lines.boot_id, strict=True)) == expect
    for b in boots.itertuples():
        assert (b.first_line, b.last_line) == (whose[b.hostname][0], whose[b.hostname][-1])


def test_a_crash_is_made_of_its_hosts_lines(loghost: tuple) -> None:
    ds, whose = loghost
    boots = ds.boots.set_index("hostname")
    crashes = ds.crashes[ds.crashes.record == "crash"].sort_values("first_line")
    assert len(crashes) == 3  # guest-a's XFS error and its oops, guest-b's soft lockup
    xfs_error, oops, lockup = (crashes.iloc[i] for i in range(3))
    assert xfs_error.boot_id == boots.loc["guest-a", "boot_id"]
    assert "XFS internal error" in xfs_error.report and "eth0" not in xfs_error.report
    # guest-a's oops: whole, its frames, guest-a's boot and kernel, none of guest-b's lines
    assert oops.boot_id == boots.loc["guest-a", "boot_id"]
    assert oops.release == "2.6.18-128.el5xen"
    assert not oops.corrupted
    header = len(A_OOPS) - A_OOPS.index("Kernel BUG at fs/xfs/support/debug.c:55")
    assert (oops.first_line, oops.last_line) == (whose["guest-a"][-header], whose["guest-a"][-1])
    assert "Kernel panic - not syncing: Fatal exception" in oops.report
    assert "Linux version" not in oops.report and "Command line" not in oops.report
    functions = [f["function"] for f in oops.frames]
    assert "xfs_trans_cancel" in functions and "vfs_create" in functions
    # guest-b's soft lockup: guest-b's boot and kernel, guest-c's chatter not in it
    assert lockup.title.startswith("BUG: soft lockup")
    assert lockup.boot_id == boots.loc["guest-b", "boot_id"]
    assert lockup.release == "2.6.18-164.el5xen"
    assert "eth0: no IPv6" not in lockup.report
    assert [f["function"] for f in lockup.frames][:3] == [
        "_spin_lock",
        "journal_commit_transaction",
        "kjournald",
    ]


def test_a_finding_is_judged_against_its_hosts_kernel(loghost: tuple) -> None:
    ds, _ = loghost
    xfs = ds.findings[ds.findings.signature_id == "xen-rhel/xfs-panic"]
    assert len(xfs) == 1
    finding = xfs.iloc[0]
    assert finding.host == "guest-a"
    assert finding.release == "2.6.18-128.el5xen"
    assert finding.verdict == "affected"
    guest_a = ds.boots[ds.boots.hostname == "guest-a"].boot_id.iloc[0]
    assert finding.boot_id == guest_a


def _table(hosts: list[str | None]) -> pa.Table:
    return pa.table({"host": pa.array(hosts, pa.string())})


def test_host_rows_of_one_host_and_of_several() -> None:
    from triage.kernel import host_key, host_rows

    # one machine: one name, or with placeholders, or written short and fully qualified
    assert host_rows(_table(["web07", "web07", None])) == []
    assert host_rows(_table(["localhost", "web07", "-", "WEB07.example.com"])) == []
    assert host_rows(_table([None, None])) == []
    # two: a placeholder line belongs to the host named next (else the one named last)
    got = host_rows(_table(["db02", "localhost", "web07", None, "db02", "db02.lan", ""]))
    assert [r.tolist() for r in got] == [[0, 3, 4, 5, 6], [1, 2]]
    assert all(isinstance(r, np.ndarray) for r in got)
    assert host_key("DB02.example.com.") == "db02" and host_key("10.1.2.3") == "10.1.2.3"
    assert host_key("localhost.localdomain") == ""
    # one name after the other, each once: a machine renamed as it booted (cloud-init), or
    # logs one after another: one run of lines, as before
    assert host_rows(_table(["localhost", "ip-10-0-0-5", "ip-10-0-0-5", "web01", "web01"])) == []
    assert host_rows(_table(["web01", "db02", "web01"])) != []


@pytest.fixture(scope="module")
def large_loghost(tmp_path_factory: pytest.TempPathFactory) -> SourceFile:
    """The loghost's messages amid thousands of guest-c lines (some logged as `localhost`),
    so that a large source's windows hold only part of each host's lines."""
    text, whose = _loghost_messages()
    lines = text.splitlines()
    xfs = whose["guest-a"][len(BOOT_LINES) + 1] - 1  # guest-a's XFS lines start here
    pad = [
        f"Mar 12 07:{i // 60 % 60:02d}:{i % 60:02d} {'localhost' if i % 97 == 5 else 'guest-c'} "
        f"kernel: eth0: link up {i}"
        for i in range(6000)
    ]
    path = tmp_path_factory.mktemp("large-loghost") / "messages"
    path.write_text("\n".join(pad[:2000] + lines[:xfs] + pad[2000:] + lines[xfs:]) + "\n")
    os.utime(path, (1236902400, 1236902400))
    size = path.stat().st_size
    return SourceFile(
        disk_path=str(path), bundle=str(path), path=path.name, kind="syslog", size=size
    )


def _rows(res: pipeline.SourceResult) -> dict:
    lines = res.lines
    if res.spill_files():
        lines = pa.concat_tables([pq.read_table(f) for f in res.spill_files()])
        for f in res.spill_files():
            Path(f).unlink()
    return {
        "boots": [b.__dict__ for b in res.boots],
        "crashes": [c.__dict__ for c in res.crashes],
        "findings": [f.__dict__ for f in res.findings],
        "lines": lines.select(["lineno", "host", "boot_id"]).to_pylist(),
    }


@pytest.mark.parametrize("keep", ["relevant", "all"])
def test_a_large_loghost_log_gets_the_rows_it_gets_whole(
    large_loghost: SourceFile, sigset, keep: str
) -> None:
    """Read in windows (and every line spilled in a second pass), in chunks over a pool, or
    whole: the same boots per host, and each line its own host's boot."""
    from triage.batch import chunks

    whole = _rows(
        pipeline.process_source(large_loghost, [], sigset, keep, large_source_bytes=1 << 40)
    )
    sparse = _rows(pipeline.process_source(large_loghost, [], sigset, keep, large_source_bytes=1))
    many = _rows(
        chunks.process_source_chunked(
            large_loghost, [], sigset, keep, jobs=2, chunk_bytes=64 << 10, large_source_bytes=1
        )
    )
    for key in whole:
        assert sparse[key] == whole[key], key
        assert many[key] == whole[key], key
    hosts = {b["boot_id"]: b["hostname"] for b in whole["boots"]}
    assert sorted(set(hosts.values())) == ["guest-a", "guest-b", "guest-c"]
    named = [r for r in whole["lines"] if r["host"] != "localhost"]
    assert named and all(hosts[r["boot_id"]] == r["host"][:7].lower() for r in named)
    if keep == "all":
        assert len(whole["lines"]) == Path(large_loghost.disk_path).read_text().count("\n")


def test_a_boot_of_early_lines_is_named_after_its_host() -> None:
    """Lines logged as `localhost` before the hostname was set belong to the host that names
    itself next: its boot, though most of its lines say `localhost`, is named after it."""
    from triage.kernel import segment_boots
    from triage.parsers import parse_bytes

    data = (
        "Mar 12 08:59:59 guest-b kernel: eth0: no IPv6 routers present\n"
        f"Mar 12 09:00:00 localhost kernel: {A_BANNER}\n"
        "Mar 12 09:00:00 localhost kernel: Command line: ro root=/dev/VolGroup00/LogVol00\n"
        "Mar 12 09:00:00 localhost kernel: Brought up 2 CPUs\n"
        "Mar 12 09:00:01 guest-a kernel: NET: Registered protocol family 2\n"
        "Mar 12 09:00:02 guest-b kernel: eth0: no IPv6 routers present\n"
    ).encode()
    boots, ids = segment_boots(parse_bytes(data, "syslog", "s"), "s")
    got = [(b.hostname, b.release, b.first_line, b.last_line) for b in boots]
    assert got == [("guest-b", "", 1, 6), ("guest-a", "2.6.18-128.el5xen", 2, 5)]
    assert ids.to_pylist() == ["s:0", "s:1", "s:1", "s:1", "s:1", "s:0"]


def test_only_the_kinds_a_loghost_gathers_are_read_by_host() -> None:
    """xapi writes each host's xensource.log itself: a second name in one is that host
    renamed, not another machine's lines, and its blocks path (a large log) reads it whole."""
    from triage.kernel import rows_by_host

    two = _table(["web01", "db02", "web01"])
    assert rows_by_host(two, "syslog") and rows_by_host(two, "journal")
    assert rows_by_host(two, "xensource") == []


def test_the_spilled_lines_take_their_hosts_boots_only_when_hosts_log_at_once() -> None:
    """A machine renamed between boots (or as it booted) has boots of two names that follow
    one another: its spilled lines keep the boots their place gives them, as read whole. It
    took its boots' names for two hosts, and a line under the new name before the second
    boot went to that boot."""
    from triage.model import Boot
    from triage.pipeline.spill import boot_hosts

    def boot(i: int, first: int, last: int, host: str) -> Boot:
        return Boot(f"s:{i}", "s", i, first, last, hostname=host)

    renamed = [boot(0, 1, 50, "ip-10-0-0-5"), boot(1, 51, 90, "web01")]
    assert boot_hosts(renamed) is None
    loghost = [boot(0, 1, 80, "guest-a"), boot(1, 5, 90, "guest-b"), boot(2, 85, 99, "guest-a")]
    assert boot_hosts(loghost) == ["guest-a", "guest-b", "guest-a"]


def test_matching_worked_out_by_host_as_the_pipeline_does_it() -> None:
    """A rematch hands `evaluate` no host rows: it worked them out without the source's kind,
    so a xensource.log naming two hosts was matched by host there and whole in the pipeline."""
    from triage import match
    from triage.match import evaluation
    from triage.model import Boot

    lines = pa.table(
        {
            "source_id": ["s"] * 3,
            "lineno": [1, 2, 3],
            "host": ["xs-a", "xs-b", "xs-a"],
            "text": ["VM.start", "Oops: 0002 [#1]", "VM.start"],
            "boot_id": ["s:0"] * 3,
        }
    )
    seen: list[int] = []
    real = evaluation._evaluate_hosts

    def spy(sigset, ctx, hosts):
        seen.append(len(hosts))
        return real(sigset, ctx, hosts)

    sigset = match.load_signatures()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluation, "_evaluate_hosts", spy)
        for kind in ("xensource", "syslog"):
            src = SourceFile(disk_path="/x", bundle="/x", path="x", kind=kind)
            boot = Boot("s:0", "s", 0, 1, 3)
            match.evaluate(sigset, match.SourceContext(src, lines, [boot], []))
    assert seen == [2]  # the syslog only
