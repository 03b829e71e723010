"""The condition language, evaluated on records built by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpers_match import fact, unit

from triage.match.conditions import evaluate_node
from triage.model import Crash, Frame, SysrqTask

T0 = datetime(2009, 3, 14, 2, 0, 0)


def test_line_pattern_min_count_and_evidence_rows():
    u = unit(
        [
            "a",
            "request_module: runaway loop modprobe binfmt-464c",
            "b",
            "request_module: runaway loop modprobe binfmt-464c",
        ]
    )
    hit = evaluate_node({"line": {"pattern": r"runaway loop modprobe", "min_count": 2}}, u)
    assert hit.ok and [r for r, _ in hit.rows] == [1, 3]
    assert not evaluate_node({"line": {"pattern": r"runaway loop", "min_count": 3}}, u).ok


def test_lookaround_pattern_falls_back_to_python_regex():
    u = unit(["panic=0 set", "Kernel panic - not syncing: Fatal exception"])
    hit = evaluate_node({"line": {"pattern": r"(?<!=)\bpanic\b(?!=)"}}, u)
    assert hit.ok and [r for r, _ in hit.rows] == [1]


def test_sequence_is_ordered_and_windowed():
    texts = ["Bad pagetable", "x", "Corrupted page table at address 7f00", "y", "Bad pagetable"]
    u = unit(texts)
    seq = {"sequence": {"steps": ["Corrupted page table", "Bad pagetable"], "within_lines": 5}}
    hit = evaluate_node(seq, u)
    assert hit.ok and [r for r, _ in hit.rows] == [2, 4]
    tight = {"sequence": {"steps": ["Corrupted page table", "Bad pagetable"], "within_lines": 1}}
    assert not evaluate_node(tight, u).ok


def test_silence_then_wakeup():
    texts = ["boot", "eth0 up", "SysRq : Show Memory", "Mem-info:"]
    times = [T0, T0 + timedelta(seconds=5), T0 + timedelta(minutes=50), T0 + timedelta(minutes=50)]
    spec = {"silence": {"min_minutes": 10, "then": "SysRq : "}}
    hit = evaluate_node(spec, unit(texts, times))
    assert hit.ok and [r for r, _ in hit.rows] == [1, 2]
    # the same gap ended by ordinary output is not an external wake-up
    texts2 = ["boot", "eth0 up", "cron[1]: run", "SysRq : Show Memory"]
    times2 = [T0, T0 + timedelta(seconds=5), T0 + timedelta(minutes=50), T0 + timedelta(minutes=51)]
    assert not evaluate_node(
        {"silence": {"min_minutes": 10, "then": "SysRq : ", "then_within_lines": 1}},
        unit(texts2, times2),
    ).ok
    # no timestamps: a silence cannot be measured
    assert not evaluate_node(spec, unit(texts)).ok


def _crash(frames, title="BUG: soft lockup in netif_poll", first=1, last=4):
    return Crash(
        crash_id="c1",
        source_id="src0",
        boot_id="b0",
        first_line=first,
        last_line=last,
        title=title,
        frames=[Frame(f) for f in frames],
    )


def test_crash_frames_all_any_none():
    texts = [
        "BUG: soft lockup - CPU#0 stuck for 10s! [events/0:9]",
        " _spin_lock+0x7/0x10",
        " :xennet:netif_poll+0x45/0x8e0",
        " net_rx_action+0xac/0x1e0",
    ]
    c = _crash(["_spin_lock", "netif_poll", "net_rx_action"])
    u = unit(texts, crashes=[c])
    spec = {
        "crash": {
            "title": "soft lockup",
            "frames_all": ["netif_poll"],
            "frames_any": ["_spin_lock"],
        }
    }
    hit = evaluate_node(spec, u)
    assert hit.ok and hit.crashes == [c]
    assert 0 in [r for r, _ in hit.rows] and 2 in [r for r, _ in hit.rows]
    assert not evaluate_node(
        {"crash": {"frames_all": ["netif_poll"], "frames_none": ["net_rx_.*"]}}, u
    ).ok
    # frames match whole names: "netif_poll" does not match "netif_poll_extra"
    c2 = _crash(["netif_poll_extra"])
    assert not evaluate_node(
        {"crash": {"frames_all": ["netif_poll"]}}, unit(texts, crashes=[c2])
    ).ok


def test_task_state_and_frames():
    texts = [
        "SysRq : Show State",
        "suspend       D C03D4F20     0  4127      6 (L-TLB)",
        "Call Trace:",
        " [<c0236e3f>] xs_suspend+0x1a/0x30",
    ]
    tasks = [
        SysrqTask("suspend", 4127, "D", [Frame("rwsem_down_write_failed"), Frame("xs_suspend")]),
        SysrqTask("init", 1, "S", [Frame("xs_suspend")]),
    ]
    c = Crash(
        crash_id="s",
        source_id="src0",
        boot_id="b0",
        first_line=1,
        last_line=4,
        record="sysrq",
        tasks=tasks,
    )
    u = unit(texts, crashes=[c])
    hit = evaluate_node({"task": {"state": ["D"], "frames_any": ["xs_suspend"]}}, u)
    assert hit.ok and [r for r, _ in hit.rows] == [1, 3]
    assert not evaluate_node(
        {"task": {"state": ["D"], "frames_any": ["xs_suspend"], "min_count": 2}}, u
    ).ok


def test_facts_numeric_presence_and_time_window():
    u = unit(
        ["x"],
        host_facts=[fact("host.memory_total_bytes", "103079215104")],
        vm_facts=[fact("vm.uuid", "u", "vm")],
    )
    assert evaluate_node({"fact": {"key": "host.memory_total_bytes", "ge": 68719476736}}, u).ok
    assert not evaluate_node({"fact": {"key": "host.memory_total_bytes", "ge": 2e11}}, u).ok
    assert evaluate_node(
        {"fact": {"key": "vm.other_config.machine-address-size", "present": False}}, u
    ).ok
    # a VM the source is not linked to: neither present nor absent can be claimed
    unlinked = unit(["x"], vm_facts=None)
    assert not evaluate_node(
        {"fact": {"key": "vm.other_config.machine-address-size", "present": False}}, unlinked
    ).ok
    texts = ["Oops: 0002 [#1]"]
    mig = fact("vm.event.migrate", "pool_migrate done", "vm", T0 - timedelta(minutes=10))
    node = {
        "all": [
            {"line": {"pattern": "Oops"}},
            {"fact": {"key": "vm.event.migrate", "before_minutes": 30}},
        ]
    }
    assert evaluate_node(node, unit(texts, [T0], vm_facts=[mig])).ok
    late = fact("vm.event.migrate", "pool_migrate done", "vm", T0 - timedelta(hours=3))
    assert not evaluate_node(node, unit(texts, [T0], vm_facts=[late])).ok


def test_all_any_not_optional_and_names():
    u = unit(["alpha", "beta"])
    node = {
        "all": [
            {"name": "a", "line": {"pattern": "alpha"}},
            {"name": "g", "optional": True, "line": {"pattern": "gamma"}},
            {"not": {"line": {"pattern": "delta"}}},
            {"any": [{"name": "b", "line": {"pattern": "beta"}}, {"line": {"pattern": "zeta"}}]},
        ]
    }
    hit = evaluate_node(node, u)
    assert hit.ok and hit.names == {"a", "b"}
    node["all"][2] = {"not": {"line": {"pattern": "beta"}}}
    assert not evaluate_node(node, u).ok


def test_boot_early_death():
    u = unit(["Linux version 2.6.9-78.ELxenU", "Brought up 1 CPUs"])
    assert evaluate_node({"boot": {"max_lines": 10, "lacks": "Freeing unused kernel memory"}}, u).ok
    full = unit(["Linux version 2.6.9-78.ELxenU", "Freeing unused kernel memory: 160k freed"])
    assert not evaluate_node(
        {"boot": {"max_lines": 10, "lacks": "Freeing unused kernel memory"}}, full
    ).ok


def test_a_log_without_a_kernel_banner_is_not_a_boot_that_died():
    # a host log (xensource.log) or a rotated syslog tail: short, no banner, never "mounts root"
    u = unit(["VM.start: VM = '5e1f4a2b (rhel47vm)'", "bugtool: collecting status report"])
    u.boot.banner = ""
    assert not evaluate_node({"boot": {"max_lines": 10, "lacks": "VFS: Mounted root"}}, u).ok
