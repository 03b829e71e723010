"""Fingerprints: stable across occurrences of one bug, different between bugs."""

from __future__ import annotations

import re

from triage.crashes.fingerprint import fingerprint, key_functions, normalize_title
from triage.crashes.frames import parse_stack

OOPS_A = """\
BUG: unable to handle kernel NULL pointer dereference at 0000000000000008
RIP: 0010:[<ffffffffa0525326>]  [<ffffffffa0525326>] wdev_priv.part.8+0x4/0x6 [wl]
Call Trace:
 [<ffffffff81656735>] dump_stack+0x19/0x1b
 [<ffffffffa0522544>] wl_cfg80211_scan+0x3f4/0x480 [wl]
 [<ffffffffa026ec78>] ? nl80211_trigger_scan+0xf8/0x610 [cfg80211]
 [<ffffffffa026f005>] nl80211_trigger_scan+0x485/0x610 [cfg80211]
 [<ffffffff81536f70>] genl_rcv_msg+0x250/0x2d0
 [<ffffffff81536891>] netlink_rcv_skb+0xa1/0xb0
 [<ffffffff81536d05>] genl_rcv+0x25/0x40
 [<ffffffff815361ed>] netlink_unicast+0x19d/0x220
 [<ffffffff816226e9>] system_call_fastpath+0x16/0x1b
"""


def _variant(text: str) -> str:
    """The same bug on another boot/host/build: other addresses, offsets and clone suffixes."""
    text = re.sub(r"ffffffff[0-9a-f]{8}", "ffffffff8badf00d", text)
    text = re.sub(r"\+0x[0-9a-f]+/0x[0-9a-f]+", "+0x11/0x222", text)
    text = text.replace("wdev_priv.part.8", "wdev_priv.isra.3")
    # a deeper recursion and a different syscall entry do not change the bug
    text = text.replace(
        " [<ffffffff8badf00d>] genl_rcv_msg+0x11/0x222\n",
        " [<ffffffff8badf00d>] genl_rcv_msg+0x11/0x222\n [<ffffffff8badf00d>] genl_rcv_msg+0x11/0x222\n",
    )
    return text.replace("system_call_fastpath", "entry_SYSCALL_64_after_hwframe")


def test_same_bug_same_fingerprint():
    a = parse_stack(OOPS_A.splitlines())
    b = parse_stack(_variant(OOPS_A).splitlines())
    assert a != b
    assert fingerprint("MEMORY_SAFETY", "t1", a) == fingerprint("MEMORY_SAFETY", "t2", b)
    assert key_functions(a) == [
        "wdev_priv",
        "wl_cfg80211_scan",
        "nl80211_trigger_scan",
        "genl_rcv_msg",
        "netlink_rcv_skb",
    ]


def test_different_bug_or_type_differs():
    a = parse_stack(OOPS_A.splitlines())
    other = parse_stack(OOPS_A.replace("wl_cfg80211_scan", "brcmf_cfg80211_scan").splitlines())
    assert fingerprint("BUG", "", a) != fingerprint("BUG", "", other)
    assert fingerprint("BUG", "", a) != fingerprint("WARNING", "", a)
    # a caller below the top frames does not matter; one inside them does
    deeper = parse_stack(OOPS_A.replace("netlink_unicast", "other_path").splitlines())
    assert fingerprint("BUG", "", a) == fingerprint("BUG", "", deeper)


def test_unreliable_frames_stay_out():
    a = parse_stack(OOPS_A.splitlines())
    noisy = parse_stack(
        OOPS_A.replace(
            " [<ffffffff81536f70>] genl_rcv_msg",
            " [<ffffffff81000000>] ? some_stale_pointer+0x1/0x2\n [<ffffffff81536f70>] genl_rcv_msg",
        ).splitlines()
    )
    assert fingerprint("BUG", "", a) == fingerprint("BUG", "", noisy)


def test_frameless_reports_fall_back_to_normalised_title():
    t1 = "BUG: soft lockup - CPU#1 stuck for 22s! [pulseaudio:1580]"
    t2 = "BUG: soft lockup - CPU#3 stuck for 67s! [pulseaudio:2211]"
    assert normalize_title(t1) == normalize_title(t2)
    assert fingerprint("HANG", t1, []) == fingerprint("HANG", t2, [])
    assert fingerprint("HANG", t1, []) != fingerprint("HANG", "BUG: scheduling while atomic", [])
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint("HANG", t1, []))


def test_only_unreliable_frames_still_identify():
    a = parse_stack(
        [
            "[<f88e11c7>] ? radeon_cp_resume+0x7d/0xbc [radeon]",
            "[<f88745f8>] ? drm_ioctl+0x1b0/0x225 [drm]",
        ]
    )
    b = parse_stack(
        [
            "[<f88e11c7>] ? radeon_cp_resume+0x7d/0xbc [radeon]",
            "[<f88745f8>] ? vfs_ioctl+0x1b0/0x225",
        ]
    )
    assert key_functions(a) == ["radeon_cp_resume", "drm_ioctl"]
    assert fingerprint("BUG", "", a) != fingerprint("BUG", "", b)
