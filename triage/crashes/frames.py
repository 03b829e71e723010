"""Stack frames: reading every architecture's and era's trace lines, and picking the guilty one.

Kernel stack lines changed shape many times (2.6.9's several `[<addr>] f+0x1/0x2` per line,
x86_64's `<addr>{f+12}` braces, `? f+0x1/0x2 [mod]` on modern kernels, ppc64's two-address
form, s390x parentheses, ARM's `(f) from (g)`, syzkaller's `f+0x1/0x2 file.c:12 [inline]`,
the crash utility's `#3 [sp] f at addr`). Titles, fingerprints and hang signatures all need
the same thing from them — an ordered list of `Frame`s — so the shapes live here, in one
table of patterns, and nothing downstream looks at raw stack text.

The frame of the faulting instruction (`RIP: 0010:f+…`, `EIP is at f`, `NIP [..] f`, `PC is
at f`, `Krnl PSW … (f+…)`) is a real frame that the call trace itself often omits; it comes
first in `parse_stack`. Lines that merely repeat it or name a caller (`LR is at`, the `RIP
[<…>] f` trailer, s390x's `Last Breaking-Event-Address`) are read but not stacked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from triage.model import Frame

# --------------------------------------------------------------------------------------------
# Name normalisation
# --------------------------------------------------------------------------------------------
#: compiler clone suffixes: the same source function under another symbol name.
_CLONE_SUFFIX = re.compile(
    r"(?:\.(?:isra|constprop|part|cold|clone|lto_priv|llvm|localalias)|\.\d+)+$"
)


def _strip_descriptor_dot(name: str) -> str:
    """ppc64 ELFv1 prints `.func` (the code entry of a function descriptor); i386's out-of-line
    lock sections are really called `.text.lock.<file>`, so those keep their dot."""
    if name.startswith(".") and len(name) > 1 and not name.startswith(".text."):
        return name[1:]
    return name


def normalize_function(name: str) -> str:
    """The source-level name: clone suffixes and the ppc64 descriptor dot removed.

    `__slab_alloc.isra.50.constprop.56` and `__slab_alloc` are the same code built twice by
    gcc; a fingerprint or a guilty frame that kept the suffix would split one bug into several.
    """
    name = _strip_descriptor_dot(name.strip())
    base = _CLONE_SUFFIX.sub("", name)
    return base or name


# --------------------------------------------------------------------------------------------
# Generic frames: frames that say how the kernel reported, not where the bug is.
# Each entry is a regular expression matched against the whole normalised name.
# --------------------------------------------------------------------------------------------
GENERIC_FRAMES: dict[str, tuple[str, ...]] = {
    "reporting": (
        r"dump_stack(?:_lvl)?",
        r"__dump_stack",
        r"show_stack",
        r"show_trace(?:_log_lvl)?",
        r"show_stack_log_lvl",
        r"dump_backtrace(?:_log_lvl|_entry)?",
        r"unwind_backtrace",
        r"show_regs",
        r"__show_regs",
        r"print_trace_address",
        r"print_context_stack(?:_bp)?",
        r"dump_trace",
        r"arch_stack_walk",
        r"stack_trace_save\w*",
        r"save_stack\w*",
        r"printk\w*",
        r"vprintk\w*",
        r"_printk",
        r"warn_slowpath\w*",
        r"__warn\w*",
        r"warn_alloc\w*",
        r"report_bug",
        r"panic",
        r"nmi_panic",
        r"oops_end",
        r"die",
        r"__die\w*",
        r"do_trap\w*",
        r"do_error_trap",
        r"do_invalid_op",
        r"do_general_protection",
        r"handle_bug",
        r"fixup_bug",
        r"bug_handler",
        r"do_bug",
        r"invalid_op",
        r"error_code",
        r"error_entry",
        r"error_exit",
        r"page_fault",
        r"do_page_fault",
        r"__do_page_fault",
        r"do_user_addr_fault",
        r"do_kern_addr_fault",
        r"bad_area\w*",
        r"no_context",
        r"__bad_area_nosemaphore",
        r"kernelmode_fixup_or_oops",
        r"page_fault_oops",
        r"spurious_fault",
        r"handle_page_fault",
        r"asm_exc_\w+",
        r"exc_\w+",
        r"general_protection",
        r"divide_error",
        r"ud2",
        r"do_debug",
        r"watchdog\w*",
        r"softlockup_fn",
        r"watchdog_timer_fn",
        r"nmi_cpu_backtrace\w*",
        r"nmi_trigger_cpumask_backtrace",
        r"arch_trigger_cpumask_backtrace",
        r"trigger_all_cpu_backtrace",
        r"rcu_dump_cpu_stacks",
        r"print_cpu_stall\w*",
        r"check_cpu_stall",
        r"rcu_check_callbacks",
        r"rcu_sched_clock_irq",
        r"rcu_pending",
        r"check_hung_\w+",
        r"hung_task\w*",
        r"khungtaskd",
        r"debug_show_all_locks",
        r"sysrq_\w+",
        r"__handle_sysrq",
        r"handle_sysrq",
        r"kmsg_dump",
        r"lockdep_rcu_suspicious",
        r"__might_sleep",
        r"___might_sleep",
        r"__might_resched",
        r"__might_fault",
        r"might_fault",
        r"__schedule_bug",
        r"schedule_debug",
        r"ubsan_\w+",
        r"__ubsan_\w+",
        r"kasan_\w+",
        r"__kasan_\w+",
        r"__asan_\w+",
        r"asan_\w+",
        r"check_memory_region\w*",
        r"print_report",
        r"__hwasan_\w+",
        r"hwasan_\w+",
        r"rust_helper_BUG",
        r"__phys_addr",
        r"kmsan_\w+",
        r"__msan_\w+",
        r"kfence_\w+",
        r"kcsan_\w+",
        r"__tsan_\w+",
        r"print_address_description\w*",
        r"describe_object\w*",
        r"object_err",
        r"slab_err",
        r"print_trailer",
        r"check_bytes_and_report",
        r"check_object",
        r"slab_pad_check",
        r"free_debug_processing",
        r"alloc_debug_processing",
        r"free_consistency_checks",
        r"debug_print_object",
        r"debug_object\w*",
        r"refcount_warn_saturate",
        r"__list_(?:add|del)_valid\w*",
        r"__list_del_entry_valid\w*",
        r"list_\w+_corruption",
        r"usercopy_abort",
        r"__check_object_size",
        r"check_heap_object",
        r"__stack_chk_fail",
        r"fortify_panic",
        r"__fortify_report",
        r"__bad_\w+",
        r"bad_page",
        r"dump_page",
        r"__dump_page",
        r"out_of_memory",
        r"oom_kill_process",
        r"dump_header",
        r"show_mem",
        r"__show_mem",
    ),
    "lockdep": (
        r"lock_acquire\w*",
        r"lock_release",
        r"lock_acquired",
        r"lock_contended",
        r"__lock_acquire",
        r"__lock_release",
        r"lock_is_held\w*",
        r"lockdep_\w+",
        r"__lockdep_\w+",
        r"validate_chain",
        r"check_prev_add\w*",
        r"check_prevs_add",
        r"check_deadlock",
        r"check_noncircular",
        r"check_irq_usage",
        r"check_usage\w*",
        r"check_flags",
        r"mark_lock\w*",
        r"mark_held_locks",
        r"mark_usage",
        r"valid_state",
        r"print_\w+_bug\w*",
        r"print_circular_bug\w*",
        r"print_deadlock_bug",
        r"print_usage_bug",
        r"print_bad_irq_dependency",
        r"print_unlock_imbalance_bug",
        r"trace_hardirqs_\w+",
        r"trace_softirqs_\w+",
        r"debug_check_no_locks_\w+",
        r"rcu_lock_acquire",
        r"rcu_lock_release",
        r"rcu_read_lock\w*",
        r"rcu_read_unlock\w*",
        r"rcu_preempt_sleep_check",
    ),
    "locking": (
        r"_*raw_spin_\w+",
        r"_*spin_(?:un)?lock\w*",
        r"_*spin_trylock\w*",
        r"do_raw_spin_\w+",
        r"__spin_lock_debug",
        r"spin_dump",
        r"spin_bug",
        r"queued_spin_\w+",
        r"native_queued_spin_\w+",
        r"__pv_queued_spin_\w+",
        r"pv_queued_spin\w*",
        r"_*raw_read_\w+",
        r"_*raw_write_\w+",
        r"_*read_(?:un)?lock\w*",
        r"_*write_(?:un)?lock\w*",
        r"queued_(?:read|write)_lock\w*",
        r"do_raw_(?:read|write)_\w+",
        r"rwlock_bug",
        r"mutex_lock\w*",
        r"__mutex_lock\w*",
        r"mutex_unlock\w*",
        r"__mutex_unlock\w*",
        r"mutex_trylock\w*",
        r"__mutex_fastpath_\w+",
        r"__mutex_lock_slowpath",
        r"__mutex_unlock_slowpath",
        r"rt_mutex_\w+",
        r"down(?:_\w+)?",
        r"__down\w*",
        r"up(?:_read|_write)?",
        r"__up\w*",
        r"rwsem_\w+",
        r"__rwsem_\w+",
        r"call_rwsem_\w+",
        r"percpu_down_\w+",
        r"percpu_up_\w+",
        r"percpu_rwsem_\w+",
        r"wait_for_completion\w*",
        r"__wait_for_common",
        r"wait_for_common\w*",
        r"do_wait_for_common",
        r"complete(?:_all)?",
        r"__wake_up\w*",
        r"wake_up\w*",
        r"__sched_text_start",
        r"schedule(?:_timeout\w*|_hrtimeout\w*|_preempt_disabled)?",
        r"__schedule",
        r"preempt_schedule\w*",
        r"io_schedule\w*",
        r"bit_wait\w*",
        r"__wait_on_bit\w*",
        r"out_of_line_wait_on_bit\w*",
        r"__lock_page\w*",
        r"folio_wait_bit\w*",
        r"context_switch",
        r"finish_task_switch\w*",
        r"__switch_to\w*",
        r"switch_to",
        r"thread_return",
        r"__cond_resched\w*",
        r"_cond_resched",
        r"cond_resched\w*",
        r"osq_lock",
        r"local_bh_enable\w*",
        r"_local_bh_enable\w*",
        r"__local_bh_enable\w*",
        r"arch_local_irq_\w+",
        r"native_irq_\w+",
        r"native_safe_halt",
        r"xen_\w*irq_(?:en|dis)able\w*",
    ),
    "entry": (
        r"ret_from_fork\w*",
        r"kernel_thread_helper",
        r"kernel_thread_exit",
        r"child_rip",
        r"kthread",
        r"worker_thread",
        r"process_one_work",
        r"process_scheduled_works",
        r"smpboot_thread_fn",
        r"cpu_idle\w*",
        r"cpu_startup_entry",
        r"do_idle",
        r"default_idle\w*",
        r"arch_cpu_idle\w*",
        r"rest_init",
        r"start_kernel",
        r"start_secondary",
        r"secondary_startup_64\w*",
        r"x86_64_start_\w+",
        r"i386_start_kernel",
        r"xen_start_kernel",
        r"cpu_bringup_and_idle",
        r"system_call\w*",
        r"sysenter_\w+",
        r"syscall_call",
        r"syscall_exit",
        r"sysc_\w+",
        r"ret_fast_syscall",
        r"ret_from_sys_call",
        r"ret_from_intr",
        r"ret_from_exception",
        r"tracesys",
        r"entry_SYSCALL\w*",
        r"entry_SYSENTER\w*",
        r"entry_INT80\w*",
        r"do_syscall_\w+",
        r"__do_fast_syscall_32",
        r"do_fast_syscall_32",
        r"do_int80_syscall_32",
        r"x64_sys_call",
        r"ia32_sys_call",
        r"syscall_trace_\w+",
        r"el0_svc\w*",
        r"el0t_\w+",
        r"el1_\w+",
        r"el0_\w+",
        r"invoke_syscall\w*",
        r"do_el0_svc\w*",
        r"common_interrupt",
        r"apic_timer_interrupt",
        r"asm_sysvec_\w+",
        r"sysvec_\w+",
        r"smp_apic_timer_interrupt",
        r"__sysvec_\w+",
        r"irq_exit\w*",
        r"__irq_exit_rcu",
        r"do_IRQ",
        r"handle_irq",
        r"do_softirq\w*",
        r"__do_softirq",
        r"run_ksoftirqd",
        r"call_softirq",
        r"invoke_softirq",
        r"irq_exit_rcu",
        r"restore_args",
        r"retint_\w+",
        r"end_repeat_nmi",
        r"repeat_nmi",
        r"nmi",
        r"do_nmi",
        r"default_do_nmi",
        r"nmi_handle",
        r"exc_nmi",
        r"hypervisor_callback",
        r"xen_hypervisor_callback",
        r"xen_do_hypervisor_callback",
        r"evtchn_do_upcall",
        r"xen_evtchn_do_upcall",
        r"__xen_evtchn_do_upcall",
        r"do_hypervisor_callback",
        r"hypercall_page",
        r"gs_change",
    ),
}

#: `sys_foo` is reached as `SyS_foo`, `__x64_sys_foo`, `__se_sys_foo`, `__do_sys_foo`, … depending
#: on kernel version and arch; one name keeps one bug in one fingerprint across kernels.
_SYSCALL_WRAPPER = re.compile(
    r"^(?:SyS|__x64_sys|__ia32_sys|__se_sys|__do_sys|__arm64_sys|"
    r"__s390x_sys|__s390_sys|__riscv_sys|__powerpc_sys|compat_SyS|"
    r"__ia32_compat_sys|__x64_compat_sys|__do_compat_sys|"
    r"__se_compat_sys)_(\w+)$"
)


def canonical_function(name: str) -> str:
    """`normalize_function` plus syscall-wrapper folding: the name used for comparing stacks."""
    name = normalize_function(name)
    m = _SYSCALL_WRAPPER.match(name)
    if m:
        prefix = "compat_sys_" if "compat" in name.split("_sys")[0] else "sys_"
        return prefix + m.group(1)
    return name


@lru_cache(maxsize=16)
def _generic_regex(extra: tuple[str, ...] = ()) -> re.Pattern[str]:
    patterns = [p for group in GENERIC_FRAMES.values() for p in group]
    patterns.extend(extra)
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\Z")


def is_generic(name: str, skip_extra: Sequence[str] = ()) -> bool:
    """True for frames that report or route a problem rather than cause it."""
    return _generic_regex(tuple(skip_extra)).match(canonical_function(name)) is not None


# --------------------------------------------------------------------------------------------
# Line shapes
# --------------------------------------------------------------------------------------------
_SYM = r"[A-Za-z_$.][\w$.]*"  # kernel symbol (ppc adds a leading '.', clones add '.isra.0')
_HEXOFF = r"\+(?P<off>0x[0-9a-fA-F]+)(?:/(?P<size>0x[0-9a-fA-F]+))?"
_MOD = r"(?:\s+\[(?P<mod>[\w-]+)(?:\s+[0-9a-fA-F]{8,})?\])"  # `[mod]` or `[mod build-id]`
_SRC = r"(?:\s+(?P<src>[\w./+-]+\.(?:c|h|S|s|rs|cc|cpp)(?::\d+)*))"  # syzkaller symbolisation
_TAIL = r"(?:\s+\[inline\])?\s*"

#: the x86/s390/arm64/riscv bracket form: `[<addr>] ? :mod:sym+0x1/0x2 [mod]` (with optional
#: `(`…`)` for s390x's "last known" frame); several may share one line on 2.6.9 i386.
_BRACKET_ONE = re.compile(
    r"(?P<paren>\()?\[<(?P<addr>[0-9a-fA-F]+)>\]\s*"
    r"(?P<unrel>\?\s+)?"
    r"(?:(?P<hexonly>0x[0-9a-fA-F]+)|(?::(?P<cmod>[\w-]+):)?(?P<sym>"
    + _SYM
    + r")(?:"
    + _HEXOFF
    + r")?)"
    r"(?:" + _MOD + r")?" + _SRC + r"?" + r"(?:\s+\[inline\])?"
    r"(?(paren)\s*\))"
)
#: 2.6.9-era x86_64: `<ffffffff8013e5b5>{:mod:sym+56}` with a decimal offset, several a line.
_BRACE_ONE = re.compile(
    r"<(?P<addr>[0-9a-fA-F]{8,16})>\{(?::(?P<cmod>[^:}\s]+):)?(?P<sym>[^+}\s]+)"
    r"(?:(?P<doff>[+-]\d+))?\}"
)
_PPC = re.compile(
    r"^\[(?P<sp>[0-9a-fA-F]+)\]\s+\[(?P<addr>[0-9a-fA-F]+)\]\s+"
    r"(?:(?P<hexonly>0x[0-9a-fA-F]+)|(?P<sym>"
    + _SYM
    + r")(?:"
    + _HEXOFF
    + r")?)"
    + _MOD
    + r"?\s*(?P<unrel>\(unreliable\))?\s*$"
)
_ARM = re.compile(
    r"^\[<(?P<addr>[0-9a-fA-F]+)>\]\s+(?P<unrel>\?\s+)?\("
    r"(?:(?P<hexonly>0x[0-9a-fA-F]+)|(?P<sym>" + _SYM + r")(?:" + _HEXOFF + r")?" + _MOD + r"?)"
    r"\)\s+from\s+\[<[0-9a-fA-F]+>\]\s+\([^)]*\)\s*$"
)
_PLAIN = re.compile(
    r"^(?P<unrel>\?\s+)?(?P<sym>" + _SYM + r")" + _HEXOFF + _MOD + r"?" + _SRC + r"?" + _TAIL + r"$"
)
_INLINE = re.compile(r"^(?P<sym>" + _SYM + r")" + _SRC + r"(?:\s+\[inline\])?\s*$")
_CRASH_TOOL = re.compile(
    r"^#\d+\s+\[(?P<sp>[0-9a-fA-F]+)\]\s+(?P<sym>" + _SYM + r")(?:\+(?P<doff>\d+))?\s+at\s+"
    r"(?P<addr>[0-9a-fA-F]+)(?:\s+\[(?P<mod>[\w-]+)\])?"
)
_SYM_WITH_OFF = r"(?::(?P<cmod>[\w-]+):)?(?P<sym>" + _SYM + r")" + _HEXOFF + _MOD + r"?"

#: lines naming the faulting instruction: the frame the trace below them usually lacks.
_IP_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"^[RE]?IP:\s+[0-9a-fA-F]{4}:\[<(?P<addr>[0-9a-fA-F]+)>\]\s+"
        r"(?:\[<[0-9a-fA-F]+>\]\s+)?" + _SYM_WITH_OFF
    ),
    re.compile(
        r"^[RE]?IP:\s+[0-9a-fA-F]{4}:\[<(?P<addr>[0-9a-fA-F]+)>\]\s+<[0-9a-fA-F]+>\{"
        r"(?::(?P<cmod>[^:}\s]+):)?(?P<sym>[^+}\s]+)(?P<doff>[+-]\d+)?\}"
    ),
    re.compile(r"^[RE]?IP:\s+[0-9a-fA-F]{4}:" + _SYM_WITH_OFF),
    re.compile(r"^IP:\s+\[<(?P<addr>[0-9a-fA-F]+)>\]\s+(?:\?\s+)?" + _SYM_WITH_OFF),
    re.compile(r"^IP:\s+" + _SYM_WITH_OFF),
    re.compile(r"^[ER]IP is at\s+" + _SYM_WITH_OFF),
    re.compile(r"^NIP\s+\[(?P<addr>[0-9a-fA-F]+)\]\s+" + _SYM_WITH_OFF),
    re.compile(r"^PC is at\s+" + _SYM_WITH_OFF),
    re.compile(r"^pc\s*:\s+(?:\[<(?P<addr>[0-9a-fA-F]+)>\]\s+)?" + _SYM_WITH_OFF),
    re.compile(
        r"^Krnl PSW\s*:\s*[0-9a-fA-F]+\s+(?P<addr>[0-9a-fA-F]+)\s+\(" + _SYM_WITH_OFF + r"\)"
    ),
    re.compile(r"^\[exception RIP:\s+(?P<sym>" + _SYM + r")(?:\+(?P<doff>\d+))?\]"),
)
#: lines that name a function but are not a frame of the trace (callers, trailers, branches).
_AUX_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^[RE]?IP:?\s+\[<(?P<addr>[0-9a-fA-F]+)>\]\s+(?:\?\s+)?" + _SYM_WITH_OFF),
    re.compile(
        r"^RIP\s+<(?P<addr>[0-9a-fA-F]+)>\{(?::(?P<cmod>[^:}\s]+):)?(?P<sym>[^+}\s]+)"
        r"(?P<doff>[+-]\d+)?\}"
    ),
    re.compile(r"^LR\s+\[(?P<addr>[0-9a-fA-F]+)\]\s+" + _SYM_WITH_OFF),
    re.compile(r"^LR is at\s+" + _SYM_WITH_OFF),
    re.compile(r"^lr\s*:\s+(?:\[<(?P<addr>[0-9a-fA-F]+)>\]\s+)?" + _SYM_WITH_OFF),
)
_MARKERS = re.compile(r"^(?:<{1,2}/?[A-Z#][A-Z#0-9]{1,7}>{1,2}\s*)+")
_TIMESTAMP = re.compile(r"^\s*(?:<\d{1,3}>)?\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?")
_CALL_TRACE_PREFIX = re.compile(r"^(?:Call Trace|Backtrace|Stack)\s*:\s*")
_BARE_ADDRESS = re.compile(r"^0x([0-9a-fA-F]{6,16})\s*$")
_LAST_BREAKING = re.compile(r"^Last Breaking-Event-Address:")

_KIND_FRAME, _KIND_IP, _KIND_AUX = "frame", "ip", "aux"


def _hex(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _frame(m: re.Match[str], *, reliable: bool = True) -> Frame:
    """A Frame from any pattern's groups (absent groups are simply missing)."""
    g = m.groupdict()
    sym = g.get("sym") or ""
    if g.get("hexonly"):
        sym = ""
    sym = _strip_descriptor_dot(sym)
    offset = _hex(g.get("off"))
    if offset is None and g.get("doff"):
        try:
            offset = int(g["doff"])
        except ValueError:
            offset = None
    address = (g.get("addr") or "").lower()
    if not address and g.get("hexonly"):
        address = g["hexonly"][2:].lower()
    return Frame(
        function=sym,
        offset=offset,
        size=_hex(g.get("size")),
        module=g.get("mod") or g.get("cmod") or "",
        reliable=reliable and not g.get("unrel"),
        address=address,
    )


