"""Serial and xenconsoled guest console captures.

A console carries raw kernel output (`<N>` never appears on a serial line, but a `[ts]` printk time
and a caller id may), interleaved with firmware, boot loader and init-script noise. xenconsoled run
with `--timestamp=guest` prefixes every line with `[YYYY-MM-DD HH:MM:SS] ` (formats.md §2.4);
hypervisor lines `(XEN) …` are kept verbatim because signatures read them as they are.
"""

from __future__ import annotations

from triage.model import KIND_CONSOLE
from triage.parsers.lineformat import KERNEL_PREFIX, PRINTK_TIME_ONLY, LineFormat

FORMAT = LineFormat(
    kind=KIND_CONSOLE,
    pattern=(
        r"^(?P<pre>(?:\[(?P<t_ymd>\d{4}-[01]\d-[0-3]\d [0-2]\d:[0-5]\d:[0-6]\d)\] )?"
        + KERNEL_PREFIX
        + ")"
    ),
    fast=PRINTK_TIME_ONLY,
)
