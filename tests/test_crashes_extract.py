"""Crash extraction on hand-written reports in the formats of 2.6.9 … 6.x kernels.

Each sample is the shape the kernel prints (message strings and layouts of the era), so a
regression here means a whole family of real logs would be titled differently.
"""

from __future__ import annotations

import sys
import time

import pyarrow as pa
import pytest
from helpers_crashes import crashes_of, lines_table

from triage.crashes import extract, extract_text
from triage.crashes.extract import PREFILTER, candidate_rows, split_prefix
from triage.crashes.titles import sanitize_title
from triage.model import CRASHES_SCHEMA, Boot, records_to_table

RHEL4_OOPS = """\
Linux version 2.6.9-78.ELxenU (brewbuilder@hs20-bc1-7.build.redhat.com) (gcc version 3.4.6)
netfront: device eth0 has copying receive path.
Unable to handle kernel paging request at virtual address c0a5e000
 printing eip:
c0115a3e
*pde = 00a5b001
Oops: 0002 [#1]
SMP
Modules linked in: xennet xenblk ext3 jbd
CPU:    0
EIP:    0061:[<c0115a3e>]    Not tainted VLI
EFLAGS: 00010202   (2.6.9-78.ELxenU)
EIP is at network_tx_buf_gc+0x3e/0x1c0 [xennet]
eax: 00000000   ebx: c0a5e000   ecx: 00000001   edx: c1234000
esi: 00000010   edi: 00000000   ebp: c0374f2c   esp: c0374f10
ds: 007b   es: 007b   ss: 0069
Process swapper (pid: 0, threadinfo=c0374000 task=c02d5bc0)
Stack: c0a5e000 00000000 c1234000 c0374f2c c011a8b5 c0a5e000 00000001 c0374f48
Call Trace:
 [<c0115a3e>] network_tx_buf_gc+0x3e/0x1c0 [xennet]
 [<c011a8b5>] netif_int+0x25/0x60 [xennet]
 [<c013e1f4>] handle_IRQ_event+0x34/0x70
 [<c013e2f5>] __do_IRQ+0xc5/0x120
 [<c010d6d2>] do_IRQ+0x42/0x60
Code: 8b 43 04 85 c0 74 2a 8b 50 08 89 d0 c7 03 00 00 00 00 8b 4b
 <0>Kernel panic - not syncing: Fatal exception in interrupt
"""

RHEL5_SOFT_LOCKUP = """\
BUG: soft lockup - CPU#0 stuck for 10s! [swapper:0]
CPU 0:
Modules linked in: xennet(U) xenblk(U) ext3 jbd
Pid: 0, comm: swapper Not tainted 2.6.18-92.el5xen #1
RIP: e030:[<ffffffff80264a0e>]  [<ffffffff80264a0e>] _spin_lock+0x9/0xa
RSP: e02b:ffffffff80634e60  EFLAGS: 00000286
RAX: 0000000000000000 RBX: ffff88003f5ea000 RCX: 0000000000000000

Call Trace:
 <IRQ>  [<ffffffff88041c47>] :xennet:netif_poll+0x3a7/0x7a0
 [<ffffffff80212ab2>] net_rx_action+0xac/0x1e0
 [<ffffffff80212c40>] __do_softirq+0x8d/0x13b
 [<ffffffff8025fda4>] call_softirq+0x1c/0x28
 [<ffffffff8026d9d5>] do_softirq+0x31/0x98
 [<ffffffff8026d861>] do_IRQ+0xec/0xf5
 <EOI>  [<ffffffff80206ba6>] xen_idle+0x0/0x3b
"""

RHEL50_SOFT_LOCKUP = """\
BUG: soft lockup detected on CPU#1!

Call Trace:
 <IRQ>  [<ffffffff800b6d0e>] softlockup_tick+0xdb/0xed
 [<ffffffff800933a6>] update_process_times+0x42/0x68
 [<ffffffff80073d2e>] smp_local_timer_interrupt+0x23/0x47
 [<ffffffff800743f0>] smp_apic_timer_interrupt+0x41/0x47
 [<ffffffff8005bc8e>] apic_timer_interrupt+0x66/0x6c
 <EOI>  [<ffffffff88112d4d>] :xfs:xfs_trans_unlocked_item+0x2d/0x4c
 [<ffffffff8810f7a5>] :xfs:xfs_iflush_all+0x55/0xa0
 [<ffffffff88117a63>] :xfs:xfs_unmountfs+0x43/0x120
 [<ffffffff800e8b2d>] generic_shutdown_super+0x79/0xfb
 [<ffffffff800e8bbd>] kill_block_super+0x0/0x22
 [<ffffffff800e8c8e>] deactivate_super+0x6a/0x82
 [<ffffffff800f2b61>] sys_umount+0x245/0x27b
 [<ffffffff8005d28d>] tracesys+0xd5/0xe0
"""

