"""`journalctl` text output: short (default), short-precise, short-monotonic, short-delta
(`[  523.456789 <    0.000123>]`), short-iso, short-iso-precise, short-full
(`Fri 2026-11-27 10:00:00 UTC`) and short-unix (seconds since the epoch, UTC).

journalctl pads the day with a zero (`Jan 01`) and prints `-- Boot <id> --` (older versions
`-- Reboot --`) between boots; those separators are kept as lines tagged `journal` so boot
segmentation sees them. `-k` output and full journals alike keep only kernel-relevant lines.
"""

from __future__ import annotations

from triage.model import KIND_JOURNAL
from triage.parsers.lineformat import (
    BSD_TIME,
    ISO_TIME,
    KERNEL_PREFIX_NO_MONO,
    SYSLOG_TAG,
    KeepRule,
    LineFormat,
)
from triage.parsers.syslog import BSD_HEADER, KEEP_TAGS, KEEP_UNTAGGED

SEPARATOR_TAG = "journal"
#: the separators journalctl prints between boots
BOOT_SEPARATOR = r"^-- (?:Boot [0-9a-f]{32}|Reboot) --$"

#: short-full: the weekday, the date and time, and the zone's abbreviation (`UTC`, `CET`, `+03`)
FULL_TIME = (
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    r"(?P<t_ymd>\d{4}-[01]\d-[0-3]\d [0-2]\d:[0-5]\d:[0-6]\d)(?:\.(?P<f_ymd>\d+))? [\w+-]+"
)

FORMAT = LineFormat(
    kind=KIND_JOURNAL,
    pattern=(
        r"^(?P<pre>(?:"
        + BSD_TIME
        + "|"
        + ISO_TIME
        + r"|\[\s*(?P<mono>\d+\.\d+)(?: <\s*\d+\.\d+>)?\]|"
        + FULL_TIME
        + r"|(?P<t_unix>\d+)\.(?P<f_unix>\d+)) (?P<host>\S+) "
        + SYSLOG_TAG
        + KERNEL_PREFIX_NO_MONO
        + ")"
    ),
    keep=KeepRule(tags=KEEP_TAGS, untagged=KEEP_UNTAGGED, separator=BOOT_SEPARATOR),
    separator_tag=SEPARATOR_TAG,
    # the default short mode, most lines, as RFC 3164's fast path reads them: the header with
    # its fixed-width time, then the kernel prefix over the kept lines' messages alone
    header=BSD_HEADER,
    header_time_group="t_bsd",
    header_time_width=15,
    body=r"^(?P<pre>" + KERNEL_PREFIX_NO_MONO + ")",
)
