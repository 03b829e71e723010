"""Kernel identity: release strings (parse, compare, distro mapping) and boot segmentation.

Public API:
- `segment_boots(lines, source_id) -> (list[Boot], pa.Array of boot_id per line)` — per host
  when the source holds several hosts' lines (a loghost's messages)
- `host_rows(lines) -> list[np.ndarray]` — the rows of each host of such a source ([] for one
  host); `rows_by_host(lines, kind)` — the same for a kind a loghost gathers, else [];
  `host_key(name)` — the machine a host name stands for
- `parse_release(release) -> ReleaseInfo(release, distro, distro_release, flavour, vendor, arch,
  base_version)`
- `rpmvercmp(a, b) -> -1|0|1` — RPM's version order
- `compare_releases(a, b) -> -1|0|1` — kernel releases by version-release, flavour/arch ignored
- `release_in_range(release, min_release="", max_release="") -> bool` — inclusive, same family
- `is_vendor_fixed(release) -> bool` — a Citrix `.xs` guest kernel
- `family(release) -> str` — `el4`, `el5`, `fc12`, `ubuntu`, … (what ranges compare within)
- `anchor_patterns() -> list[str]` — line patterns boot segmentation reads (banners, journal
  separators, clock restarts, release/arch/host hints); a byte prefilter keeping these lines and
  their neighbours gives `segment_boots` what it needs
- `RHEL_GA` — GA kernel table (RHEL major → [(first release number, "minor")])
"""

from __future__ import annotations

from triage.kernel.boots import PlainBoot, plain_boots, segment_boots
from triage.kernel.ga import RHEL_GA
from triage.kernel.hosts import host_key, host_rows, rows_by_host
from triage.kernel.releases import (
    ReleaseInfo,
    compare_releases,
    family,
    is_vendor_fixed,
    parse_release,
    release_in_range,
    split_flavour,
)
from triage.kernel.rpmvercmp import rpmvercmp

#: a printk clock below RESTART_NEAR (10 s): where a restarted clock opens a boot. The same
#: lines as `\[ *[0-9]\.[0-9]+\]`, spelt with the padding as literals: Hyperscan then looks
#: for those rather than starting a match at every `[` of every printk line (twice as fast)
LOW_CLOCK = "|".join(
    [*(rf"\[{' ' * n}[0-9]\.[0-9]+\]" for n in range(5)), r"\[     +[0-9]\.[0-9]+\]"]
)


def anchor_patterns() -> list[str]:
    """Regexes (over message text) of every line `segment_boots` looks at."""
    from triage.kernel import boots as _boots

    return [
        _boots.BANNER,
        _boots.SEPARATOR,
        _boots.RELEASE_LINES,
        _boots.HOST_LINE,
        *(p for p, _ in _boots.ARCH_HINTS),
        LOW_CLOCK,
    ]


def gate_patterns() -> list[str]:
    """The line patterns `segment_boots` asks about: a source none of whose lines any of them
    matches has one plain boot, unless its printk clock restarts."""
    from triage.kernel import boots as _boots

    return list(_boots.GATED)


__all__ = [
    "RHEL_GA",
    "PlainBoot",
    "ReleaseInfo",
    "anchor_patterns",
    "compare_releases",
    "family",
    "gate_patterns",
    "host_key",
    "host_rows",
    "is_vendor_fixed",
    "parse_release",
    "plain_boots",
    "release_in_range",
    "rows_by_host",
    "rpmvercmp",
    "segment_boots",
    "split_flavour",
]