def _clean(text: str) -> str:
    text = _TIMESTAMP.sub("", text, count=1) if text[:1] in " [<" else text
    return text.strip()


def _classify(text: str) -> tuple[str, list[Frame]] | None:
    """What one line holds: trace frames, the faulting IP, an auxiliary frame, or nothing."""
    line = _clean(text)
    if not line:
        return None
    line = _MARKERS.sub("", line)
    line = _CALL_TRACE_PREFIX.sub("", line)
    if not line:
        return None
    head = line[0]
    if head in "[(<":
        if head == "[":
            m = _ARM.match(line)
            if m:
                return _KIND_FRAME, [_frame(m)]
            m = _PPC.match(line)
            if m:
                return _KIND_FRAME, [_frame(m)]
        if head in "[(":
            frames = _scan_many(_BRACKET_ONE, line)
            if frames:
                return _KIND_FRAME, frames
        if head == "<":
            frames = _scan_many(_BRACE_ONE, line)
            if frames:
                return _KIND_FRAME, frames
        m = _IP_LINES[-1].match(line)
        if m:
            return _KIND_IP, [_frame(m)]
        return None
    if head == "#":
        m = _CRASH_TOOL.match(line)
        return (_KIND_FRAME, [_frame(m)]) if m else None
    for pat in _IP_LINES:
        m = pat.match(line)
        if m:
            return _KIND_IP, [_frame(m)]
    for pat in _AUX_LINES:
        m = pat.match(line)
        if m:
            return _KIND_AUX, [_frame(m)]
    m = _PLAIN.match(line)
    if m:
        return _KIND_FRAME, [_frame(m)]
    m = _INLINE.match(line)
    if m:
        return _KIND_FRAME, [_frame(m)]
    return None


