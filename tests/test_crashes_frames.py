"""Stack-line parsing in every supported era and architecture, and the guilty-frame choice."""

from __future__ import annotations

import pytest

from triage.crashes.frames import (
    guilty_frame,
    is_generic,
    normalize_function,
    parse_frame,
    parse_line_frames,
    parse_stack,
)
from triage.model import Frame


@pytest.mark.parametrize(
    ("line", "function", "offset", "size", "module", "reliable", "address"),
    [
        # RHEL 4 / 2.6.9 i386 (xenU)
        (
            " [<c0115a3e>] network_tx_buf_gc+0x3e/0x1c0 [xennet]",
            "network_tx_buf_gc",
            0x3E,
            0x1C0,
            "xennet",
            True,
            "c0115a3e",
        ),
        # 2.6.18 x86_64
        (
            " [<ffffffff8006b2b5>] do_page_fault+0x4cb/0x830",
            "do_page_fault",
            0x4CB,
            0x830,
            "",
            True,
            "ffffffff8006b2b5",
        ),
        # 2.6.18 x86_64 module prefix form
        (
            " [<ffffffff88033d6d>] :ext3:ext3_ordered_writepage+0x1ed/0x330",
            "ext3_ordered_writepage",
            0x1ED,
            0x330,
            "ext3",
            True,
            "ffffffff88033d6d",
        ),
        # 2.6.9 x86_64 brace form, decimal offset, module between colons
        (
            "<ffffffff8013e5b5>{:xennet:network_alloc_rx_buffers+56}",
            "network_alloc_rx_buffers",
            56,
            None,
            "xennet",
            True,
            "ffffffff8013e5b5",
        ),
        # 3.x unreliable bracket frame
        (
            " [<ffffffff8151fd80>] ? ip_copy_metadata+0x1c0/0x1c0",
            "ip_copy_metadata",
            0x1C0,
            0x1C0,
            "",
            False,
            "ffffffff8151fd80",
        ),
        # modern x86_64
        (
            " amdgpu_vm_sdma_update+0x17d/0x240 [amdgpu]",
            "amdgpu_vm_sdma_update",
            0x17D,
            0x240,
            "amdgpu",
            True,
            "",
        ),
        (" ? pollwake+0x74/0x90", "pollwake", 0x74, 0x90, "", False, ""),
        # build id inside the module brackets (CONFIG_STACKTRACE_BUILD_ID)
        (
            " nvme_poll+0x2b/0x40 [nvme 6a7f1e3b0e2a4b3d8f1c2d3e4f5a6b7c8d9e0f1a]",
            "nvme_poll",
            0x2B,
            0x40,
            "nvme",
            True,
            "",
        ),
        # syzkaller symbolisation
        (
            " dump_stack+0x1b2/0x281 lib/dump_stack.c:113",
            "dump_stack",
            0x1B2,
            0x281,
            "",
            True,
            "",
        ),
        (" __dump_stack lib/dump_stack.c:77 [inline]", "__dump_stack", None, None, "", True, ""),
        (
            " sock_sendmsg_nosec net/socket.c:651 [inline]",
            "sock_sendmsg_nosec",
            None,
            None,
            "",
            True,
            "",
        ),
        # the faulting instruction
        (
            "RIP: 0010:amdgpu_vm_sdma_commit+0x46/0x120 [amdgpu]",
            "amdgpu_vm_sdma_commit",
            0x46,
            0x120,
            "amdgpu",
            True,
            "",
        ),
        (
            "RIP: 0010:[<ffffffff81153416>]  [<ffffffff81153416>] smp_call_function_many+0x216/0x280",
            "smp_call_function_many",
            0x216,
            0x280,
            "",
            True,
            "ffffffff81153416",
        ),
        (
            "RIP: e030:[<ffffffff8020622a>]  [<ffffffff8020622a>] hypercall_page+0x22a/0x1000",
            "hypercall_page",
            0x22A,
            0x1000,
            "",
            True,
            "ffffffff8020622a",
        ),
        (
            "RIP: 0010:[<ffffffff8011dc17>] <ffffffff8011dc17>{sys_ioctl+23}",
            "sys_ioctl",
            23,
            None,
            "",
            True,
            "ffffffff8011dc17",
        ),
        (
            "EIP is at network_tx_buf_gc+0x3e/0x1c0 [xennet]",
            "network_tx_buf_gc",
            0x3E,
            0x1C0,
            "xennet",
            True,
            "",
        ),
        (
            "IP: [<f88dec25>] :radeon:radeon_cp_init_ring_buffer+0x90/0x302",
            "radeon_cp_init_ring_buffer",
            0x90,
            0x302,
            "radeon",
            True,
            "f88dec25",
        ),
        # ppc64
        (
            "[c0000000fe7ab8b0] [c000000000016d7c] .show_stack+0x9c/0x1c0 (unreliable)",
            "show_stack",
            0x9C,
            0x1C0,
            "",
            False,
            "c000000000016d7c",
        ),
        (
            "[c000000010f93340] [d0000000008c991c] .ipr_probe_ioa+0x6c/0x1390 [ipr]",
            "ipr_probe_ioa",
            0x6C,
            0x1390,
            "ipr",
            True,
            "d0000000008c991c",
        ),
        (
            "NIP [c000000008068dfc] .eeh_dev_check_failure+0x27c/0x390",
            "eeh_dev_check_failure",
            0x27C,
            0x390,
            "",
            True,
            "c000000008068dfc",
        ),
        # s390x
        (
            "([<000000000011b1ac>] will_oops_init+0x5c/0x60 [will_oops])",
            "will_oops_init",
            0x5C,
            0x60,
            "will_oops",
            True,
            "000000000011b1ac",
        ),
        (
            "Krnl PSW : 0704f00180000000 000003ff8086d03a (will_oops_init+0x3a/0x1000 [will_oops])",
            "will_oops_init",
            0x3A,
            0x1000,
            "will_oops",
            True,
            "000003ff8086d03a",
        ),
        (" [<000003fffd4a1d92>] 0x3fffd4a1d92", "", None, None, "", True, "000003fffd4a1d92"),
        # arm / arm64
        (
            "[<c0012d3c>] (unwind_backtrace+0x0/0xf4) from [<c0041234>] (warn_slowpath_common+0x4c/0x64)",
            "unwind_backtrace",
            0x0,
            0xF4,
            "",
            True,
            "c0012d3c",
        ),
        (
            "[<c0014318>] (dump_backtrace_log_lvl) from [<c001457c>] (show_stack+0x24/0x2c)",
            "dump_backtrace_log_lvl",
            None,
            None,
            "",
            True,
            "c0014318",
        ),
        (
            "[<ffff000008085e30>] dump_backtrace+0x0/0x1b0",
            "dump_backtrace",
            0x0,
            0x1B0,
            "",
            True,
            "ffff000008085e30",
        ),
        ("PC is at shmem_getpage_gfp+0x584/0x72c", "shmem_getpage_gfp", 0x584, 0x72C, "", True, ""),
        ("pc : __do_softirq+0x11c/0x3d8", "__do_softirq", 0x11C, 0x3D8, "", True, ""),
        # crash utility `bt`
        (
            " #2 [ffff88003a9c3c80] oops_end at ffffffff81515d70",
            "oops_end",
            None,
            None,
            "",
            True,
            "ffffffff81515d70",
        ),
        (
            " #9 [ffff88003a9c3f80] xfs_trans_commit at ffffffffa02b2b1c [xfs]",
            "xfs_trans_commit",
            None,
            None,
            "xfs",
            True,
            "ffffffffa02b2b1c",
        ),
        # interrupt-stack markers in front of a frame
        (
            " <IRQ>  [<ffffffff81656735>] dump_stack+0x19/0x1b",
            "dump_stack",
            0x19,
            0x1B,
            "",
            True,
            "ffffffff81656735",
        ),
        (
            " <<EOE>> <IRQ>  [<ffffffff81584ca7>] ip_local_deliver+0x47/0x80",
            "ip_local_deliver",
            0x47,
            0x80,
            "",
            True,
            "ffffffff81584ca7",
        ),
    ],
)
def test_parse_frame_formats(line, function, offset, size, module, reliable, address):
    f = parse_frame(line)
    assert f == Frame(
        function=function,
        offset=offset,
        size=size,
        module=module,
        reliable=reliable,
        address=address,
    )


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Call Trace:",
        "Modules linked in: xennet xenblk ext3 jbd",
        "WARNING: at mm/page_alloc.c:2204 __alloc_pages_nodemask+0x231/0x8f0()",
        "INFO: Freed in hotkey_exit+0x50/0xb0 [thinkpad_acpi] age=14 cpu=1 pid=1333",
        "hardirqs last  enabled at (1929200): [<c043a0e9>] tasklet_hi_action+0x3e/0xbf",
        " #0:  (&buffer->mutex){+.+.+.}, at: [<c01a2230>] sysfs_write_file+0x28/0x140",
        " (&(&host->lock)->rlock#2){-.-...}, at: [<bf054120>] mxs_mmc_enable_sdio_irq+0x18/0xdc",
        " f180dc28 f8e3dde1 f180dc10 c09705a8 f8034728 00000119 f8034728 000080d0",
        "Code: 66 31 d2 09 c2 89 d8 e8 fc e7 ff ff 8b 83 cc 00 00 00",
        "RIP: 0033:0x7fd1f18192fb",
        "EIP: 0060:[<c04ac80f>] EFLAGS: 00010046 CPU: 1",
        "pc : [<c0333330>]    lr : [<c0333200>]    psr: 80070113",
        "0xfdc88c28",
        "eth0: link up, 1000Mbps, full-duplex",
    ],
)
def test_parse_frame_rejects_other_lines(line):
    assert parse_frame(line) is None