HUNG_TASK = """\
INFO: task xenwatch:27 blocked for more than 120 seconds.
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
xenwatch      D ffff880001004460     0    27     11            28    26 (L-TLB)
 ffff88003fc59d60 0000000000000246 0000000000000000 ffff88003fc59d90
Call Trace:
 [<ffffffff80263a7e>] __mutex_lock_slowpath+0x60/0x9b
 [<ffffffff80263ac8>] .text.lock.mutex+0xf/0x14
 [<ffffffff803b4d35>] xenbus_transaction_start+0x19/0x4f
 [<ffffffff803b55a0>] xenbus_dev_request_and_reply+0x40/0x80
 [<ffffffff8023370b>] kthread+0xfe/0x132
"""

WARNING_CUT_HERE = """\
------------[ cut here ]------------
WARNING: at net/ipv4/tcp_input.c:2776 tcp_fastretrans_alert+0xc7a/0xd10()
Hardware name: ThinkPad X220
Modules linked in: fuse ebtable_nat
Pid: 0, comm: swapper/1 Not tainted 3.4.4-5.fc17.x86_64 #1
Call Trace:
 <IRQ>  [<ffffffff8105c8df>] warn_slowpath_common+0x7f/0xc0
 [<ffffffff8105c93a>] warn_slowpath_null+0x1a/0x20
 [<ffffffff8153b3ba>] tcp_fastretrans_alert+0xc7a/0xd10
 [<ffffffff8153c4a4>] tcp_ack+0xa44/0x1110
---[ end trace 9c4a7ab4d1a4a9dd ]---
"""

OOM_KILL = """\
java invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0
java cpuset=/ mems_allowed=0
Pid: 4321, comm: java Not tainted 2.6.32-431.el6.x86_64 #1
Call Trace:
 [<ffffffff810d0211>] ? cpuset_print_task_mems_allowed+0x91/0xb0
 [<ffffffff811225c0>] ? dump_header+0x90/0x1b0
 [<ffffffff81122a42>] ? oom_kill_process+0x82/0x2a0
Mem-Info:
Node 0 DMA per-cpu:
[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name
[ 4321]   500  4321  1200000   900000   0       0             0 java
Out of memory: Kill process 4321 (java) score 900 or sacrifice child
Killed process 4321, UID 500, (java) total-vm:4800000kB, anon-rss:3600000kB, file-rss:0kB
"""

PAGE_ALLOC_FAILURE = """\
swapper: page allocation failure. order:1, mode:0x20
 [<c0145ff5>] __alloc_pages+0x2b5/0x2c7
 [<c0146024>] __get_free_pages+0x1d/0x35
 [<c0148b8f>] kmem_getpages+0x1c/0xbb
 [<c0149727>] cache_grow+0xab/0x138
 [<c0149919>] cache_alloc_refill+0x165/0x19d
 [<c0149b84>] __kmalloc+0x73/0x7d
 [<c028f2ef>] __alloc_skb+0x4c/0xfb
 [<e0853f1a>] network_alloc_rx_buffers+0x6a/0x380 [xennet]
 [<e0854ba3>] netif_poll+0x5e3/0x6b0 [xennet]
"""

XFS_SHUTDOWN = """\
Filesystem "dm-0": XFS internal error xfs_trans_cancel at line 1138 of file fs/xfs/xfs_trans.c.  Caller 0xee201944
 [<ee1fd5c6>] xfs_trans_cancel+0x59/0xe3 [xfs]
 [<ee201944>] xfs_create+0x5d4/0x60a [xfs]
 [<ee209d6e>] xfs_vn_mknod+0x1a5/0x2a9 [xfs]
 [<c0479e0b>] vfs_create+0xc8/0x12f
xfs_force_shutdown(dm-0,0x8) called from line 1139 of file fs/xfs/xfs_trans.c.  Return address = 0xee20cb1b
Filesystem "dm-0": Corruption of in-memory data detected.  Shutting down filesystem: dm-0
Please umount the filesystem, and rectify the problem(s)
"""

PPC64_OOPS = """\
Unable to handle kernel paging request for data at address 0x00000008
Faulting instruction address: 0xd00000000a1b2c3c
Oops: Kernel access of bad area, sig: 11 [#1]
SMP NR_CPUS=1024 NUMA pSeries
Modules linked in: ibmveth sd_mod
NIP: d00000000a1b2c3c LR: d00000000a1b2c10 CTR: c000000000061234
REGS: c0000000fdd0f7d0 TRAP: 0300   Not tainted  (2.6.32-71.el6.ppc64)
NIP [d00000000a1b2c3c] .ibmveth_poll+0x13c/0x3a0 [ibmveth]
LR [d00000000a1b2c10] .ibmveth_poll+0x110/0x3a0 [ibmveth]
Call Trace:
[c0000000fdd0fa60] [d00000000a1b2c10] .ibmveth_poll+0x110/0x3a0 [ibmveth] (unreliable)
[c0000000fdd0fb20] [c0000000004a1e24] .net_rx_action+0x1a4/0x2e0
[c0000000fdd0fbf0] [c00000000009c9ac] .__do_softirq+0x11c/0x280
"""

