"""RFC 3164 syslog files (`/var/log/messages`, `kern.log`), rsyslog's RFC 3339 file format and
RFC 5424 lines.

Only kernel lines are kept, plus the few other programs whose lines tell a hang from a quiet
system: the syslog daemons' own start/stop/MARK lines and klogd. Kernel lines may carry the inner
printk time (`kernel: [   12.345678] …`) and, from old klogd, a `<N>` priority.
"""

from __future__ import annotations

from triage.model import KIND_SYSLOG, KIND_SYSLOG_RFC3339
from triage.parsers.lineformat import (
    BSD_TIME,
    ISO_TIME,
    KERNEL_PREFIX,
    STRICT_TAG,
    SYSLOG_TAG,
    KeepRule,
    LineFormat,
)

#: programs other than the kernel whose lines matter to hang detection: a syslog daemon that
#: restarts or writes `-- MARK --` proves the machine was alive; klogd relays the kernel on RHEL 4/5;
#: shutdown/init tell an orderly reboot from a crash.
KEEP_TAGS = frozenset(
    {
        "kernel",
        "klogd",
        "syslogd",
        "rsyslogd",
        "syslog-ng",
        "systemd-journald",
        "shutdown",
        "init",
    }
)
#: tag-less messages kept: syslogd's MARK, "last message repeated" (a repeated kernel line),
#: sysklogd's own `syslogd 1.4.1: restart.` (its version takes the place of a tag) and its
#: `exiting on signal 15` as it stops (no tag at all: with the restart, a clean reboot's mark)
KEEP_UNTAGGED = (
    r"^(?:-- MARK --|last message repeated \d+ times?|syslogd [\d.]+: |exiting on signal \d+$)"
)

SYSLOG_KEEP = KeepRule(tags=KEEP_TAGS, untagged=KEEP_UNTAGGED)

#: the kernel prefix alone, run over the message of kept lines (the fast path's second stage)
KERNEL_BODY = r"^(?P<pre>" + KERNEL_PREFIX + ")"
KERNEL_BODY_FAST = r"^(?P<pre>\[\s*(?P<mono>\d+\.\d+)\] )"
#: RFC 3164 header without the (fixed-width) time and with a mandatory tag
BSD_HEADER = (
    r"^(?P<pre>[A-Z][a-z]{2} [ 0-3]\d [0-2]\d:[0-5]\d:[0-6]\d (?P<host>\S+) " + STRICT_TAG + ")"
)

RFC3164 = LineFormat(
    kind=KIND_SYSLOG,
    pattern=r"^(?P<pre>" + BSD_TIME + r" (?P<host>\S+) " + SYSLOG_TAG + KERNEL_PREFIX + ")",
    keep=SYSLOG_KEEP,
    header=BSD_HEADER,
    header_time_group="t_bsd",
    header_time_width=15,
    body=KERNEL_BODY,
    body_fast=KERNEL_BODY_FAST,
)

#: RFC 5424 (rsyslog's RSYSLOG_SyslogProtocol23Format, syslog-ng's syslog-protocol files):
#: `<PRI>1 TIME HOST APP PROCID MSGID SD MSG`, `-` for an absent field. It shares the RFC 3339
#: time, so it is the same kind; APP is the tag, PROCID is not kept (the kernel has none).
RFC5424_VERSION = r"(?:<(?P<hpri>\d+)>1 )?"
#: a tag then either the RFC 3164 colon (`kernel:`, `sshd[12]:`) or RFC 5424's PROCID, MSGID
#: and structured data (`kernel - - - `, `app 12 ID47 [x@1 a="b"] `); optional as a whole.
#: RFC 5424's MSG may start with a byte order mark saying it is UTF-8 (§6.4): prefix, not text
RFC3339_TAG = (
    r"(?:(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\]: ?|: ?"
    r"| (?:\d+|-) \S+ (?:-|(?:\[[^\]]*\])+)(?: |$)" + "\ufeff?" + r"))?"
)

RFC3339 = LineFormat(
    kind=KIND_SYSLOG_RFC3339,
    pattern=(
        r"^(?P<pre>"
        + RFC5424_VERSION
        + ISO_TIME
        + r" (?P<host>\S+) "
        + RFC3339_TAG
        + KERNEL_PREFIX
        + ")"
    ),
    keep=SYSLOG_KEEP,
)