def test_several_frames_on_one_line_2_6_9():
    line = " [<c011a0b9>] do_exit+0x29/0x3d0  [<c010ddef>] die+0x1ef/0x200 [<c0119a05>] do_page_fault+0x3a5/0x5d8"
    frames = parse_line_frames(line)
    assert [f.function for f in frames] == ["do_exit", "die", "do_page_fault"]
    assert [f.address for f in frames] == ["c011a0b9", "c010ddef", "c0119a05"]


def test_brace_frames_follow_call_trace_on_same_line():
    line = "Call Trace:<ffffffff80130e47>{__wake_up+56} <ffffffff80116a62>{:xennet:netif_poll+1289}"
    frames = parse_line_frames(line)
    assert [(f.function, f.offset, f.module) for f in frames] == [
        ("__wake_up", 56, ""),
        ("netif_poll", 1289, "xennet"),
    ]


def test_stack_puts_faulting_ip_first_and_ignores_trailers():
    body = [
        "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
        "RIP: 0010:[<ffffffffa0525326>]  [<ffffffffa0525326>] wdev_priv.part.8+0x4/0x6 [wl]",
        "RSP: 0018:ffff8801243fb958  EFLAGS: 00010246",
        "Stack:",
        " ffff8801243fb9a8 ffffffffa0522544 ffffffffa026ec78 ffffffffa026ec78",
        "Call Trace:",
        " [<ffffffffa0522544>] wl_cfg80211_scan+0x3f4/0x480 [wl]",
        " [<ffffffffa026ec78>] ? nl80211_trigger_scan+0xf8/0x610 [cfg80211]",
        " [<ffffffff816226e9>] system_call_fastpath+0x16/0x1b",
        "Code: e7 e8 5f 79 ff ff 48 89 df e8 27 9e dd e0 31 f6",
        "RIP  [<ffffffffa0525326>] wdev_priv.part.8+0x4/0x6 [wl]",
        " RSP <ffff8801243fb958>",
    ]
    frames = parse_stack(body)
    assert [f.function for f in frames] == [
        "wdev_priv.part.8",
        "wl_cfg80211_scan",
        "nl80211_trigger_scan",
        "system_call_fastpath",
    ]
    assert [f.reliable for f in frames] == [True, True, False, True]