def _scan_many(pattern: re.Pattern[str], line: str) -> list[Frame]:
    """Frames packed on one line, each starting where the previous ended (after spaces)."""
    frames: list[Frame] = []
    pos = 0
    n = len(line)
    while pos < n:
        m = pattern.match(line, pos)
        if not m:
            break
        frames.append(_frame(m))
        pos = m.end()
        while pos < n and line[pos] in " \t":
            pos += 1
    if frames and pos < n:
        # Trailing text that is not a frame: accept only harmless tails (s390x `SS:ESP`-like
        # register trailers are handled as aux lines before we get here).
        return frames if _harmless_tail(line[pos:]) else []
    return frames


def _harmless_tail(tail: str) -> bool:
    return tail.startswith(("SS:ESP", "RSP", "<")) or tail in {")", "*"}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def parse_frame(text: str) -> Frame | None:
    """The first frame one stack line holds, in any supported format; None for other lines."""
    try:
        found = _classify(text)
    except (TypeError, AttributeError):
        return None
    return found[1][0] if found else None


def parse_line_frames(text: str) -> list[Frame]:
    """Every frame one line holds (2.6.9 kernels printed several per line)."""
    try:
        found = _classify(text)
    except (TypeError, AttributeError):
        return []
    return found[1] if found else []


