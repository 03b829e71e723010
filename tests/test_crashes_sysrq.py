"""SysRq dumps from the lines table: task dumps, register dumps, memory dumps, boundaries."""

from __future__ import annotations

import time

from helpers_crashes_frames import lines_table

from triage.crashes.sysrq import extract_sysrq, parse_task_dump

# RHEL 4 i386 xenU SysRq-T, shaped as 2.6.9's show_state()/show_task() print it.
RHEL4_SHOW_STATE = [
    "SysRq : Show State",
    "",
    "                                               sibling",
    "  task             PC      pid father child younger older",
    "init          S C1393F80     0     1      0     2               (NOTLB)",
    "c13e1f20 00000082 c1393f80 c0318b80 00000000 c13e1f18 c011d3b4 c13e1f18 ",
    "Call Trace:",
    " [<c02d27e6>] schedule_timeout+0x6b/0x8a  [<c0123c49>] process_timeout+0x0/0x9",
    " [<c017a5ca>] do_select+0x2a4/0x2ee",
    "events/0      S C03A9F80     0     5      1             6     4 (L-TLB)",
    " [<c012d9a1>] worker_thread+0x1d0/0x269 [<c0130c05>] kthread+0x73/0x9b",
    "suspend       D C0318B80     0   412      5                 411 (L-TLB)",
    "cc5d1e9c 00000046 c0318b80 c0318b80 00000246 ",
    "Call Trace:",
    " [<c02d1a25>] rwsem_down_write_failed+0x125/0x140",
    " [<c0245b3a>] .text.lock.xenbus_xs+0x5/0x28",
    " [<c024a3f9>] xs_suspend+0x19/0x30",
    " [<c0244a3d>] __do_suspend+0x8d/0x3a0",
    "xenwatch      D C0318B80     0     9      1            10     8 (L-TLB)",
    " [<c02d1a8a>] rwsem_down_read_failed+0x4a/0x100",
    " [<c024a2b1>] xs_talkv+0x41/0x190",
    "bash          R running     0  1234   1233                     (NOTLB)",
]


def test_show_state_rhel4_tasks():
    other = ["Linux version 2.6.9-78.ELxenU", "eth0: no IPv6 routers present"]
    tail = ["kjournald starting.  Commit interval 5 seconds"] * 12
    table = lines_table(other + RHEL4_SHOW_STATE + tail, "s1")
    [c] = extract_sysrq(table, "s1")
    assert (c.record, c.type, c.title) == ("sysrq", "SYSRQ", "SysRq: Show State")
    assert c.first_line == 3
    assert c.last_line == 2 + len(RHEL4_SHOW_STATE)
    assert [(t.comm, t.pid, t.state) for t in c.tasks] == [
        ("init", 1, "S"),
        ("events/0", 5, "S"),
        ("suspend", 412, "D"),
        ("xenwatch", 9, "D"),
        ("bash", 1234, "R"),
    ]
    suspend = c.tasks[2]
    assert [f.function for f in suspend.frames] == [
        "rwsem_down_write_failed",
        ".text.lock.xenbus_xs",
        "xs_suspend",
        "__do_suspend",
    ]
    assert [f.function for f in c.tasks[0].frames] == [
        "schedule_timeout",
        "process_timeout",
        "do_select",
    ]
    assert c.tasks[4].frames == []
    assert c.report.startswith("SysRq : Show State")
    assert c.fingerprint


def test_task_dump_fingerprint_follows_blocked_stacks_not_pids():
    moved = [line.replace("   412 ", "   977 ") for line in RHEL4_SHOW_STATE]
    a = extract_sysrq(lines_table(RHEL4_SHOW_STATE), "x")[0]
    b = extract_sysrq(lines_table(moved), "y")[0]
    assert a.tasks[2].pid == 412 and b.tasks[2].pid == 977
    assert a.fingerprint == b.fingerprint
    changed = [line.replace("xs_suspend", "other_wait") for line in RHEL4_SHOW_STATE]
    assert extract_sysrq(lines_table(changed), "z")[0].fingerprint != a.fingerprint


def test_show_blocked_state_64bit_and_modern_tasks():
    texts = [
        "SysRq : Show Blocked State",
        "  task                 PC          pid father child younger older",
        "xfssyncd      D ffff81000100c980     0  2201     15          2202  2200 (L-TLB)",
        " ffff81003d3c3d20 0000000000000046 ffff81003f4d0b00 ffffffff8013a6a5",
        "Call Trace:",
        " [<ffffffff80062f4b>] wait_for_completion+0x79/0xa2",
        " [<ffffffff88323e0d>] :xfs:xfs_flush_buftarg+0x12/0x1c",
        "sysrq: Show Blocked State",
        "task:kworker/0:1     state:D stack:0     pid:7     tgid:7     ppid:2      flags:0x00004000",
        "Workqueue: events_freezable_power_ disk_events_workfn",
        "Call Trace:",
        " <TASK>",
        " __schedule+0x2d1/0x870",
        " schedule+0x5d/0xd0",
        " synchronize_rcu_expedited+0x1c3/0x210",
        " </TASK>",
    ]
    first, second = extract_sysrq(lines_table(texts), "s")
    assert first.title == "SysRq: Show Blocked State"
    assert first.last_line == 7
    assert [(t.comm, t.pid, t.state) for t in first.tasks] == [("xfssyncd", 2201, "D")]
    assert [(f.function, f.module) for f in first.tasks[0].frames] == [
        ("wait_for_completion", ""),
        ("xfs_flush_buftarg", "xfs"),
    ]
    assert second.first_line == 8 and second.last_line == len(texts)
    assert [(t.comm, t.pid, t.state) for t in second.tasks] == [("kworker/0:1", 7, "D")]
    assert [f.function for f in second.tasks[0].frames][-1] == "synchronize_rcu_expedited"


