"""Every kernel report format we recognise, as one table of data (DESIGN.md §8).

A *kind* is a family of reports announced by one header (``BUG:``, ``WARNING:``, ``Kernel
panic``...). The header regex finds where a report starts; the kind's *formats* then decide the
title: the first format whose ``title`` regex matches earliest in the report text wins, its
``template`` is filled with the regex groups (and the ``report`` regex groups when one is given)
followed by one guilty frame per stack trace described by ``stack``.

Template placeholders are 1-based: ``{1}`` is the first argument. Titles follow syzkaller's
naming ("KASAN: use-after-free Read in foo", "INFO: task hung in bar") so that a title computed
here can be compared with, and deduplicated against, the titles the kernel community uses.

Adding a format is one entry below plus a golden log under ``tests/``; nothing else changes.

Regex macros (expanded by :func:`expand`):
- ``{{PC}}``   a bracketed program counter: ``[<ffffffff81234567>]``, ``[c000000000b8bcf0]``
- ``{{FUNC}}`` a function name followed by ``+off`` or a compiler suffix; captures the name.
  A leading ``.`` (ppc64 ELFv1 descriptors) or ``:module:`` (2.6.18 x86_64) is not captured;
  2.6.18's out-of-line lock sections (``.text.lock.mutex``) are no function.
- ``{{SRC}}``  a source location ``path/file.c:123``; captures it.
- ``{{ADDR}}`` a hex address ``0x...``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Sentinel stack part: parse a stack trace from the current position.
PARSE = "<parse-stack-trace>"

MACROS = {
    "{{ADDR}}": r"0x[0-9a-f]+",
    "{{PC}}": r"\[\<?(?:0x)?[0-9a-f]+\>?\]",
    "{{FUNC}}": r"(?:\.(?!text\.)|:[a-zA-Z0-9_]+:)?([a-zA-Z0-9_]+)(?:\.|\+)",
    "{{SRC}}": r"([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+)",
}


def expand(pattern: str) -> str:
    """Replace the regex macros of this module in `pattern`."""
    for name, value in MACROS.items():
        pattern = pattern.replace(name, value)
    return pattern


# The line that names the faulting instruction: x86 `RIP: 0010:func+0x1/0x2`, i386 `EIP is at`,
# ppc `NIP [..] func`, arm `PC is at func`, arm64 `pc : func`, 2.6.9 x86_64 `<addr>{func+12}`.
RIP_FRAME = (
    r"(?:IP|NIP|pc |PC is at|IP is at):? (?:(?:[0-9a-f]+:)?(?:{{PC}} +){0,2}{{FUNC}}"
    r"|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\)"
    r"|[0-9a-f]+:\[<[0-9a-f]+>\] <[0-9a-f]+>\{(?::[a-zA-Z0-9_]+:)?([a-zA-Z0-9_]+)\+)"
)
CALL_TRACE = r"(?:Call (?:T|t)race:)|(?:Backtrace:)"

#: Lines that open a stack trace; a stack trace being parsed ends at the next one.
STACK_START = (
    r"Call (?:T|t)race",
    r"Allocated:",
    r"Allocated by task [0-9]+:",
    r"Freed:",
    r"Freed by task [0-9]+:",
    r"[^k] backtrace(?: \(crc [0-9a-fA-F]*\))?:",
    r"Backtrace:",
    r"Uninit was stored to memory at",
    r"status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}",
)
#: The riscv register line above is a stack start, but it is no proof of a stack trace.
WEAK_STACK_START = STACK_START[-1]

#: One frame per line, in the kernel's per-arch formats; the first regex that matches wins.
FRAME_LINE = (
    # x86, arm64, s390, ppc64: "[<pc>] [<pc>] func+0x1/0x2 [mod]", optional <IRQ> marker or "(".
    r"^ *(?:<[A-Z#]+> +)?\(?(?:{{PC}} ?){0,2}[ \t]*{{FUNC}}",
    # arm: "[<pc>] (callee+0x1/0x2) from [<pc>] (caller+0x3/0x4)" — both names are frames.
    r"^ *{{PC}} \(([a-zA-Z0-9_.]+)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?\) from {{PC}} \({{FUNC}}",
)
#: A frame as old i386 dump_stack() printed it, with no "Call Trace:" line above.
BARE_FRAME = r"^ *\[<?[0-9a-f]+>?\] +(?:\.|:[a-zA-Z0-9_]+:)?([a-zA-Z0-9_]+)(?:\.[a-z0-9.]+)?\+0x[0-9a-f]+/0x[0-9a-f]+"
#: 2.6.9-era x86_64 prints several `<addr>{func+dec}` frames per line.
OLD_X86_64_FRAMES = r"<[0-9a-f]+>\{(?::[a-zA-Z0-9_]+:)?([a-zA-Z0-9_]+)\+"

#: A frame line the unwinder is unsure of: x86 `? func`, ppc `(unreliable)`.
QUESTIONABLE_FRAME = r"(?:\[\<[0-9a-f]+\>\])? \? |\(unreliable\)\s*$"

#: Frames that never explain a report (generic reporting, locking, allocation, string helpers).
SKIP_FRAMES = (
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
    "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
    "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op",
    "report_bug", "fixup_bug", "print_report", "print_usage_bug", "do_error", "_trap$|do_trap",
    "show_stack", "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath", "warn_alloc",
    "warn_bogus", "__warn", "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache",
    "allocate_slab", "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)", "filemap_alloc_folio", "__filemap_get_folio",
    "find_or_create_page", "do_read_cache_folio", "read_cache_page", "pagecache_get_page",
    "grab_cache_page_write_begin", "slab_", "debug_object", "timer_is_static_object",
    "work_is_static_object", "__might_fault", "print_unlock", "imbalance_bug", "lockdep",
    "bh_enable", "bh_disable", "perf_trace", "lock_acquire", "lock_release", "lock_class",
    "mark_lock", "(reacquire|mark)_held_locks", "raw_spin_rq", "spin_lock", "spin_trylock",
    "spin_unlock", "read_lock", "read_trylock", "write_lock", "write_trylock", "read_unlock",
    "write_unlock", "^down$", "down_read", "down_write", "down_read_trylock",
    "down_write_trylock", "down_trylock", "up_read", "up_write", "^mutex_", "^__mutex_",
    "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
    "(set|clear|change|test)_bit", "__wake_up", "^refcount_", "^kref_", "ref_tracker",
    "seqprop_assert", "memcpy", "memcmp", "memset", "memchr", "memmove", "memdup", "strcmp",
    "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr", "strnstr",
    "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
    "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter",
    "^copyin$", "^copyout$", "put_user", "get_user", "might_fault", "might_sleep", "list_add",
    "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_",
    "_indirect_thunk_", "string", "pointer", "snprintf", "scnprintf", "kasprintf",
    "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err",
    "dev_alert", "dev_crit", "dev_emerg", "program_check_exception", "program_check_common",
    "del_timer", "flush_work", "__cancel_work_timer", "cancel_work_sync",
    "try_to_grab_pending", "flush_workqueue", "drain_workqueue", "destroy_workqueue",
    "queue_work", "finish_wait", "kthread_stop", "kobject_", "add_uevent_var",
    "get_device_parent", "device_add", "device_del", "device_unregister", "device_destroy",
    "device_release", "devres_release_all", "hwrng_unregister", "i2c_del_adapter",
    "__unregister_client", "device_for_each_child", "rollback_registered",
    "unregister_netdev", "sysfs_remove", "device_remove_file", "tty_unregister_device",
    "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg",
    "usb_hcd_submit_urb", "usb_submit_urb", "^complete$", "wait_for_completion",
    "^kv?free$", "kfree_skb", "readb$", "readw$", "readl$", "readq$", "writeb$", "writew$",
    "writel$", "writeq$", "logic_in", "logic_out", r"^crc\d+", "crc_itu_t",
    "__might_resched", "assertfail", "^iput$", "^iput_final$", "^ihold$",
    "hex_dump_to_buffer", "print_hex_dump", "^klist_", "(trace|lockdep)_(hard|soft)irq",
    "^(un)?lock_page", "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save",
    "insert_work", "__queue_delayed_work", "queue_delayed_work_on", "ida_free",
    "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?",
    "print_tainted", "xas_(?:start|load|find)", "find_lock_entries",
    "truncate_inode_pages_range", "__phys_addr", "__fortify_report", "cleanup_srcu_struct",
    "rhashtable_lookup", "extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$",
    "^put_device$", "lock_timer_base", "__timer_delete_sync", "sk_stop_timer_sync",
    "__mod_timer", "fast_dput", "dput",
)  # fmt: skip

#: A fault-injection stack interleaved with a report makes its frames untrustworthy.
CORRUPTED_LINES = (r"^( \[\<?(?:0x)?[0-9a-f]+\>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x",)

#: Syscall wrappers differ per arch and era; the frame is named without them.
STRIP_FRAME_PREFIXES = (
    "SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_",
    "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
)  # fmt: skip

#: Stalls loop somewhere under a dispatcher; the frame just above the first of these names them.
STALL_ANCHORS = (
    "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch",
    "tracesys_phase2", "el0_svc_handler", "invoke_syscall", "ret_fast_syscall",
    "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers", "run_timer_softirq",
    "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn", "^kthread$", "start_secondary",
    "cpu_startup_entry", "ret_from_fork", "vfs_write", "vfs_read", "vfs_iter_read",
    "vfs_iter_write", "do_iter_read", "do_iter_write", "call_read_iter", "call_write_iter",
    "new_sync_read", "new_sync_write", "vfs_ioctl", "ksys_ioctl", "compat_ioctl",
    "compat_sys_ioctl", "blkdev_driver_ioctl", "blkdev_ioctl", "do_iter_readv_writev",
    "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open", "^sock_sendmsg",
    "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$", "kernel_setsockopt",
    "sock_common_setsockopt", "^listen$", "kernel_listen", "sk_common_release", "^sock_mmap",
    "^accept$", "kernel_accept", "^sock_do_ioctl", "^sock_ioctl", "^compat_sock_ioctl",
    "^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg", "^netlink_dump",
    "^(sys_)?(socketpair|connect|ioctl)", "__do_fault", "do_page_fault", "^page_fault$",
    "__fput", "task_work_run", "exit_to_usermode", "tasklet_action", "tasklet_hi_action",
    # Pre-NAPI-rework kernels (2.6.x): the NET_RX softirq calls the driver's poll directly.
    "^net_rx_action$",
    # 2.6.x syscall and kernel-thread entry points (x86_64, i386).
    "^system_call$", "^system_call_fastpath$", "^tracesys$", "^syscall_call$",
    "^sysenter_past_esp$", "^sysenter_do_call$", "^ia32_sysenter_target$", "^child_rip$",
    "^kernel_thread_helper$",
)  # fmt: skip
#: Anchors that name the stall themselves, not by the frame above them (they are anchors too).
#: smp_call_function: the CPU waits there for another one, whoever called it. ^cpu_idle$: the
#: idle loop of 2.6.x-3.9 kernels (do_idle's predecessor); a stall in it is an idle stall
#: whatever idle routine sits above it (xen_idle, mwait_idle, default_idle). Below it there is
#: often no anchor: Xen PV guests print nothing (cpu_bringup_and_idle jumps to it), CPU 0 shows
#: start_kernel, so without this an idle CPU's complete trace was taken for a truncated one.
STALL_SELF_ANCHORS = ("smp_call_function", "^cpu_idle$")

#: Hung tasks block in generic waits; these anchors group hangs by what they wait for.
HANG_ANCHORS = {
    "rtnl_lock": "",
    "synchronize_rcu": "synchronize_rcu",
    "synchronize_srcu": "synchronize_rcu",
    "synchronize_net": "synchronize_rcu",
    "synchronize_sched": "synchronize_rcu",
    "synchronize_kernel": "",  # 2.6.9's name; kept so old and new kernels stay apart
}
HANG_SKIP = (
    "sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait",
    "synchronize", "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier",
)  # fmt: skip

#: Messages that carry a stack but are no bug: seen inside a report, they end its title text.
INFO_WITH_STACK = (
    "vmalloc: allocation failure:",
    "FAULT_INJECTION: forcing a failure",
    "FAULT_FLAG_ALLOW_RETRY missing",
)

#: Lines whose presence anywhere means the console output was cut short.
CONSOLE_HANGUP = ("serialport: VM disconnected.",)

#: A title containing a console timestamp was glued together from two lines.
CORRUPTED_TITLE = r"\[ *[0-9]+\.[0-9]+\]"


@dataclass(frozen=True)
class Stack:
    """How to find the guilty frame(s): regex parts matched in order, PARSE = a stack trace."""

    parts: tuple[str, ...]
    parts2: tuple[str, ...] = ()  # tried when `parts` yields no frame
    skip: tuple[str, ...] = ()  # extra frames to skip for this format
    extractor: str = ""  # "" first frame | "stall" | "hang"


@dataclass(frozen=True)
class Format:
    title: str  # regex searched in the report text
    template: str
    report: str = ""  # when set, must also match; its groups replace the title's
    alt: tuple[str, ...] = ()
    stack: Stack | None = None
    no_stack: bool = False  # the report carries no "Call Trace" by nature
    corrupted: bool = False  # matching this format means the report lost its real header
    type: str = ""  # overrides the kind's type
    #: the title group (1-based) naming the function, when the header names it: the frame the
    #: title takes when the stack gives none usable (2.6.32 marks every frame `?`)
    header_func: int = 0


@dataclass(frozen=True)
class Kind:
    name: str
    header: str  # RE2-compatible regex: the line that starts (or continues) such a report
    formats: tuple[Format, ...]
    type: str
    suppress: tuple[str, ...] = ()  # a header line matching one of these is not a report
    starts_report: bool = True  # False: inside another report it is a part of that report
    record: str = "crash"  # crash | event
    panics: bool = False  # the kernel stopped: sets Crash.panicked
    repeats: bool = False  # more headers of this kind close by belong to the same report


def _rip_stack(*skip: str, extractor: str = "") -> Stack:
    return Stack(parts=(RIP_FRAME, CALL_TRACE, PARSE), skip=skip, extractor=extractor)


def _trace_stack(*skip: str, extractor: str = "") -> Stack:
    return Stack(parts=(CALL_TRACE, PARSE), skip=skip, extractor=extractor)


def _warning_stack(*skip: str, extractor: str = "") -> Stack:
    # x86_64 WARNING stacks start after the RIP line, ppc64 after "--- interrupt:",
    # older kernels just print "Call Trace:".
    return Stack(
        parts=(f"(?:{RIP_FRAME}|--- interrupt: [0-9]+ at {{{{FUNC}}}})", PARSE),
        parts2=(CALL_TRACE, PARSE),
        skip=skip,
        extractor=extractor,
    )


_KASAN_FUNC = "BUG: KASAN: (?:[a-z\\-]+) in {{FUNC}}"
_KASAN_FREE = "BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"
_KFENCE_FUNC = "BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}"
_KMSAN_STACK = (PARSE, "(Local variable .* created at:|Uninit was created at:)", PARSE)
_LOCK_AT = "at: (?:{{PC}} +)?{{FUNC}}"

BUG = Kind(
    name="bug",
    header=r"BUG:",
    type="BUG",
    suppress=(
        r"ODEBUG:",
        r"Boot_DEBUG:",
        r"xlog_status:",
        r"DEBUG:",
        r"BUG: no syscalls can create resource",
        # arm/arm64 after `kernel BUG at …!`: the exception BUG() raised, continuing that
        # report as x86's `invalid opcode:` does (an `Internal error:` line)
        r"Internal error: Oops - BUG: ",
    ),
    formats=(
        Format(
            title="BUG: KASAN:",
            report=r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)",
            template="KASAN: {1} {3} in {4}",
            alt=("bad-access in {4}",),
            stack=Stack(
                parts=(_KASAN_FUNC, CALL_TRACE, PARSE),
                skip=("kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"),
            ),
            type="KASAN",
        ),
        Format(
            title="BUG: KASAN:",
            report=_KASAN_FREE,
            template="KASAN: invalid-free in {2}",
            alt=("invalid-free in {2}",),
            stack=Stack(
                parts=(_KASAN_FREE, CALL_TRACE, PARSE),
                skip=("slab_", "kfree", "vunmap", "vfree"),
            ),
            type="KASAN",
        ),
        Format(
            title=r"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)",
            template="KASAN: {1} {2}",
            type="KASAN",
        ),
        Format(title="BUG: KASAN: (.*)", template="KASAN: {1}", corrupted=True, type="KASAN"),
        Format(
            title="BUG: KMSAN: kernel-usb-infoleak",
            report="BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}",
            template="KMSAN: kernel-usb-infoleak in {2}",
            alt=("KMSAN origin in {3}",),
            stack=Stack(
                parts=_KMSAN_STACK,
                skip=(
                    "alloc_skb",
                    "usb_submit_urb",
                    "usb_start_wait_urb",
                    "usb_bulk_msg",
                    "usb_interrupt_msg",
                    "usb_control_msg",
                ),
            ),
            no_stack=True,
            type="KMSAN",
        ),
        Format(
            title="BUG: KMSAN:",
            report=r"BUG: KMSAN: ([a-z\-]+) in {{FUNC}}",
            template="KMSAN: {1} in {3}",
            alt=("bad-access in {3}",),
            stack=Stack(
                parts=_KMSAN_STACK,
                skip=(
                    "alloc_skb",
                    "netlink_ack",
                    "netlink_rcv_skb",
                    "_encrypt$",
                    "^(?:crypto|cipher|drbg|rng)_",
                ),
            ),
            no_stack=True,
            type="KMSAN",
        ),
        Format(
            title="BUG: KCSAN: data-race",
            report="BUG: KCSAN: (.*)",
            template="KCSAN: {1}",
            no_stack=True,
            type="KCSAN",
        ),
        Format(
            title="BUG: KCSAN:",
            report="BUG: KCSAN: (.*)",
            template="KCSAN: {1}",
            no_stack=True,
            type="KCSAN",
        ),
        Format(
            title="BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}",
            template="KFENCE: {1} {2} in {4}",
            alt=("bad-access in {4}",),
            stack=Stack(parts=(_KFENCE_FUNC, PARSE)),
            type="KFENCE",
        ),
        Format(
            title="BUG: KFENCE: invalid free in {{FUNC}}",
            template="KFENCE: invalid free in {2}",
            alt=("invalid-free in {2}",),
            no_stack=True,
            stack=Stack(parts=(_KFENCE_FUNC, PARSE)),
            type="KFENCE",
        ),
        Format(
            title="BUG: KFENCE: invalid (read|write) in {{FUNC}}",
            template="KFENCE: invalid {1} in {3}",
            alt=("bad-access in {3}",),
            stack=Stack(parts=(_KFENCE_FUNC, PARSE)),
            type="KFENCE",
        ),
        Format(
            title="BUG: KFENCE: memory corruption in {{FUNC}}",
            template="KFENCE: memory corruption in {2}",
            no_stack=True,
            stack=Stack(parts=(_KFENCE_FUNC, PARSE)),
            type="KFENCE",
        ),
        Format(
            title="BUG: (?:unable to handle kernel paging request|unable to handle page fault "
            "for address|Unable to handle kernel data access)",
            template="BUG: unable to handle kernel paging request in {1}",
            alt=("bad-access in {1}",),
            stack=_rip_stack(),
            type="MEMORY_SAFETY",
        ),
        Format(
            title="BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer "
            "dereference|Kernel NULL pointer dereference)",
            template="BUG: unable to handle kernel NULL pointer dereference in {1}",
            alt=("bad-access in {1}",),
            stack=_rip_stack(),
            type="NULL_POINTER",
        ),
        Format(
            # The kernel prints this header in two printk() calls; the second may be lost.
            title="BUG: (?:unable to handle kernel|Unable to handle kernel)",
            template="BUG: unable to handle kernel",
            corrupted=True,
            type="MEMORY_SAFETY",
        ),
        Format(
            title="BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion"
            "|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
            template="BUG: {1} {2} in {3}",
            stack=_trace_stack("spin_", "_lock", "_unlock"),
            type="LOCKDEP",
        ),
        Format(
            title="BUG: soft lockup",
            template="BUG: soft lockup in {1}",
            alt=("stall in {1}",),
            stack=_rip_stack(extractor="stall"),
            type="HANG",
        ),
        Format(
            title="BUG: .*still has locks held!",
            report=r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}",
            template="BUG: still has locks held in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="BUG: scheduling while atomic",
            template="BUG: scheduling while atomic in {1}",
            stack=_trace_stack("schedule"),
            type="ATOMIC_SLEEP",
        ),
        Format(
            title="BUG: lock held when returning to user space",
            report=r"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel "
            r"with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
            template="BUG: lock held when returning to user space in {1}",
            no_stack=True,
            type="LOCKDEP",
        ),
        Format(
            title="BUG: bad unlock balance detected!",
            template="BUG: bad unlock balance in {1}",
            stack=Stack(parts=("{{PC}} +{{FUNC}}", CALL_TRACE, PARSE)),
            type="LOCKDEP",
        ),
        Format(
            title="BUG: held lock freed!",
            report=r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}",
            template="BUG: held lock freed in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="BUG: Bad rss-counter state",
            template="BUG: Bad rss-counter state",
            no_stack=True,
        ),
        Format(
            title="BUG: non-zero nr_ptes on freeing mm",
            template="BUG: non-zero nr_ptes on freeing mm",
            no_stack=True,
        ),
        Format(
            title="BUG: non-zero nr_pmds on freeing mm",
            template="BUG: non-zero nr_pmds on freeing mm",
            no_stack=True,
        ),
        Format(
            # Device and filesystem names in this message only create duplicates.
            title="BUG: Dentry .* still in use",
            report=r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]",
            template="BUG: Dentry still in use in {1}",
            alt=("BUG: Dentry still in use [{1} of {2}]",),
        ),
        Format(
            title="BUG: Bad page (state|cache)",
            template="BUG: Bad page {1} in {2}",
            stack=Stack(
                parts=("page last allocated", PARSE),
                skip=(
                    "(free|put|get|update|release)_page",
                    "free_unref",
                    "^_*folio",
                    "truncate_inode_pages",
                    "page_frag_free",
                    "alloc",
                    "vmap",
                    "page_owner",
                ),
            ),
        ),
        Format(title="BUG: Bad page map", template="BUG: Bad page map"),
        Format(
            title="BUG: workqueue lockup",
            template="BUG: workqueue lockup",
            no_stack=True,
            type="HANG",
        ),
        Format(
            title="BUG: sleeping function called from invalid context at (.*)",
            template="BUG: sleeping function called from invalid context in {2}",
            stack=_trace_stack(),
            type="ATOMIC_SLEEP",
        ),
        Format(
            title=r"BUG: using ([a-z_]+)\(\) in preemptible",
            template="BUG: using {1}() in preemptible code in {2}",
            stack=_trace_stack(
                "dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu"
            ),
        ),
        Format(
            title="BUG: workqueue leaked lock or atomic",
            report=r"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n",
            template="BUG: workqueue leaked lock or atomic in {1}",
            no_stack=True,
            type="LOCKDEP",
        ),
        Format(
            title="BUG: memory leak",
            template="memory leak in {1}",
            stack=Stack(
                parts=(r"backtrace(?: \(crc [0-9a-fA-F]*\))?:", PARSE),
                skip=(
                    "kmemleak",
                    "mmap",
                    "kmem",
                    "slab",
                    "alloc",
                    "create_object",
                    "idr_get",
                    "list_lru_init",
                    "kasprintf",
                    "kvasprintf",
                    "pcpu_create",
                    "strdup",
                    "strndup",
                    "memdup",
                ),
            ),
            type="LEAK",
        ),
        Format(
            title="BUG: .*stack guard page was hit at",
            template="BUG: stack guard page was hit in {1}",
            alt=("stack-overflow in {1}",),
            stack=_rip_stack(extractor="stall"),
        ),
        Format(
            # arm/arm64 print lockdep's wait-context report this way; x86 as a WARNING.
            title="BUG: Invalid wait context",
            template="WARNING: locking bug in {1}",
            stack=_trace_stack("lock_sock", "release_sock"),
            type="LOCKDEP",
        ),
        Format(
            # 2.6.16-2.6.24 WARN_ON(): "BUG: warning at fs/inotify.c:181/set_dentry_child_flags()".
            title=r"BUG: warning at {{SRC}}/([a-zA-Z0-9_]+)\(\)",
            template="WARNING in {2}",
            no_stack=True,
            type="WARNING",
        ),
        Format(title=r"BUG:\s*(?:\n|$)", template="BUG: corrupted", corrupted=True),
    ),
)

WARNING = Kind(
    name="warning",
    header=r"WARNING:",
    type="WARNING",
    suppress=(
        r"WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
        r"WARNING: workqueue cpumask: online intersect > possible intersect",
        r"WARNING: [Tt]he mand mount option",
        r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
        r"WARNING: Unprivileged eBPF is enabled with eIBRS",
        r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size",
        r"WARNING: See https.* for mitigation options.",
        r"WARNING: kernel not compiled with CPU_SRSO",
        r"EXT4-[Ff][Ss](?: \(.*\))?:",
        r"(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
        r"XFS \(\w+\): WARNING",
    ),
    formats=(
        Format(
            title=r"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)",
            template="WARNING: ODEBUG bug in {1}",
            stack=_warning_stack(
                "debug_",
                "rcu",
                "hrtimer_",
                "timer_",
                "work_",
                "percpu_",
                "vunmap",
                "vfree",
                "__free_",
                "debug_check",
                "kobject_",
            ),
        ),
        Format(
            title=r"WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)",
            template="WARNING: bad usercopy in {1}",
            stack=_warning_stack("usercopy", "__check"),
        ),
        Format(
            title=r"WARNING: .*lib/kobject\.c.* (?:kobject_|at)",
            template="WARNING: kobject bug in {1}",
            stack=_warning_stack("kobject_"),
        ),
        Format(
            title=r"WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)",
            template="WARNING: proc registration bug in {1}",
            stack=_warning_stack("proc_"),
        ),
        Format(
            title=r"WARNING: .*lib/refcount\.c.* (?:refcount_|at)",
            template="WARNING: refcount bug in {1}",
            stack=_warning_stack("refcount", "kobject_"),
            type="REFCOUNT_WARNING",
        ),
        Format(
            title=r"WARNING: .*kernel/locking/lockdep\.c.*lock_",
            template="WARNING: locking bug in {1}",
            stack=_warning_stack("lock_sock", "release_sock"),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: .*still has locks held!",
            report=r"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}",
            template="WARNING: still has locks held in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: Nested lock was not taken",
            template="WARNING: nested lock was not taken in {1}",
            stack=_warning_stack(),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: lock held when returning to user space",
            report=r"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the "
            r"kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
            template="WARNING: lock held when returning to user space in {1}",
            no_stack=True,
            type="LOCKDEP",
        ),
        Format(
            title=r"WARNING: .*mm/.*\.c.* k?.?malloc",
            template="WARNING: kmalloc bug in {1}",
            stack=_warning_stack("kmalloc", "krealloc", "slab", "kmem"),
        ),
        Format(
            title=r"WARNING: .*mm/vmalloc.c.*__vmalloc_node",
            template="WARNING: zero-size vmalloc in {1}",
            stack=_warning_stack(),
        ),
        Format(
            title="WARNING: .* usb_submit_urb",
            template="WARNING in {1}/usb_submit_urb",
            stack=_warning_stack(
                "usb_submit_urb",
                "usb_start_wait_urb",
                "usb_bulk_msg",
                "usb_interrupt_msg",
                "usb_control_msg",
            ),
        ),
        Format(
            # The NMI watchdog reported a hard lockup through WARN() in 3.x kernels.
            title=r"WARNING: .*kernel/watchdog\.c.* watchdog_overflow_callback",
            template="BUG: hard lockup in {1}",
            stack=_warning_stack("watchdog", "perf_", "nmi", "intel_pmu", extractor="stall"),
            type="HANG",
        ),
        Format(
            title=r"WARNING: {{SRC}} at 0x\d+, CPU#\d+",
            template="WARNING in {2}",
            stack=_warning_stack(),
        ),
        Format(
            title="WARNING: .* at {{SRC}} {{FUNC}}",
            template="WARNING in {3}",
            stack=_warning_stack(),
        ),
        Format(
            title="WARNING: {{SRC}} at {{FUNC}}", template="WARNING in {3}", stack=_warning_stack()
        ),
        Format(
            title=r"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*",
            template="WARNING in {3}",
            stack=_warning_stack(),
        ),
        Format(
            # 2.6.x-3.x: "WARNING: at fs/foo.c:12 func+0x1/0x2()" (function optional).
            title=r"WARNING: at {{SRC}}(?: {{FUNC}})?",
            template="WARNING in {3}",
            stack=_warning_stack(),
            header_func=2,
        ),
        Format(
            title="WARNING: possible circular locking dependency detected",
            report=r"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock",
            template="possible deadlock in {1}",
            stack=Stack(
                parts=(_LOCK_AT, _LOCK_AT, PARSE),
                skip=(
                    "process_one_work",
                    "flush_workqueue",
                    "drain_workqueue",
                    "destroy_workqueue",
                ),
            ),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: possible irq lock inversion dependency detected",
            report=r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just "
            r"changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: .*-safe -> .*-unsafe lock order detected",
            template="possible deadlock in {1}",
            stack=Stack(parts=("which became (?:.*) at:", PARSE)),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: possible recursive locking detected",
            report=r"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire "
            r"lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: inconsistent lock state",
            report=r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
            template="inconsistent lock state in {2}",
            stack=_trace_stack(),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: suspicious RCU usage",
            report="WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
            template="WARNING: suspicious RCU usage in {2}",
            stack=_trace_stack("rcu", "kmem", "slab"),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value",
            template="WARNING: kernel stack regs has bad '{1}' value",
            no_stack=True,
        ),
        Format(
            title="WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
            template="WARNING: kernel stack frame pointer has bad value",
            no_stack=True,
        ),
        Format(
            title="WARNING: bad unlock balance detected!",
            template="WARNING: bad unlock balance in {1}",
            stack=Stack(parts=("{{PC}} +{{FUNC}}", CALL_TRACE, PARSE)),
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: held lock freed!",
            report=r"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}",
            template="WARNING: held lock freed in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="WARNING: kernel stack regs .* has bad 'bp' value",
            template="WARNING: kernel stack regs has bad value",
            no_stack=True,
        ),
        Format(
            title="WARNING: kernel stack frame pointer .* has bad value",
            template="WARNING: kernel stack regs has bad value",
            no_stack=True,
        ),
        Format(title=r"WARNING:\s*(?:\n|$)", template="WARNING: corrupted", corrupted=True),
    ),
)

_LOCKDEP_AT = r"(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"

INFO = Kind(
    name="info",
    header=r"INFO:",
    type="HANG",
    suppress=(
        r"INFO: lockdep is turned off",
        r"INFO: Stall ended before state dump start",
        r"INFO: NMI handler",
        r"INFO: recovery required on readonly filesystem",
        r"(handler|interrupt).*took too long",
        r"INFO: sys_.* is not present in /proc/kallsyms",
        r"INFO: no syscalls can create resource",
        r"rmt_storage:INFO:",
        r"_INFO:",
    ),
    formats=(
        Format(
            title="INFO: possible circular locking dependency detected",
            report=r"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying "
            r"to acquire lock" + _LOCKDEP_AT,
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="INFO: possible irq lock inversion dependency detected",
            report=r"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just "
            r"changed the state of lock" + _LOCKDEP_AT,
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
            report=r"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is "
            r"trying to acquire" + _LOCKDEP_AT,
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="INFO: possible recursive locking detected",
            report=r"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire "
            r"lock" + _LOCKDEP_AT,
            template="possible deadlock in {1}",
            type="LOCKDEP",
        ),
        Format(
            title="INFO: inconsistent lock state",
            report=r"INFO: inconsistent lock state \](?:.*\n)+?.*takes" + _LOCKDEP_AT,
            template="inconsistent lock state in {1}",
            type="LOCKDEP",
        ),
        Format(
            # rcu_sched_state: 2.6.3x; "RCU detected CPU N stall": classic RCU (2.6.2x).
            title=r"INFO: (?:rcu_(?:preempt|sched|bh|tasks)(?:_state)? (?:self-)?detected(?: expedited)? "
            r"stall|RCU detected CPU [0-9]+ stall)",
            template="INFO: rcu detected stall in {1}",
            alt=("stall in {1}",),
            stack=Stack(
                parts=("apic_timer_interrupt", RIP_FRAME, PARSE),
                parts2=("(?:apic_timer_interrupt|Exception stack|el1h_64_irq)", PARSE),
                skip=("apic_timer_interrupt", "rcu"),
                extractor="stall",
            ),
        ),
        Format(
            title="INFO: trying to register non-static key",
            template="INFO: trying to register non-static key in {1}",
            stack=_trace_stack("stack", "lock", "IRQ"),
            type="LOCKDEP",
        ),
        Format(
            # 2.6.3x printed "suspicious rcu_dereference_check() usage".
            title=r"INFO: suspicious (?:RCU|rcu_dereference_check\(\)) usage",
            report=r"INFO: suspicious (?:RCU|rcu_dereference_check\(\)) usage(?:.*\n)+?.*?{{SRC}}",
            template="INFO: suspicious RCU usage in {2}",
            stack=_trace_stack("rcu", "kmem", "slab"),
            type="LOCKDEP",
        ),
        Format(
            # The comm may hold a newline; 6.x adds "in I/O wait".
            title=r"INFO: task (?:.*\n)?.* blocked (?:in I/O wait )?for more than [0-9]+ seconds",
            template="INFO: task hung in {1}",
            alt=("hang in {1}",),
            stack=_trace_stack(extractor="hang"),
        ),
        Format(
            title="INFO: task .* can't die for more than .* seconds",
            template="INFO: task can't die in {1}",
            alt=("hang in {1}",),
            stack=_trace_stack("schedule"),
        ),
        Format(
            # What is left of an old-style KASAN report whose header was lost.
            title="INFO: (Freed|Allocated) in (.*)",
            template="INFO: {1} in {2}",
            corrupted=True,
            type="KASAN",
        ),
        Format(title=r"INFO:\s*(?:\n|$)", template="INFO: corrupted", corrupted=True),
    ),
)

UNABLE_TO_HANDLE = Kind(
    name="unable-to-handle",
    header=r"Unable to handle kernel",
    type="MEMORY_SAFETY",
    formats=(
        Format(
            # i386/arm/ppc64/s390 spell the x86_64 "BUG: unable to handle ..." this way.
            title="Unable to handle kernel (paging request|NULL pointer dereference"
            "|access to user memory|pointer dereference)",
            template="BUG: unable to handle kernel {1} in {2}",
            alt=("bad-access in {2}",),
            stack=_rip_stack(),
        ),
    ),
)

GPF = Kind(
    name="general-protection-fault",
    header=r"general protection fault",
    type="MEMORY_SAFETY",
    # A user-space segfault line ("traps: foo[1] general protection fault ... in libc.so").
    suppress=(r"general protection fault .* error:\d+ in ",),
    formats=(
        Format(
            title="general protection fault.*:",
            template="general protection fault in {1}",
            alt=("bad-access in {1}",),
            stack=_rip_stack(),
        ),
    ),
)

STACK_SEGMENT = Kind(
    name="stack-segment",
    header=r"stack segment: ",
    type="MEMORY_SAFETY",
    formats=(
        Format(title="stack segment: ", template="stack segment fault in {1}", stack=_rip_stack()),
    ),
)

KERNEL_PANIC = Kind(
    name="kernel-panic",
    header=r"Kernel panic",
    type="PANIC",
    starts_report=False,
    panics=True,
    formats=(
        Format(
            title="Kernel panic - not syncing: stack-protector:",
            report="Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}",
            template="kernel panic: stack is corrupted in {1}",
            no_stack=True,
        ),
        Format(
            title="Kernel panic - not syncing: stack-protector:",
            report="Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
            template="kernel panic: stack is corrupted in {1}",
            stack=_trace_stack("stack_chk"),
        ),
        Format(
            title="Kernel panic - not syncing: corrupted stack end",
            report="Kernel panic - not syncing: corrupted stack end detected inside scheduler",
            template="kernel panic: corrupted stack end in {1}",
            alt=("stack-overflow in {1}",),
            stack=_trace_stack("schedule", "retint_kernel", extractor="stall"),
        ),
        Format(
            title="Kernel panic - not syncing: kernel stack overflow",
            template="kernel stack overflow in {1}",
            alt=("stack-overflow in {1}",),
            stack=_trace_stack("bad_stack", extractor="stall"),
        ),
        Format(
            title="Kernel panic - not syncing: Attempted to kill init!",
            template="kernel panic: Attempted to kill init!",
        ),
        Format(
            title="Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+",
            template="kernel panic: Couldn't open N_TTY ldisc",
        ),
        Format(
            # Printed after an oops: alone, it means the oops itself was lost.
            title="Kernel panic - not syncing: Fatal exception",
            template="kernel panic: Fatal exception",
            corrupted=True,
        ),
        Format(
            title="Kernel panic - not syncing: panic_on_warn set",
            template="kernel panic: panic_on_warn set",
            corrupted=True,
        ),
        Format(
            title="Kernel panic - not syncing: hung_task: blocked tasks",
            template="kernel panic: hung_task: blocked tasks",
            corrupted=True,
            type="HANG",
        ),
        # Kernels before 2.6.2x print no stack with a panic; that is no sign of truncation.
        Format(
            title="Kernel panic - not syncing: (.*)", template="kernel panic: {1}", no_stack=True
        ),
    ),
)

DOUBLE_FAULT = Kind(
    name="double-fault",
    header=r"PANIC: double fault|double fault: [0-9a-f]{4}",
    type="BUG",
    starts_report=False,
    formats=(
        Format(
            title="PANIC: double fault|double fault: [0-9a-f]{4}",
            template="PANIC: double fault in {1}",
            stack=Stack(parts=(RIP_FRAME,)),
        ),
    ),
)

RUST_PANIC = Kind(
    name="rust-panic",
    header=r"rust_kernel: panicked",
    type="BUG",
    formats=(
        Format(
            title="rust_kernel: panicked",
            report=r"rust_kernel: panicked at [^\n]*?\n(.+?)\n",
            template="{1} in {2}",
            stack=_trace_stack(r"__rustc::rust_begin_unwind"),
        ),
    ),
)

KERNEL_BUG = Kind(
    name="kernel-bug",
    header=r"kernel BUG",
    type="BUG",
    formats=(
        Format(
            title="kernel BUG at mm/usercopy.c",
            template="BUG: bad usercopy in {1}",
            stack=_trace_stack("usercopy", "__check"),
        ),
        Format(
            title="kernel BUG at lib/list_debug.c",
            template="BUG: corrupted list in {1}",
            alt=("bad-access in {1}",),
            stack=_trace_stack(),
        ),
        Format(title="kernel BUG at (.*)", template="kernel BUG in {2}", stack=_rip_stack("^skb_")),
    ),
)

KERNEL_BUG_CAPITAL = Kind(
    name="kernel-bug-s390",
    header=r"Kernel BUG",
    type="BUG",
    formats=(Format(title="Kernel BUG (.*)", template="kernel BUG {1}"),),
)

SLAB_OBJECT = Kind(
    name="slab-object",
    header=r"BUG kmalloc-",
    type="MEMORY_SAFETY",
    formats=(
        Format(title="BUG kmalloc-.*: Object already free", template="BUG: Object already free"),
        Format(
            title=r"BUG kmalloc-[0-9]+(?: \([^)]*\))?: ([^\n]*)",
            template="BUG: {1}",
            no_stack=True,
        ),
    ),
)

SLUB = Kind(
    # SLUB debugging: "BUG kmalloc-64 (Not tainted): Poison overwritten".
    name="slub",
    header=r"(?:^|\s)BUG [a-zA-Z0-9_.:-]+(?: \([^)]*\))?: ",
    type="MEMORY_SAFETY",
    formats=(
        Format(
            title=r"BUG [a-zA-Z0-9_.:-]+(?: \([^)]*\))?: ([^\n]*)",
            template="BUG: {1}",
            no_stack=True,
        ),
    ),
)

DIVIDE_ERROR = Kind(
    name="divide-error",
    # "divide_error:" is a misspelling some 5.x kernels printed.
    header=r"divide(?: |_)error:",
    type="BUG",
    formats=(
        Format(
            title="divide(?: |_)error: ",
            template="divide error in {1}",
            stack=Stack(parts=(RIP_FRAME,)),
        ),
    ),
)

INVALID_OPCODE = Kind(
    name="invalid-opcode",
    # 2.6.9 said "invalid operand".
    header=r"invalid (?:opcode|operand):",
    type="BUG",
    starts_report=False,
    formats=(
        Format(
            title="invalid (?:opcode|operand): ",
            template="invalid opcode in {1}",
            stack=Stack(parts=(RIP_FRAME,)),
        ),
    ),
)

UBSAN = Kind(
    name="ubsan",
    header=r"UBSAN:",
    type="UBSAN",
    formats=(
        Format(
            title="UBSAN:",
            report="UBSAN: Undefined behaviour in",
            template="UBSAN: undefined-behaviour in {1}",
            stack=_trace_stack("ubsan", "overflow"),
        ),
        Format(
            title="UBSAN: array-index-out-of-bounds in",
            template="UBSAN: array-index-out-of-bounds in {1}",
            alt=("bad-access in {1}",),
            stack=_trace_stack("ubsan", "overflow"),
        ),
        Format(
            title="UBSAN:",
            report="UBSAN: (.*?) in",
            template="UBSAN: {1} in {2}",
            stack=_trace_stack("ubsan", "overflow"),
        ),
    ),
)

UNEXPECTED_REBOOT = Kind(
    name="unexpected-reboot",
    header=r"Booting the kernel\.",
    type="REBOOT",
    suppress=(r"Parsing ELF|Decompressing Linux|Unknown parameter '",),
    formats=(
        Format(title="^Booting the kernel", template="unexpected kernel reboot", no_stack=True),
    ),
)

NETDEV_WAIT = Kind(
    name="netdev-refcount",
    header=r"unregister_netdevice: waiting for",
    type="HANG",
    starts_report=False,
    formats=(
        Format(
            title="unregister_netdevice: waiting for (?:.*) to become free",
            template="unregister_netdevice: waiting for DEV to become free",
            no_stack=True,
        ),
    ),
)

VFS_CLOSE = Kind(
    name="vfs-close",
    header=r"VFS: Close: file count is 0",
    type="MEMORY_SAFETY",
    formats=(
        Format(
            title="VFS: Close: file count is 0",
            template="VFS: Close: file count is zero (use-after-free)",
            no_stack=True,
        ),
    ),
)

VFS_BUSY = Kind(
    name="vfs-busy-inodes",
    header=r"VFS: Busy inodes after unmount",
    type="MEMORY_SAFETY",
    formats=(
        Format(
            title="VFS: Busy inodes after unmount",
            template="VFS: Busy inodes after unmount (use-after-free)",
            no_stack=True,
        ),
    ),
)

INTERNAL_ERROR = Kind(
    # arm/arm64 "Internal error: Oops: 96000004 [#1] SMP".
    name="internal-error",
    header=r"Internal error:",
    type="MEMORY_SAFETY",
    starts_report=False,
    formats=(
        Format(
            title="Internal error:",
            template="Internal error in {1}",
            alt=("bad-access in {1}",),
            stack=_rip_stack(),
        ),
    ),
)

UNHANDLED_FAULT = Kind(
    name="unhandled-fault",
    header=r"Unhandled fault:",
    type="MEMORY_SAFETY",
    formats=(
        Format(
            title="Unhandled fault:",
            template="Unhandled fault in {1}",
            alt=("bad-access in {1}",),
            stack=_rip_stack(),
        ),
    ),
)

ALIGNMENT_TRAP = Kind(
    name="alignment-trap",
    header=r"Alignment trap:",
    type="MEMORY_SAFETY",
    formats=(
        Format(title="Alignment trap:", template="Alignment trap in {1}", stack=_rip_stack()),
    ),
)

TRUSTY = Kind(
    name="trusty",
    header=r"trusty: panic",
    type="BUG",
    formats=(
        Format(
            title="trusty: panic.* ASSERT FAILED",
            report=r"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (.+)",
            template="trusty: ASSERT FAILED: {1}",
            no_stack=True,
        ),
        Format(
            title="trusty: panic.* ASSERT FAILED.*: *(.*)",
            template="trusty: ASSERT FAILED: {1}",
            corrupted=True,
        ),
        Format(
            title="trusty: panic",
            report=r"trusty: panic \(.*?\): (.+)",
            template="trusty: panic: {1}",
            no_stack=True,
        ),
    ),
)

# ---- Formats of the enterprise kernels a support engineer meets (2.6.9 ... 3.10) ------------

OOPS = Kind(
    # "Oops: 0002 [#1]" follows the fault header on i386/x86_64; ppc prints it first.
    name="oops",
    header=r"Oops: ",
    type="BUG",
    starts_report=False,
    suppress=(r"Internal error: Oops",),
    formats=(Format(title="Oops: ", template="Oops in {1}", stack=_rip_stack()),),
)

STACK_OVERFLOW = Kind(
    name="stack-overflow",
    header=r"do_IRQ: stack overflow",
    type="BUG",
    formats=(
        Format(
            title="do_IRQ: stack overflow",
            template="kernel stack overflow in {1}",
            alt=("stack-overflow in {1}",),
            # i386 dump_stack() prints bare frames without a "Call Trace:" line.
            stack=Stack(parts=(PARSE,), skip=("do_IRQ", "common_interrupt")),
            no_stack=True,
        ),
    ),
)

HARD_LOCKUP = Kind(
    name="hard-lockup",
    header=r"NMI Watchdog detected LOCKUP|Watchdog detected hard LOCKUP",
    type="HANG",
    formats=(
        Format(
            title="NMI Watchdog detected LOCKUP|Watchdog detected hard LOCKUP",
            template="BUG: hard lockup in {1}",
            alt=("stall in {1}",),
            stack=_rip_stack("watchdog", "perf_", "nmi", extractor="stall"),
        ),
    ),
)

XFS = Kind(
    name="xfs",
    header=r"XFS internal error|\): Internal error [A-Za-z0-9_]+ at line|xfs_force_shutdown\(|"
    r"Corruption of in-memory data detected",
    type="FILESYSTEM",
    repeats=True,
    formats=(
        Format(
            title=r"(?:XFS internal error|\): Internal error) ([A-Za-z0-9_]+) at line [0-9]+ of "
            r"file ([^ \n]+?)\.?\s",
            template="XFS internal error {1} in {3}",
            stack=Stack(
                parts=(r"Caller (?:{{ADDR}} )?{{FUNC}}",),
                parts2=(PARSE,),
                skip=("xfs_error_report", "xfs_corruption_error", "xfs_verifier_error"),
            ),
            no_stack=True,
        ),
        Format(
            title=r"xfs_force_shutdown\([^,]*,(0x[0-9a-f]+)\) called from line [0-9]+ of file "
            r"([^ \n]+?)\.?\s",
            template="XFS: forced shutdown from {2}",
            no_stack=True,
        ),
        Format(
            title="Corruption of in-memory data detected",
            template="XFS: corruption of in-memory data detected",
            no_stack=True,
        ),
    ),
)

MACHINE_CHECK = Kind(
    name="machine-check",
    header=r"Machine Check Exception:|Machine check: |\[Hardware Error\]: (?:CPU|Machine check)",
    type="HARDWARE",
    formats=(
        Format(
            title="Machine Check Exception|Machine check: |Hardware Error",
            template="machine check exception",
            no_stack=True,
        ),
    ),
)

MCE_EVENTS = Kind(
    name="machine-check-events",
    header=r"Machine check events logged",
    type="HARDWARE",
    record="event",
    formats=(
        Format(
            title="Machine check events logged",
            template="machine check events logged",
            no_stack=True,
        ),
    ),
)

OOM = Kind(
    name="oom-kill",
    header=r"invoked oom-killer|[Oo]ut of memory: Kill(?:ed)? process|Memory cgroup out of memory",
    type="OOM",
    record="event",
    repeats=True,
    formats=(
        Format(
            title="invoked oom-killer|[Oo]ut of memory: Kill|Memory cgroup out of memory",
            report=r"(?:[Oo]ut of memory|Memory cgroup out of memory): Kill(?:ed)? process "
            r"[0-9]+ \(([^)\n]*)\)",
            template="out of memory: killed process {1}",
            no_stack=True,
        ),
    ),
)

PAGE_ALLOCATION_FAILURE = Kind(
    name="page-allocation-failure",
    header=r"page allocation failure|: page allocation stalls for",
    type="OOM",
    record="event",
    formats=(
        Format(
            title="page allocation failure|page allocation stalls",
            template="page allocation failure in {1}",
            stack=Stack(
                parts=(PARSE,),
                skip=(
                    "alloc_pages",
                    "__get_free_pages",
                    "warn_alloc",
                    "show_mem",
                    "__alloc",
                    "cache_grow",
                    "cache_alloc_refill",
                    "kmem_getpages",
                ),
            ),
            no_stack=True,
        ),
    ),
)

# Syzkaller's own fuzzer output and Go runtime errors ride on the same console.
GO_FATAL = Kind(
    name="go-runtime",
    header=r"fatal error:",
    type="DoS",
    suppress=(r"ALSA", r"fatal error: cannot create timer"),
    formats=(Format(title="fatal error:", template="go runtime error", no_stack=True),),
)
SYZFAIL = Kind(
    name="syzfail",
    header=r"SYZFAIL:",
    type="DoS",
    formats=(Format(title="SYZFAIL:(.*)", template="SYZFAIL:{1}", no_stack=True),),
)
SYZFATAL = Kind(
    name="syzfatal",
    header=r"SYZFATAL:",
    type="DoS",
    formats=(
        Format(
            title="SYZFATAL:(.*)()", template="SYZFATAL:{1}", alt=("SYZFATAL{2}",), no_stack=True
        ),
    ),
)
GO_PANIC = Kind(
    name="go-panic",
    header=r"panic:",
    type="DoS",
    suppress=(r"_panic:", r"xlog_status:", r"ddb\.onpanic:", r"evtlog_status:"),
    formats=(
        Format(
            title="panic: Sentry detected .* stuck task",
            template="panic: Sentry detected stuck tasks",
            no_stack=True,
        ),
        Format(title="panic:(.*)", template="panic:{1}", no_stack=True),
    ),
)

#: Table order is match priority: the first kind whose header matches a line owns it.
KINDS: tuple[Kind, ...] = (
    BUG,
    WARNING,
    INFO,
    UNABLE_TO_HANDLE,
    GPF,
    STACK_SEGMENT,
    KERNEL_PANIC,
    DOUBLE_FAULT,
    RUST_PANIC,
    KERNEL_BUG,
    KERNEL_BUG_CAPITAL,
    SLAB_OBJECT,
    SLUB,
    DIVIDE_ERROR,
    INVALID_OPCODE,
    UBSAN,
    UNEXPECTED_REBOOT,
    NETDEV_WAIT,
    VFS_CLOSE,
    VFS_BUSY,
    INTERNAL_ERROR,
    UNHANDLED_FAULT,
    ALIGNMENT_TRAP,
    TRUSTY,
    STACK_OVERFLOW,
    HARD_LOCKUP,
    XFS,
    MCE_EVENTS,
    MACHINE_CHECK,
    OOM,
    PAGE_ALLOCATION_FAILURE,
    OOPS,
    GO_FATAL,
    SYZFAIL,
    SYZFATAL,
    GO_PANIC,
)