def test_stack_drops_trace_frame_repeating_the_ip_and_last_breaking_event():
    body = [
        "Krnl PSW : 0704f00180000000 000003ff8086d03a (will_oops_init+0x3a/0x1000 [will_oops])",
        "Call Trace:",
        "([<000003ff8086d036>] will_oops_init+0x36/0x1000 [will_oops])",
        " [<000000000010014e>] do_one_initcall+0xce/0x160",
        " [<000003fffd4a1d92>] 0x3fffd4a1d92",
        "Last Breaking-Event-Address:",
        " [<000003ff8086d036>] will_oops_init+0x36/0x1000 [will_oops]",
    ]
    frames = parse_stack(body)
    assert [f.function for f in frames] == ["will_oops_init", "do_one_initcall", ""]
    assert frames[0].offset == 0x3A
    assert frames[-1].address == "000003fffd4a1d92"


def test_stack_keeps_unsymbolised_addresses_only_inside_a_trace():
    body = [
        "INFO: Allocated in 0xfdc88c28 age=79 cpu=0 pid=1329",
        " __slab_alloc.isra.50.constprop.56+0x49f/0x533",
        " 0xfdc88c28",
        " do_one_initcall+0x112/0x160",
        "INFO: Slab 0xf4d5ea20 objects=17 used=17",
        " 0xf4d5ea20",
    ]
    frames = parse_stack(body)
    assert [(f.function, f.address) for f in frames] == [
        ("__slab_alloc.isra.50.constprop.56", ""),
        ("", "fdc88c28"),
        ("do_one_initcall", ""),
    ]


