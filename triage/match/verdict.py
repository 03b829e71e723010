"""Does a signature's `applies_to` cover the running kernel, and is that kernel already fixed?

The answer has three outcomes a support engineer acts on differently: `affected` (apply the
fix), `fixed-kernel` (the symptom fits but this kernel carries the fix, so look for another
cause) and `unknown-kernel` (nothing in the evidence names the kernel). A kernel that is known
and outside the scope (RHEL 6, upstream, another flavour) yields no finding at all: that is the
near-miss a naive grep would report. Release parsing and comparison belong to triage.kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.model import Boot

AFFECTED = "affected"
FIXED = "fixed-kernel"
UNKNOWN = "unknown-kernel"


@dataclass
class KernelView:
    release: str = ""
    distro: str = ""
    distro_release: str = ""
    flavour: str = ""
    vendor: str = ""
    arch: str = ""
    source: str = ""  # where the release was read: boot banner, oops header


@dataclass
class Verdict:
    applies: bool
    verdict: str
    reason: str


def kernel_view(boot: Boot | None, crash_releases: list[str]) -> KernelView:
    """The running kernel: the boot's banner when known, else a release an oops header printed."""
    if boot is not None and boot.release:
        from triage.kernel import parse_release

        info = parse_release(boot.release)
        return KernelView(
            release=boot.release,
            distro=boot.distro or _s(info, "distro"),
            distro_release=boot.distro_release or _s(info, "distro_release"),
            flavour=boot.flavour or _s(info, "flavour"),
            vendor=boot.vendor or _s(info, "vendor"),
            arch=boot.arch or _s(info, "arch"),
            source="boot banner",
        )
    for rel in crash_releases:
        if rel:
            from triage.kernel import parse_release

            info = parse_release(rel)
            return KernelView(
                release=rel,
                distro=_s(info, "distro"),
                distro_release=_s(info, "distro_release"),
                flavour=_s(info, "flavour"),
                vendor=_s(info, "vendor"),
                arch=(boot.arch if boot is not None else "") or _s(info, "arch"),
                source="crash report header",
            )
    return KernelView()


def _s(info: Any, name: str) -> str:
    v = getattr(info, name, "")
    return str(v) if v else ""


def _vtuple(s: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in s.split("."))
    except ValueError:
        return None


def _base(release: str) -> str:
    return release.split("-", 1)[0]


def _in_release_range(k: KernelView, rng: dict[str, Any]) -> bool:
    from triage.kernel import compare_releases

    if "min" in rng or "max" in rng:
        have = _vtuple(k.distro_release)
        if have is None:
            return False
        lo = _vtuple(str(rng.get("min", "0")))
        hi = _vtuple(str(rng["max"])) if "max" in rng else None
        if lo is not None and have < lo[: len(have)]:
            return False
        if hi is not None and have[: len(hi)] > hi:
            return False
    if "kernel_min" in rng:
        if _base(k.release) != _base(rng["kernel_min"]):
            return False
        if compare_releases(k.release, rng["kernel_min"]) < 0:
            return False
    if "kernel_below" in rng:
        if _base(k.release) != _base(rng["kernel_below"]):
            return False
        if compare_releases(k.release, rng["kernel_below"]) >= 0:
            return False
    return True


def _range_text(applies: dict[str, Any]) -> str:
    parts = []
    for rng in applies.get("releases") or []:
        if "min" in rng or "max" in rng:
            parts.append(f"{rng.get('min', '…')}–{rng.get('max', '…')}")
        else:
            parts.append(f"{rng.get('kernel_min', '…')} to before {rng.get('kernel_below', '…')}")
    return ", ".join(parts)


def judge(applies: dict[str, Any], k: KernelView) -> Verdict:
    """Scope and fix status of kernel `k` for a signature's `applies_to`."""
    if not k.release:
        if applies.get("unknown_kernel") == "skip":
            return Verdict(False, UNKNOWN, "no kernel release in the evidence")
        return Verdict(
            True, UNKNOWN, "no kernel release in this source: the verdict needs `uname -r`"
        )
    distros = [d.lower() for d in applies.get("distros") or []]
    name = _describe(k)
    if "any" not in distros and (k.distro or "").lower() not in distros:
        return Verdict(False, "", f"{name}: distribution {k.distro or 'unknown'} not covered")
    ranges = applies.get("releases") or []
    if ranges and not any(_in_release_range(k, r) for r in ranges):
        return Verdict(False, "", f"{name}: outside {_range_text(applies)}")
    flavours = [f.lower() for f in applies.get("flavours") or []]
    if flavours and (k.flavour or "").lower() not in flavours:
        return Verdict(False, "", f"{name}: flavour {k.flavour or 'unknown'} not covered")
    arches = [a.lower() for a in applies.get("arches") or []]
    if arches and k.arch and k.arch.lower() not in arches:
        return Verdict(False, "", f"{name}: architecture {k.arch} not covered")
    fixed = applies.get("fixed") or {}
    fixed_by = _fixed_by(k, fixed)
    if fixed_by:
        return Verdict(
            True,
            FIXED,
            f"{name} {fixed_by}: the symptom matches but this kernel carries the fix, "
            "so it needs another explanation",
        )
    scope = _range_text(applies)
    if not scope:  # a failure class that no kernel release fixes (e.g. a boot misconfiguration)
        return Verdict(True, AFFECTED, f"{name}: the signature applies to any kernel")
    return Verdict(
        True, AFFECTED, f"{name} is in the affected range ({scope}) and not a fixed build"
    )


def _fixed_by(k: KernelView, fixed: dict[str, Any]) -> str:
    from triage.kernel import compare_releases, is_vendor_fixed

    if fixed.get("vendor_builds") and is_vendor_fixed(k.release):
        return "is a vendor (Citrix .xs) build"
    for rel in fixed.get("releases") or []:
        if _base(rel) == _base(k.release) and compare_releases(k.release, rel) >= 0:
            return f"is at or above Red Hat's fixed release {rel}"
    return ""


def _describe(k: KernelView) -> str:
    bits = [k.release]
    label = " ".join(x for x in (k.distro.upper() if k.distro else "", k.distro_release) if x)
    if label:
        bits.append(f"({label}{' ' + k.flavour if k.flavour else ''})")
    return " ".join(bits)
