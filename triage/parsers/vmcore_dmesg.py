"""`vmcore-dmesg.txt` and logs carved out of dumps (formats.md §1.6).

3.5+ kernels: one `[%5llu.%06llu] text` line per record, embedded newlines kept raw so the next
line has no timestamp (flagged FLAG_CONTINUATION). ≤3.4 kernels: the raw ring text, so lines keep
their `<N>` priority, have a printk time only if printk_time was on, and the first line may be a
partial record. makedumpfile --dump-dmesg adds the caller id; all are the kernel prefix.
"""

from __future__ import annotations

from triage.model import KIND_VMCORE_DMESG
from triage.parsers.lineformat import KERNEL_PREFIX, PRINTK_TIME_ONLY, LineFormat

FORMAT = LineFormat(
    kind=KIND_VMCORE_DMESG,
    pattern=r"^(?P<pre>" + KERNEL_PREFIX + ")",
    continuation=True,
    fast=PRINTK_TIME_ONLY,
)