def test_show_regs_gives_frames_and_header_fields():
    texts = [
        "SysRq : Show Regs",
        "",
        "Pid: 0, comm:              swapper",
        "EIP: 0061:[<c01069b0>] CPU: 0",
        "EIP is at _spin_lock+0x30/0x50",
        " EFLAGS: 00000246    Not tainted  (2.6.9-78.ELxenU)",
        "EAX: 00000000 EBX: 00000001 ECX: 00000000 EDX: c03a0000",
        "ESI: c03a0000 EDI: c03a0000 EBP: c03a1fa8 DS: 007b ES: 007b",
        "CR0: 8005003b CR2: b7f3c000 CR3: 00000000 CR4: 00000640",
        " [<c0106a36>] netif_poll+0x66/0x80 [xennet]  [<c0124e1a>] net_rx_action+0x7d/0x150",
        " [<c03b27a1>] __do_softirq+0x5f/0xc0",
        "printk: 5 messages suppressed.",
        "some later unrelated line",
        "and another",
        "and a third one",
    ]
    [c] = extract_sysrq(lines_table(texts), "s")
    assert c.title == "SysRq: Show Regs"
    assert [f.function for f in c.frames] == [
        "_spin_lock",
        "netif_poll",
        "net_rx_action",
        "__do_softirq",
    ]
    assert (c.function, c.module) == ("netif_poll", "xennet")
    assert (c.release, c.taint, c.cpu, c.pid, c.comm) == ("2.6.9-78.ELxenU", "", 0, 0, "swapper")
    assert c.last_line == 11


def test_show_memory_and_other_commands():
    texts = [
        "SysRq : Show Memory",
        "Mem-info:",
        "DMA per-cpu:",
        "cpu 0 hot: low 2, high 6, batch 1",
        "Free pages:      1234kB (0kB HighMem)",
        "262144 pages of RAM",
        "xenbus: something unrelated",
        "md: another",
        "kernel: and more",
        "SysRq : Emergency Sync",
        "Emergency Sync complete",
    ]
    mem, sync = extract_sysrq(lines_table(texts), "s")
    assert (mem.title, mem.first_line, mem.last_line) == ("SysRq: Show Memory", 1, 6)
    assert mem.tasks == [] and mem.frames == []
    assert (sync.title, sync.first_line, sync.last_line) == ("SysRq: Emergency Sync", 10, 10)
    assert mem.crash_id != sync.crash_id


def test_dump_stops_at_boot_boundary():
    texts = [
        "SysRq : Show State",
        *RHEL4_SHOW_STATE[3:8],
        "Linux version 2.6.9",
        "init S C1393F80 0 1 0 (NOTLB)",
    ]
    boots = ["b1"] * 6 + ["b2"] * 2
    [c] = extract_sysrq(lines_table(texts, boot_ids=boots), "s")
    assert c.last_line == 6
    assert c.boot_id == "b1"
    assert [t.comm for t in c.tasks] == ["init"]


def test_no_sysrq_and_bad_tables():
    assert extract_sysrq(lines_table(["nothing here", "kernel.sysrq = 1"]), "s") == []
    assert extract_sysrq(lines_table([]), "s") == []
    import pyarrow as pa

    assert extract_sysrq(pa.table({"text": pa.array([1, 2])}), "s") == []
    assert extract_sysrq(pa.table({"x": pa.array(["SysRq : Show State"])}), "s") == []


def test_parse_task_dump_directly():
    tasks = parse_task_dump(RHEL4_SHOW_STATE[4:12])
    assert [t.comm for t in tasks] == ["init", "events/0", "suspend"]


def test_large_show_state_is_fast():
    block = RHEL4_SHOW_STATE[4:21]
    texts = ["SysRq : Show State"] + block * 3000 + ["x"] * 10 + ["plain log line"] * 100_000
    table = lines_table(texts)
    t0 = time.perf_counter()
    [c] = extract_sysrq(table, "s")
    elapsed = time.perf_counter() - t0
    assert len(c.tasks) == 4 * 3000
    assert c.last_line == 1 + len(block) * 3000
    assert elapsed < 10, elapsed
