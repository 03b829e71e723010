"""`journalctl` text output: short (default), short-precise, short-monotonic, short-iso.

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
from triage.parsers.syslog import KEEP_TAGS, KEEP_UNTAGGED

SEPARATOR_TAG = "journal"
#: the separators journalctl prints between boots
BOOT_SEPARATOR = r"^-- (?:Boot [0-9a-f]{32}|Reboot) --$"

FORMAT = LineFormat(
    kind=KIND_JOURNAL,
    pattern=(
        r"^(?P<pre>(?:"
        + BSD_TIME
        + "|"
        + ISO_TIME
        + r"|\[\s*(?P<mono>\d+\.\d+)\]) (?P<host>\S+) "
        + SYSLOG_TAG
        + KERNEL_PREFIX_NO_MONO
        + ")"
    ),
    keep=KeepRule(tags=KEEP_TAGS, untagged=KEEP_UNTAGGED, separator=BOOT_SEPARATOR),
    separator_tag=SEPARATOR_TAG,
)
