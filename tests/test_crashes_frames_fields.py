"""Header fields (release, taint, cpu, pid, comm) from every era's report header."""

from __future__ import annotations

import pytest

from triage.crashes.fields import header_fields

CASES = [
    (
        ["Pid: 1, comm: swapper Not tainted 2.6.18-92.el5xen #1"],
        {"release": "2.6.18-92.el5xen", "taint": "", "cpu": None, "pid": 1, "comm": "swapper"},
    ),
    (
        ["CPU: 0 PID: 1 Comm: x Tainted: G        W         5.14.0 #1"],
        {"release": "5.14.0", "taint": "GW", "cpu": 0, "pid": 1, "comm": "x"},
    ),
    (
        ["CPU: 1 UID: 0 PID: 7 Comm: kworker/0:1 Not tainted 6.12.0-rc1+ #1"],
        {"release": "6.12.0-rc1+", "taint": "", "cpu": 1, "pid": 7, "comm": "kworker/0:1"},
    ),
    (  # RHEL 4 i386 xenU oops header
        [
            "EIP:    0061:[<c0115a3e>]    Tainted: P      VLI",
            "EFLAGS: 00010202   (2.6.9-78.ELxenU)",
            "EIP is at network_tx_buf_gc+0x3e/0x1c0 [xennet]",
            "Process swapper (pid: 0, threadinfo=c03a0000 task=c0318b80)",
        ],
        {"release": "2.6.9-78.ELxenU", "taint": "P", "cpu": None, "pid": 0, "comm": "swapper"},
    ),
    (  # RHEL 4 SysRq Show Regs
        [
            "Pid: 0, comm:              swapper",
            "EIP: 0061:[<c01069b0>] CPU: 0",
            "EIP is at xen_idle+0x30/0x50",
            " EFLAGS: 00000246    Not tainted  (2.6.9-78.ELxenU)",
        ],
        {"release": "2.6.9-78.ELxenU", "taint": "", "cpu": 0, "pid": 0, "comm": "swapper"},
    ),
    (
        ["[  447.627244] 3.6.0-rc1-wl+ #296 Tainted: G        W"],
        {"release": "3.6.0-rc1-wl+", "taint": "GW", "cpu": None, "pid": None, "comm": ""},
    ),
    (
        ["Pid: 8003, comm: Xorg Not tainted (2.6.27.9-159.fc10.i686 #1)"],
        {
            "release": "2.6.27.9-159.fc10.i686",
            "taint": "",
            "cpu": None,
            "pid": 8003,
            "comm": "Xorg",
        },
    ),
    (  # ppc64 RHEL 7: reserved taint positions printed as dashes
        ["REGS: c000000010ff37b0 TRAP: 0300 Tainted: G W -------------- (3.10.0-33.el7.ppc64)"],
        {"release": "3.10.0-33.el7.ppc64", "taint": "GW", "cpu": None, "pid": None, "comm": ""},
    ),
    (  # s390x RHEL 7
        [
            "CPU: 0 PID: 32037 Comm: insmod Tainted: GF          O--------------   3.10.0-54.0.1.el7.s390x #1"
        ],
        {
            "release": "3.10.0-54.0.1.el7.s390x",
            "taint": "GFO",
            "cpu": 0,
            "pid": 32037,
            "comm": "insmod",
        },
    ),
    (  # s390x 2.6
        [
            "CPU:    0    Not tainted 2.6.32-71.el6.s390x #1",
            "Process insmod (pid: 123, task: 000000003d5a4a00, ksp: 000000003cd2bb90)",
        ],
        {"release": "2.6.32-71.el6.s390x", "taint": "", "cpu": 0, "pid": 123, "comm": "insmod"},
    ),
    (  # a tainted field with no letters at all
        ["Pid: 912, comm: X Tainted:              3.1.0-0.rc9.git0.0.fc16.x86_64 #1"],
        {
            "release": "3.1.0-0.rc9.git0.0.fc16.x86_64",
            "taint": "",
            "cpu": None,
            "pid": 912,
            "comm": "X",
        },
    ),
    (
        [
            "INFO: task khungtaskd:27 blocked for more than 120 seconds.",
            "      Tainted: P           O    4.2.8-yocto-standard #1",
        ],
        {
            "release": "4.2.8-yocto-standard",
            "taint": "PO",
            "cpu": None,
            "pid": 27,
            "comm": "khungtaskd",
        },
    ),
    (
        ["NMI watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [pulse audio:1580]"],
        {"release": "", "taint": "", "cpu": 3, "pid": 1580, "comm": "pulse audio"},
    ),
    (
        ["CPU: 2 PID: 1 Comm: swapper/0 Not tainted 6.8.0 #1", "Tainted: [W]=WARN, [O]=OOT_MODULE"],
        {"release": "6.8.0", "taint": "", "cpu": 2, "pid": 1, "comm": "swapper/0"},
    ),
    (
        ["BUG kmalloc-64 (Tainted: G    B   ): Poison overwritten"],
        {"release": "", "taint": "GB", "cpu": None, "pid": None, "comm": ""},
    ),
    (
        [
            "RIP: 0010:[<ffffffff81171b02>]  [<ffffffff81171b02>] find_get_entry+0x42/0xc0",
            "CPU 1 ",
            "Pid: 946, comm: X Tainted: P           O 3.6.1-1.fc17.x86_64 #1 Hewlett-Packard",
        ],
        {"release": "3.6.1-1.fc17.x86_64", "taint": "PO", "cpu": 1, "pid": 946, "comm": "X"},
    ),
    # a kernel with kdump armed says so between the task's name and its taint
    (
        [
            "CPU: 7 PID: 22811 Comm: python3 Kdump: loaded Tainted: G           OE     "
            "5.4.0-150-generic #167-Ubuntu"
        ],
        {"release": "5.4.0-150-generic", "taint": "GOE", "cpu": 7, "pid": 22811, "comm": "python3"},
    ),
    (
        ["CPU: 3 PID: 0 Comm: swapper/3 Kdump: loaded"],
        {"release": "", "taint": "", "cpu": 3, "pid": 0, "comm": "swapper/3"},
    ),
    # i386 2.6 show_registers: the CPU on a line of its own, above EIP
    (
        [
            "CPU:    0",
            "EIP:    0061:[<c04e6a2c>]    Not tainted VLI",
            "EFLAGS: 00010246   (2.6.18-92.el5xen #1)",
        ],
        {"release": "2.6.18-92.el5xen", "taint": "", "cpu": 0, "pid": None, "comm": ""},
    ),
]


@pytest.mark.parametrize(("texts", "expected"), CASES)
def test_header_fields(texts, expected):
    assert header_fields(texts) == expected


def test_first_statement_wins_over_a_later_nested_report():
    texts = [
        "CPU: 1 PID: 10 Comm: first Tainted: G        W  6.1.0 #1",
        "CPU: 2 PID: 20 Comm: second Not tainted 6.2.0 #1",
    ]
    assert header_fields(texts) == {
        "release": "6.1.0",
        "taint": "GW",
        "cpu": 1,
        "pid": 10,
        "comm": "first",
    }


def test_header_fields_ignores_garbage():
    assert header_fields([None, "", "x" * 100_000, "<KERNEL_VERSION> #1 Not tainted"]) == {
        "release": "",
        "taint": "",
        "cpu": None,
        "pid": None,
        "comm": "",
    }
