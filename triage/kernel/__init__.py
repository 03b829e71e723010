"""Kernel identity: release strings (parse, compare, distro mapping) and boot segmentation.

Public API:
- `segment_boots(lines, source_id) -> (list[Boot], pa.Array of boot_id per line)`
- `parse_release(release) -> ReleaseInfo`, `rpmvercmp(a, b) -> -1|0|1`
"""

from __future__ import annotations

import pyarrow as pa

from triage.model import Boot


def segment_boots(lines: pa.Table, source_id: str) -> tuple[list[Boot], pa.Array]:
    raise NotImplementedError