ARM_OOPS = """\
Unable to handle kernel NULL pointer dereference at virtual address 00000009
pgd = e8a60000
[00000009] *pgd=00000000
Internal error: Oops: 17 [#1] SMP ARM
Modules linked in: mv_cesa
CPU: 3 PID: 1234 Comm: cat Tainted: P           O    4.2.8 #1
Hardware name: Marvell Armada 370/XP (Device Tree)
PC is at mv_cesa_ahash_final+0x2c/0x40 [mv_cesa]
LR is at crypto_ahash_op+0x30/0x70
Backtrace:
[<bf0a1234>] (mv_cesa_ahash_final [mv_cesa]) from [<c02a5678>] (crypto_ahash_op+0x30/0x70)
[<c02a5678>] (crypto_ahash_op) from [<c02a6789>] (hash_sendmsg+0x9c/0x1a0)
"""


def _one(text: str):
    crashes = [c for c in crashes_of(text) if c.record == "crash"]
    assert len(crashes) == 1, [c.title for c in crashes]
    return crashes[0]


def test_rhel4_i386_oops_titled_by_faulting_function_and_panics():
    c = _one(RHEL4_OOPS)
    assert c.title == "BUG: unable to handle kernel paging request in network_tx_buf_gc"
    assert c.function == "network_tx_buf_gc"
    assert c.module == "xennet"
    assert c.panicked
    assert not c.corrupted, c.corrupted_reason
    assert c.first_line == 3
    assert "Kernel panic - not syncing" in c.report
    assert c.report.splitlines()[0].startswith("Unable to handle kernel paging request")
    assert c.release == "2.6.9-78.ELxenU"
    assert c.frames and c.frames[0].function == "network_tx_buf_gc"


def test_rhel5_soft_lockup_names_the_napi_poll_function():
    c = _one(RHEL5_SOFT_LOCKUP)
    assert c.title == "BUG: soft lockup in netif_poll"
    assert c.type == "HANG"
    assert "stall in netif_poll" in c.alt_titles
    assert c.comm == "swapper"


def test_rhel50_soft_lockup_old_header_reads_frames_after_eoi():
    c = _one(RHEL50_SOFT_LOCKUP)
    assert c.title == "BUG: soft lockup in umount"
    assert c.cpu == 1


#: A Xen PV guest's idle vCPU (RHEL 5): RIP in the hypercall stub, the trace ends at cpu_idle
#: (cpu_bringup_and_idle jumps to it); CPU 0's goes on into start_kernel. 2.6.18 prints a blank
#: line before "Call Trace:"; consoles captured from xvc0 end lines in CRLF.
RHEL5_XEN_IDLE_LOCKUP = """\
Linux version 2.6.18-348.el5xen (mockbuild@x86-022.build.eng.bos.redhat.com) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-54)) #1 SMP Wed Nov 28 21:31:28 EST 2012
BUG: soft lockup - CPU#{cpu} stuck for 10s! [swapper:0]
CPU {cpu}:
Modules linked in: xennet xenblk ext3 jbd dm_mod
Pid: 0, comm: swapper Not tainted 2.6.18-348.el5xen #1
RIP: e030:[<ffffffff802063aa>]  [<ffffffff802063aa>] hypercall_page+0x3aa/0x1000
RSP: e02b:ffff88003f8b5ef0  EFLAGS: 00000246
RAX: 0000000000000000 RBX: 0000000000000001 RCX: ffffffff802063aa
RDX: 0000000000000000 RSI: 0000000000000001 RDI: 0000000000000000
RBP: 0000000000000001 R08: ffff88003f8b4000 R09: 0000000000000000
R10: 0000000000000000 R11: 0000000000000246 R12: 0000000000000000
R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000
FS:  00002b8f4b1e6f50(0000) GS:ffffffff80639080(0000) knlGS:0000000000000000
CS:  e033 DS: 0000 ES: 0000
{blank}Call Trace:
 [<ffffffff8026f4f1>] raw_safe_halt+0x84/0xa8
 [<ffffffff8026ca88>] xen_idle+0x38/0x4a
 [<ffffffff8024af6c>] cpu_idle+0x8a/0xab
{bottom}
"""
_CPU0_BOTTOM = """\
 [<ffffffff80648b09>] start_kernel+0x220/0x225
 [<ffffffff806481e5>] _sinittext+0x1e5/0x1eb
"""