def parse_stack(texts: Iterable[str]) -> list[Frame]:
    """The frames of one report body in order, the faulting-IP frame first.

    Only the first IP line of the body is stacked; when the trace then starts with the same
    function (ppc64's `(unreliable)` LR frame, s390x's parenthesised frame) that duplicate is
    dropped. Unsymbolised `0x…` lines count as frames only inside a trace (SLUB alloc/free
    tracks print them), never on their own.
    """
    frames: list[Frame] = []
    ip_seen = False
    dedup_ip: str | None = None
    skip_next = False
    in_trace = False
    for text in texts:
        if not isinstance(text, str):
            in_trace = False
            continue
        stripped = _clean(text)
        if _LAST_BREAKING.match(stripped):
            skip_next = True
            in_trace = False
            continue
        found = _classify(text)
        if found is None:
            if in_trace:
                m = _BARE_ADDRESS.match(stripped)
                if m:
                    frames.append(Frame(function="", address=m.group(1).lower()))
                    continue
            in_trace = False
            if skip_next and stripped:
                skip_next = False
            continue
        kind, line_frames = found
        if skip_next:
            skip_next = False
            continue
        if kind == _KIND_AUX:
            continue
        if kind == _KIND_IP:
            in_trace = False
            if ip_seen or not line_frames[0].function:
                continue
            ip_seen = True
            frames.append(line_frames[0])
            dedup_ip = normalize_function(line_frames[0].function)
            continue
        for f in line_frames:
            if dedup_ip is not None:
                same = normalize_function(f.function) == dedup_ip
                dedup_ip = None
                if same:
                    continue
            frames.append(f)
        in_trace = True
    return frames


def guilty_frame(frames: Sequence[Frame], skip_extra: Sequence[str] = ()) -> Frame | None:
    """The first reliable frame that is not reporting/locking/entry plumbing, name normalised.

    `skip_extra` adds regular expressions (matched against the whole normalised name) that a
    report type knows to be plumbing for it. When only unreliable (`?`) frames are meaningful the
    first of those is returned, still marked `reliable=False`, so a caller can tell.
    """
    try:
        rx = _generic_regex(tuple(skip_extra))
    except re.error:
        rx = _generic_regex()
    fallback: Frame | None = None
    for f in frames:
        if not f.function:
            continue
        name = canonical_function(f.function)
        if rx.match(name):
            continue
        if f.reliable:
            return replace(f, function=normalize_function(f.function))
        if fallback is None:
            fallback = replace(f, function=normalize_function(f.function))
    return fallback
