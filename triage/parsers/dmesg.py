"""`dmesg` output in its common forms: plain, `[ts]`, `-r` (`<N>`), `-T`, `-d`, `-e`,
`--time-format iso`, `-x`; and the kernel's /dev/kmsg records.

`-x` prints `kern  :warn  : ` before the time; `-r` prints `<facility*8+level>`; `-T` replaces the
printk time with a ctime string that is wrong after suspend, so we keep it as the line timestamp but
leave `mono` null (formats.md §4.4).
"""

from __future__ import annotations

from triage.model import KIND_DMESG
from triage.parsers.lineformat import PRINTK_TIME_ONLY, LineFormat

#: facility and level names as util-linux dmesg -x prints them
DMESG_X = (
    r"(?:(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res0|res1|res2|res3"
    r"|local[0-7]) *:(?P<lvl>emerg|alert|crit|err|warn|notice|info|debug) *: )?"
)
#: `-T`, also with `-d` (`[Fri Nov 27 10:09:20 2026 <    0.000123>]`), `--time-format iso`, or
#: `-e`/`-H`: `[Nov27 10:09]` when the minute changes, else `[  +0.000123]` since the message
#: before (no time a line can be given: the prefix is removed, the time left empty)
DMESG_TIMES = (
    r"(?:\[(?P<t_ctime>[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-3]\d [0-2]\d:[0-5]\d:[0-6]\d \d{4})"
    r"(?: <\s*\d+\.\d+>)?\] ?"
    r"|\[(?:[A-Z][a-z]{2}[ 0-3]\d [0-2]\d:[0-5]\d|\s*\+\d+\.\d+)\] ?"
    r"|(?P<t_iso>\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d)(?:[.,](?P<f_iso>\d+))?"
    r"(?:Z|[+-]\d\d:?\d\d)? )?"
)

#: the kernel prefix as dmesg prints it: with `-d`, the printk time is followed by the delta
#: since the message before (`[    1.234567 <    0.000123>] `). A /dev/kmsg record (`cat
#: /dev/kmsg`, extended netconsole) has its own: `PRI,SEQ,MICROSECONDS,FLAG[,...];`, then
#: ` KEY=VALUE` lines of device properties, which read as continuation lines
DMESG_PREFIX = (
    r"(?:<(?P<pri>\d+)>|(?P<kpri>\d{1,3}),\d{1,20},(?P<mono_us>\d{1,20}),[-c+][^;]*;)?"
    r"(?:\[\s*(?P<mono>\d+\.\d+)(?: <\s*\d+\.\d+>)?\] ?)?"
    r"(?:\[\s*(?P<caller>[TC]\d+)\] ?)?"
)

FORMAT = LineFormat(
    kind=KIND_DMESG,
    pattern=r"^(?P<pre>" + DMESG_X + DMESG_TIMES + DMESG_PREFIX + ")",
    continuation=True,
    # `[   12.345678] ` alone, most lines: settled by the cheap pattern. A line it misses goes
    # to the full one when it starts like some prefix: a facility name, ISO digits, `[`, `<`.
    fast=PRINTK_TIME_ONLY,
    prefix_starts=b"[<0123456789acdfklmnrsu",
)