@pytest.mark.parametrize("eol", ["\r\n", "\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("blank", ["\n", ""], ids=["blank", "no-blank"])
@pytest.mark.parametrize("cpu", [1, 0])
def test_xen_idle_soft_lockup_stalls_in_the_idle_loop(eol, blank, cpu):
    bottom = _CPU0_BOTTOM if cpu == 0 else ""
    text = RHEL5_XEN_IDLE_LOCKUP.format(cpu=cpu, blank=blank, bottom=bottom).replace("\n", eol)
    crashes = [c for c in extract_text(text, "s") if c.record == "crash"]
    assert len(crashes) == 1, [c.title for c in crashes]
    c = crashes[0]
    assert c.title == "BUG: soft lockup in cpu_idle"
    assert not c.corrupted, c.corrupted_reason
    assert c.function == "cpu_idle"
    assert [f.function for f in c.frames][:4] == [
        "hypercall_page",
        "raw_safe_halt",
        "xen_idle",
        "cpu_idle",
    ]
    assert c.release == "2.6.18-348.el5xen" and c.cpu == cpu


def test_hung_task_names_what_it_waits_in():
    c = _one(HUNG_TASK)
    assert c.title == "INFO: task hung in xenbus_transaction_start"
    assert c.pid == 27 and c.comm == "xenwatch"
    assert c.type == "HANG"


def test_old_warning_format_with_cut_here_prelude_and_end_marker():
    text = WARNING_CUT_HERE + "eth0: link up\n" * 30
    c = _one(text)
    assert c.title == "WARNING in tcp_fastretrans_alert"
    assert c.first_line == 1  # the "cut here" line belongs to the report
    assert c.report.splitlines()[-1].startswith("---[ end trace")
    assert c.last_line == WARNING_CUT_HERE.count("\n")


def test_oom_kill_is_one_event_named_after_the_victim():
    crashes = crashes_of(OOM_KILL)
    assert [(c.record, c.title) for c in crashes] == [
        ("event", "out of memory: killed process java")
    ]
    assert crashes[0].last_line >= OOM_KILL.count("\n") - 1


def test_page_allocation_failure_is_an_event_in_the_caller():
    (c,) = crashes_of(PAGE_ALLOC_FAILURE)
    assert c.record == "event"
    assert c.title == "page allocation failure in network_alloc_rx_buffers"


def test_xfs_internal_error_and_shutdown_are_one_report():
    (c,) = crashes_of(XFS_SHUTDOWN)
    assert c.title == "XFS internal error xfs_trans_cancel in xfs_trans_cancel"
    assert c.type == "FILESYSTEM"
    assert "Corruption of in-memory data detected" in c.report


def test_ppc64_skips_unreliable_frames_and_descriptor_dots():
    c = _one(PPC64_OOPS)
    assert c.title == "BUG: unable to handle kernel paging request in ibmveth_poll"


def test_arm_internal_error_continues_the_fault_report():
    c = _one(ARM_OOPS)
    assert c.title == "BUG: unable to handle kernel NULL pointer dereference in mv_cesa_ahash_final"


def test_standalone_panic_is_a_panicked_crash():
    c = _one(
        "VFS: Cannot open root device\nKernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
    )
    assert c.title == "kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)"
    assert c.panicked and c.type == "PANIC"


def test_several_reports_in_one_log_each_keep_their_title():
    text = (
        "boot ok\n"
        + RHEL5_SOFT_LOCKUP
        + "eth0: no IPv6 routers present\n" * 25
        + HUNG_TASK
        + "\n"
        + WARNING_CUT_HERE
    )
    titles = [c.title for c in crashes_of(text)]
    assert titles == [
        "BUG: soft lockup in netif_poll",
        "INFO: task hung in xenbus_transaction_start",
        "WARNING in tcp_fastretrans_alert",
    ]
    crashes = crashes_of(text)
    assert crashes[0].last_line < crashes[1].first_line < crashes[2].first_line
    assert len({c.crash_id for c in crashes}) == 3


def test_interleaved_cpus_are_separated_by_caller_id():
    a = HUNG_TASK.splitlines()
    b = WARNING_CUT_HERE.splitlines()
    lines = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            lines.append(f"[  100.{i:06d}][   T27] {a[i]}")
        if i < len(b):
            lines.append(f"[  100.{i:06d}][    C1] {b[i]}")
    titles = sorted(c.title for c in crashes_of("\n".join(lines)))
    assert titles == [
        "INFO: task hung in xenbus_transaction_start",
        "WARNING in tcp_fastretrans_alert",
    ]


def test_caller_id_from_the_tag_column_separates_reports():
    a = HUNG_TASK.splitlines()
    b = WARNING_CUT_HERE.splitlines()
    texts, tags = [], []
    for i in range(max(len(a), len(b))):
        for lines, tag in ((a, "T27"), (b, "C1")):
            if i < len(lines):
                texts.append(lines[i])
                tags.append(tag)
    crashes = extract(lines_table(texts, tags=tags), "src", [])
    assert sorted(c.title for c in crashes) == [
        "INFO: task hung in xenbus_transaction_start",
        "WARNING in tcp_fastretrans_alert",
    ]


WARN_HARD_LOCKUP_3X = """\
------------[ cut here ]------------
WARNING: at kernel/watchdog.c:245 watchdog_overflow_callback+0x9c/0xd0()
Hardware name: Bochs
Watchdog detected hard LOCKUP on cpu 0
Modules linked in: 8139too i2c_piix4 qxl drm
Pid: 0, comm: swapper/0 Not tainted 3.8.9-200.fc18.x86_64 #1
Call Trace:
 <NMI>  [<ffffffff8105cd86>] warn_slowpath_common+0x66/0x80
 [<ffffffff8105cdec>] warn_slowpath_fmt+0x4c/0x50
 [<ffffffff810eb83c>] watchdog_overflow_callback+0x9c/0xd0
 [<ffffffff816466f0>] do_nmi+0xd0/0x310
 <<EOE>>  [<ffffffff810944f0>] account_idle_ticks+0x90/0xa0
 [<ffffffff8101c06b>] cpu_idle+0x11b/0x140
---[ end trace 9b7f3c2c1e2d4a10 ]---
"""


def test_header_in_the_message_of_a_report_extends_it():
    # 3.x kernels report a hard lockup through WARN(): its text looks like a header of its own.
    crashes = crashes_of("boot ok\n" + WARN_HARD_LOCKUP_3X)
    assert [c.record for c in crashes] == ["crash"]
    (c,) = crashes
    assert c.first_line == 2 and c.last_line == 15
    assert c.title.startswith("BUG: hard lockup in")
    assert c.release == "3.8.9-200.fc18.x86_64"


def test_one_line_report_printed_again_at_once_is_one_report():
    line = "ALSA sound/core/pcm_lib.c:181: BUG: pcmC0D0p:0, pos = 0x4000, buffer size = 0x4000"
    (c,) = crashes_of(f"{line}\n{line}\n")
    assert c.title.startswith("BUG: pcmC0D0p:NUM")
    # Once the report's body has begun, the same header is a report of its own.
    assert len(crashes_of(WARN_HARD_LOCKUP_3X + "boot ok\n" + WARN_HARD_LOCKUP_3X)) == 2


def test_a_dense_run_of_headers_reads_each_row_once(monkeypatch):
    """Hung-task headers every third line: each header is within the head of the open report,
    whose rows were once all read again per header (600 rows each: 14 s for 3 MB of syslog)."""
    module = sys.modules["triage.crashes.extract"]  # the package's `extract` is a function
    reads = 0
    get = module._Window.get

    def counted(self, row):
        nonlocal reads
        reads += 1
        return get(self, row)

    monkeypatch.setattr(module._Window, "get", counted)
    rows = []
    for i in range(3000):
        rows += [
            f"INFO: task kjournald:{1000 + i} blocked for more than 120 seconds.",
            "e1000: eth0 NIC Link is Up 1000 Mbps",
            "EXT3-fs: mounted filesystem with ordered data mode.",
        ]
    crashes = crashes_of("\n".join(rows))
    assert crashes and all(c.title == "INFO: task hung in corrupted" for c in crashes)
    assert reads < 20 * len(rows)


def test_a_flood_of_reports_marks_each_row_once(monkeypatch):
    """Every report reads the 750 rows after its header (syzkaller's view of its extent); what
    a row means to that reading is worked out once per row, not once per report over it."""
    module = sys.modules["triage.crashes.extract"]
    calls = 0
    marks = module._marks

    def counted(context, message):
        nonlocal calls
        calls += 1
        return marks(context, message)

    monkeypatch.setattr(module, "_marks", counted)
    report = (
        "BUG: scheduling while atomic: swapper/1/0/0x10000100\n"
        "Modules linked in: xen_netfront\n"
        "Pid: 0, comm: swapper/1 Not tainted 3.2.0-4-amd64 #1 Debian 3.2.57-3\n"
        "Call Trace:\n"
        " <IRQ>  [<ffffffff8134c6c5>] ? __schedule+0x75/0x5f0\n"
        " [<ffffffff8100d055>] ? xen_force_evtchn_callback+0x9/0xa\n"
    )
    text = report * 500
    crashes = crashes_of(text)
    assert len(crashes) == 500
    assert {c.title for c in crashes} == {"BUG: scheduling while atomic in corrupted"}
    assert calls <= 2 * text.count("\n")


def test_stack_header_split_over_two_lines_is_no_stack_header():
    """The whole-text search that skips absent stack headers finds " backtrace:" after a
    newline, which no single line has; the per-line reading still decides."""
    from triage.crashes.titles import check_corrupted, describe, rules

    kind = next(k for k in rules.KINDS if k.name == "kernel-bug")
    text = "kernel BUG at mm/slab.c:2931!\n backtrace:\n"
    desc = describe(text, kind)
    split = check_corrupted(desc.title, text, desc.format)
    assert split == check_corrupted(desc.title, text.replace("\n backtrace:", "\nx"), desc.format)
    # the header on a line of its own (a byte before it on that line) is one
    assert split != check_corrupted(
        desc.title, text.replace(" backtrace", "  backtrace"), desc.format
    )


def test_header_naming_its_own_task_is_not_message_text():
    text = (
        "BUG: KASAN: slab-out-of-bounds in rds_cong_queue_updates+0x4d3/0x4f0\n"
        "WARNING: CPU: 0 PID: 6694 at net/bridge/netfilter/ebtables.c:2063 "
        "compat_copy_entries+0xd92/0x1150\n"
        "Read of size 4 at addr ffff8801b3c58144 by task syz-executor4/6684\n"
    )
    assert len([c for c in crashes_of(text) if c.record == "crash"]) == 2


def test_truncated_report_is_corrupted_with_a_reason():
    c = _one("general protection fault: 0000 [#1] SMP KASAN\nCall Trace:\n")
    assert c.corrupted
    assert c.title == "general protection fault in corrupted"
    assert "frame" in c.corrupted_reason or "truncated" in c.corrupted_reason


def test_noise_that_mentions_headers_is_not_a_crash():
    noise = "\n".join(
        [
            "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
            "ODEBUG: object is on stack, but not annotated",
            "traps: a.out[123] general protection fault ip:4005d6 sp:7ffd error:0 in a.out[400000+1000]",
            "EXT4-fs (sda1): WARNING: mounting fs with errors",
            "kernel: panic=0 nmi_watchdog=1",
            "systemd[1]: Started Journal Service.",
        ]
    )
    assert crashes_of(noise) == []


def test_console_prefixes_and_carriage_returns_are_tolerated():
    assert split_prefix("[   12.345678][  T123] BUG: x\r") == ("T123", "BUG: x")
    assert split_prefix("[   12.345678] [    C1] msg") == ("C1", "msg")
    assert split_prefix("<4>[    1.000000] WARNING: y") == ("console", "WARNING: y")
    assert split_prefix("<1>Unable to handle") == ("", "Unable to handle")
    text = "\r\n".join(f"<4>[  5.{i:06d}] {line}" for i, line in enumerate(HUNG_TASK.splitlines()))
    c = _one(text)
    assert c.title == "INFO: task hung in xenbus_transaction_start"


def test_reports_do_not_cross_boot_boundaries():
    texts = [
        *RHEL4_OOPS.splitlines()[2:14],
        "Linux version 2.6.9-78.ELxenU",
        "Call Trace:",
        " [<c0115a3e>] other_func+0x3e/0x1c0",
    ]
    boots = ["b1"] * 12 + ["b2"] * 3
    crashes = extract(lines_table(texts, boot_ids=boots), "src", [])
    assert len(crashes) == 1
    assert crashes[0].boot_id == "b1"
    assert crashes[0].last_line <= 12
    assert crashes[0].title == "BUG: unable to handle kernel paging request in network_tx_buf_gc"


def test_boot_id_and_release_come_from_boots_when_lines_lack_them():
    boot = Boot(
        boot_id="boot-7",
        source_id="src",
        index=0,
        first_line=1,
        last_line=100,
        release="2.6.18-92.el5xen",
    )
    crashes = extract(lines_table(RHEL50_SOFT_LOCKUP.splitlines()), "src", [boot])
    assert crashes[0].boot_id == "boot-7"
    assert crashes[0].release == "2.6.18-92.el5xen"


def test_crash_records_fit_the_dataset_schema_and_ids_are_stable():
    crashes = crashes_of(RHEL4_OOPS + OOM_KILL)
    table = records_to_table(crashes, CRASHES_SCHEMA)
    assert table.num_rows == 2
    again = crashes_of(RHEL4_OOPS + OOM_KILL)
    assert [c.crash_id for c in crashes] == [c.crash_id for c in again]


def test_extract_text_and_empty_input_never_raise():
    assert extract_text("") == []
    assert extract(lines_table([]), "src", []) == []
    titles = [c.title for c in extract_text(RHEL5_SOFT_LOCKUP)]
    assert titles == ["BUG: soft lockup in netif_poll"]
    weird = "BUG: \x00\xff\udcff garbage\n" * 3
    assert isinstance(extract_text(weird), list)


def test_sanitize_title_drops_unstable_parts():
    assert sanitize_title("WARNING in foo+0x1a/0x40") == "WARNING in foo"
    assert (
        sanitize_title("kernel BUG at fs/ext4/inode.c:1234!")
        == "kernel BUG at fs/ext4/inode.c:LINE!"
    )
    assert (
        sanitize_title("BUG: soft lockup - CPU#3 stuck for 22s!")
        == "BUG: soft lockup - CPU stuck for 22s!"
    )
    assert (
        sanitize_title("task syz-executor.3:1234 at ffffffff81234567")
        == "task syz-executor at ADDR"
    )


def test_prefilter_is_one_vectorised_pass_and_no_crash_log_is_cheap():
    n = 200_000
    texts = pa.array([f"eth0: rx packet {i} ok" for i in range(n)])
    table = lines_table([])
    table = pa.table(
        {name: pa.nulls(n, table.schema.field(name).type) for name in table.column_names}
    )
    table = table.set_column(table.schema.get_field_index("text"), "text", texts)
    table = table.set_column(
        table.schema.get_field_index("lineno"), "lineno", pa.array(range(1, n + 1), pa.int64())
    )
    start = time.perf_counter()
    assert candidate_rows(table).size == 0
    assert extract(table, "src", []) == []
    assert time.perf_counter() - start < 5
    assert "BUG:" in PREFILTER


def test_a_syslog_copy_of_a_stack_keeps_its_frames():
    """syslogd drops the indent of a stack's frame lines (`kernel: [<ffffffff8a7b8b79>]
    schedule+0x29/0x70`), so a RHEL 6/7 /var/log/messages hung task ended at `Call Trace:`:
    no frame, and a fingerprint apart from the same crash's in vmcore-dmesg."""
    frames = [
        "[<ffffffff8a7b8b79>] schedule+0x29/0x70",
        "[<ffffffffc03a82bc>] jbd2_journal_commit_transaction+0x23c/0x19c0 [jbd2]",
        "[<ffffffff8a0e2cfe>] ? account_entity_dequeue+0xae/0xd0",
        "[<ffffffffc03aef89>] kjournald2+0xc9/0x260 [jbd2]",
        "[<ffffffff8a0c5e61>] kthread+0xd1/0xe0",
        "[<ffffffff8a7c5c37>] ret_from_fork_nospec_begin+0x21/0x21",
    ]
    head = [
        "INFO: task jbd2/dm-0-8:512 blocked for more than 120 seconds.",
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        "jbd2/dm-0-8     D ffff8c0b36a1e180     0   512      2 0x00000000",
        "Call Trace:",
    ]
    flat = "\n".join([*head, *frames, "eth0: link up"]) + "\n"
    indented = "\n".join([*head, *(" " + f for f in frames), "eth0: link up"]) + "\n"
    (syslog,), (console,) = crashes_of(flat), crashes_of(indented)
    assert syslog.title == "INFO: task hung in jbd2_journal_commit_transaction"
    assert syslog.last_line == console.last_line == len(head) + len(frames)
    assert [f.function for f in syslog.frames] == [f.function for f in console.frames]
    assert syslog.fingerprint == console.fingerprint


def test_an_arm64_kernel_bug_is_named_after_its_function():
    """arm and arm64 follow `kernel BUG at FILE:LINE!` with the exception BUG() raised,
    `Internal error: Oops - BUG: 00000000f2000800 [#2]`, as x86 does with `invalid opcode:`.
    Its `BUG:` was read as a second header in the report's head, and every arm BUG_ON of a
    distro kernel (no printk caller ids) was "kernel BUG in corrupted"."""
    text = (
        "------------[ cut here ]------------\n"
        "kernel BUG at fs/ext4/inode.c:2718!\n"
        "Internal error: Oops - BUG: 00000000f2000800 [#2] PREEMPT SMP\n"
        "Modules linked in: brcmfmac brcmutil cfg80211 vc4\n"
        "CPU: 0 PID: 92 Comm: kworker/u8:3 Tainted: G      D  C         6.1.21-v8+ #1642\n"
        "Hardware name: Raspberry Pi 4 Model B Rev 1.4 (DT)\n"
        "Workqueue: writeback wb_workfn (flush-179:0)\n"
        "pstate: 60000005 (nZCv daif -PAN -UAO -TCO -DIT -SSBS BTYPE=--)\n"
        "pc : ext4_writepages+0xd84/0xe50\n"
        "lr : ext4_writepages+0x4c8/0xe50\n"
        "sp : ffffffc00a0fb8b0\n"
        "Call trace:\n"
        " ext4_writepages+0xd84/0xe50\n"
        " do_writepages+0x90/0x1e0\n"
        " __writeback_single_inode+0x4c/0x4c0\n"
        " writeback_sb_inodes+0x214/0x4b0\n"
        " wb_workfn+0x2f8/0x590\n"
        " process_one_work+0x1dc/0x450\n"
        " kthread+0x108/0x10c\n"
        " ret_from_fork+0x10/0x20\n"
        "Code: 17ffff5d d4210000 d4210000 f9400a60 (d4210000)\n"
        "---[ end trace 0000000000000000 ]---\n"
    )
    (c,) = crashes_of(text)
    assert c.title == "kernel BUG in ext4_writepages"
    assert not c.corrupted and c.frames[0].function == "ext4_writepages"
    assert c.last_line == text.count("\n")


def test_a_2_6_32_warning_whose_frames_are_all_unsure_is_named_by_its_header():
    """RHEL 6 marks every frame of many a stack `?`: a WARNING whose header names its function
    (`WARNING: at net/sched/sch_generic.c:261 dev_watchdog+0x26b/0x280()`) was "WARNING in
    corrupted", its trace said empty."""
    text = (
        "------------[ cut here ]------------\n"
        "WARNING: at net/sched/sch_generic.c:261 dev_watchdog+0x26b/0x280() (Not tainted)\n"
        "Hardware name: ProLiant DL380 G7\n"
        "NETDEV WATCHDOG: eth0 (bnx2): transmit queue 0 timed out\n"
        "Modules linked in: bonding 8021q garp stp llc ipv6 bnx2 hpsa ext4 jbd2 mbcache\n"
        "Pid: 0, comm: swapper Not tainted 2.6.32-358.el6.x86_64 #1\n"
        "Call Trace:\n"
        " <IRQ>  [<ffffffff8106e2e7>] ? warn_slowpath_common+0x87/0xc0\n"
        " [<ffffffff8106e3d6>] ? warn_slowpath_fmt+0x46/0x50\n"
        " [<ffffffff8147b36b>] ? dev_watchdog+0x26b/0x280\n"
        " [<ffffffff81081857>] ? run_timer_softirq+0x197/0x340\n"
        " [<ffffffff81076fd1>] ? __do_softirq+0xc1/0x1e0\n"
        " <EOI>  [<ffffffff810b2b9e>] ? cpu_idle+0xae/0x110\n"
        " [<ffffffff814f6bda>] ? rest_init+0x7a/0x80\n"
        "---[ end trace 8ab2fbc59ec1d0ab ]---\n"
    )
    (c,) = crashes_of(text)
    assert c.title == "WARNING in dev_watchdog"
    assert not c.corrupted, c.corrupted_reason
    # with a sure frame, the stack names it as before
    (sure,) = crashes_of(text.replace("] ? dev_watchdog", "] dev_watchdog"))
    assert sure.title == "WARNING in dev_watchdog" and not sure.corrupted


def test_two_tasks_reports_interleaved_are_told_apart_once_parsed():
    """A CONFIG_PRINTK_CALLER kernel prints each line's task (`[  T812]`): the crash stage
    keeps reports of tasks printing at once apart by it, but the dmesg parser dropped the id
    with the prefix, so a parsed log gave one "WARNING in corrupted" of both tasks' frames and
    lost the page fault. The id is the line's tag now."""
    warn = [
        ("T812", "------------[ cut here ]------------"),
        ("T812", "WARNING: CPU: 0 PID: 812 at net/core/dev.c:3212 skb_warn_bad_offload+0x8a/0x110"),
        ("T812", "Modules linked in: bridge stp llc"),
        ("T812", "CPU: 0 PID: 812 Comm: ksoftirqd/0 Not tainted 6.6.0 #1"),
        ("T812", "RIP: 0010:skb_warn_bad_offload+0x8a/0x110"),
        ("T812", "Call Trace:"),
        ("T812", " <TASK>"),
        ("T812", " __skb_gso_segment+0x15a/0x170"),
        ("T812", " validate_xmit_skb+0x1a4/0x2f0"),
        ("T812", " run_ksoftirqd+0x2a/0x40"),
        ("T812", " kthread+0xe5/0x120"),
        ("T812", " </TASK>"),
        ("T812", "---[ end trace 1111111111111111 ]---"),
    ]
    fault = [
        ("T4410", "BUG: unable to handle page fault for address: ffffa0e5c0000010"),
        ("T4410", "#PF: supervisor write access in kernel mode"),
        ("T4410", "Oops: 0002 [#1] PREEMPT SMP NOPTI"),
        ("T4410", "CPU: 1 PID: 4410 Comm: qemu-kvm Not tainted 6.6.0 #1"),
        ("T4410", "RIP: 0010:kvm_mmu_page_fault+0x33/0x6a0 [kvm]"),
        ("T4410", "Call Trace:"),
        ("T4410", " <TASK>"),
        ("T4410", " vmx_handle_exit+0x177/0x8a0 [kvm_intel]"),
        ("T4410", " vcpu_enter_guest+0x9c1/0x10f0 [kvm]"),
        ("T4410", " kvm_vcpu_ioctl+0x276/0x6b0 [kvm]"),
        ("T4410", " </TASK>"),
        ("T4410", "---[ end trace 2222222222222222 ]---"),
    ]
    mixed = [line for pair in zip(warn, fault, strict=False) for line in pair] + warn[len(fault) :]
    text = "".join(
        f"[  200.{i:06d}][{caller:>6}] {message}\n" for i, (caller, message) in enumerate(mixed)
    )
    titles = sorted(c.title for c in extract_text(text, "d") if c.record == "crash")
    assert titles == [
        "BUG: unable to handle kernel paging request in kvm_mmu_page_fault",
        "WARNING in skb_warn_bad_offload",
    ]


def test_a_report_ends_where_a_sysrq_command_begins_its_own_printout():
    """A RHEL 5 soft lockup's report ran on into the `SysRq : Show CPUs` dump that followed it:
    another CPU's backtrace (netfront's netif_poll) became frames of the ext3 lockup, and the
    netfront deadlock was claimed for it."""
    text = (
        "BUG: soft lockup - CPU#1 stuck for 10s! [kjournald:612]\n"
        "CPU 1:\n"
        "Modules linked in: ipv6 xfrm_nalgo crypto_api xennet dm_mod xenblk ext3 jbd\n"
        "Pid: 612, comm: kjournald Not tainted 2.6.18-128.el5xen #1\n"
        "RIP: e030:[<ffffffff80264a0f>]  [<ffffffff80264a0f>] _spin_lock+0x6/0xa\n"
        "RSP: e02b:ffff88007e0dbdc8  EFLAGS: 00000286\n"
        "\n"
        "Call Trace:\n"
        " [<ffffffff88032d0e>] :jbd:journal_commit_transaction+0x4c8/0x10a2\n"
        " [<ffffffff88035f7f>] :jbd:kjournald+0xc1/0x213\n"
        " [<ffffffff80233970>] kthread+0xfe/0x132\n"
        " [<ffffffff80260b2c>] child_rip+0xa/0x12\n"
        "\n"
        "SysRq : Show CPUs\n"
        "CPU1:\n"
        "Call Trace:\n"
        " <IRQ>  [<ffffffff8025e77a>] showacpu+0x43/0x4f\n"
        " [<ffffffff88133c30>] :xennet:netif_poll+0x217/0x9c4\n"
        " [<ffffffff8020c7f5>] net_rx_action+0xac/0x1b1\n"
    )
    (lockup,) = [c for c in crashes_of(text) if c.record == "crash"]
    assert lockup.last_line < text.splitlines().index("SysRq : Show CPUs") + 1
    assert "netif_poll" not in [f.function for f in lockup.frames]