def test_stack_takes_only_first_ip_line():
    body = [
        "RIP: 0010:first_func+0x1/0x10",
        "Call Trace:",
        " <TASK>",
        " caller_a+0x2/0x20",
        " </TASK>",
        "RIP: 0033:0x7f0000001000",
        "RIP: 0010:second_func+0x1/0x10",
    ]
    assert [f.function for f in parse_stack(body)] == ["first_func", "caller_a"]


def test_stack_tolerates_timestamps_and_non_strings():
    body = [
        "[  120.833026] Call Trace: ",
        None,
        "[  120.833031]  [<ffffffff81099a6c>] __might_sleep+0x13c/0x200 ",
    ]
    assert [f.function for f in parse_stack(body)] == ["__might_sleep"]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("__slab_alloc.isra.50.constprop.56", "__slab_alloc"),
        ("wdev_priv.part.8", "wdev_priv"),
        ("tcp_ack.cold", "tcp_ack"),
        ("tcp_ack.cold.12", "tcp_ack"),
        ("nvme_irq.llvm.1234567890", "nvme_irq"),
        (".show_stack", "show_stack"),
        ("ext4_writepages", "ext4_writepages"),
    ],
)
def test_normalize_function(raw, normal):
    assert normalize_function(raw) == normal


def test_guilty_frame_skips_reporting_and_plumbing():
    frames = [
        Frame("dump_stack", 0x19, 0x1B),
        Frame("warn_slowpath_common", 0x70, 0xA0),
        Frame("warn_slowpath_null", 0x1A, 0x20),
        Frame("_raw_spin_lock_irqsave", 0x48, 0x5C),
        Frame("ip_copy_metadata", 0x1C0, 0x1C0, reliable=False),
        Frame("tcp_fastretrans_alert.isra.30", 0xC7A, 0xD10, module="tcp"),
        Frame("tcp_ack", 0x9D8, 0xEC0),
    ]
    g = guilty_frame(frames)
    assert g is not None
    assert g.function == "tcp_fastretrans_alert"
    assert g.module == "tcp"
    assert g.offset == 0xC7A


def test_guilty_frame_skip_extra_and_unreliable_fallback():
    frames = [Frame("kfree", 1, 2), Frame("my_driver_remove", 3, 4)]
    assert guilty_frame(frames).function == "kfree"
    assert guilty_frame(frames, skip_extra=["kfree"]).function == "my_driver_remove"
    only_unreliable = [
        Frame("__kasan_report", 1, 2),
        Frame("radeon_cp_resume", 1, 2, reliable=False),
    ]
    g = guilty_frame(only_unreliable)
    assert g is not None and g.function == "radeon_cp_resume" and g.reliable is False
    assert guilty_frame([Frame("panic"), Frame("", address="c0000000")]) is None
    assert guilty_frame([]) is None


@pytest.mark.parametrize(
    "name",
    [
        "dump_stack",
        "warn_slowpath_fmt",
        "__warn",
        "asm_exc_invalid_op",
        "exc_page_fault",
        "kasan_report",
        "__asan_load8",
        "lock_acquire",
        "__lock_acquire.isra.0",
        "entry_SYSCALL_64_after_hwframe",
        "SyS_write",  # folded to sys_write: not generic
    ],
)
def test_generic_frames_table(name):
    assert is_generic(name) is (name != "SyS_write")
