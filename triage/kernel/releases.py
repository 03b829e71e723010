"""Kernel release strings → distribution, release, flavour, vendor build and arch.

The string is all a log reliably gives (banner, oops header), so everything here is read from its
shape. RHEL and its rebuilds ship identical kernels: CentOS, Scientific Linux and Oracle's
RHEL-compatible kernels differ only by markers some of them add (`.centos.plus`, `.centos`,
Oracle's `.0.1` before `.EL`/`.el5`, `uek`), so a plain `el5`/`EL` kernel is reported as `rhel`
(and a CentOS or Scientific Linux machine running a stock kernel cannot be told apart here; a
boot's banner names the rebuild by its build host, `triage.kernel.boots`). Debian, Ubuntu and
SLES kernels are told apart by their flavour and, for a flavour two of them build (`-azure`,
`-xen`), by the release's shape. Where a banner says more than the release string (an Ubuntu
LTS's hardware enablement kernel, a Debian backport), `banner_release` reads it. Tables of
markers are module data so a new vendor or flavour is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.kernel.ga import (
    DEBIAN_BY_SERIES,
    RHEL_BASE_VERSION,
    RHEL_GA,
    SLES_BY_RELEASE_NUMBER,
    SLES_BY_SERIES,
    UBUNTU_BY_SERIES,
)
from triage.kernel.rpmvercmp import rpmvercmp

ARCHES = (
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "athlon",
    "ia64",
    "ppc64le",
    "ppc64",
    "ppc",
    "s390x",
    "s390",
    "aarch64",
    "armv7hl",
)
#: flavours RPM-era RHEL/Fedora/Citrix kernels glue to the release (`2.6.9-78.ELxenU`)
GLUED_FLAVOURS = ("largesmp", "hugemem", "smp", "xenU", "xen0", "xen", "PAE", "debug", "kdump")
#: flavours Fedora and RHEL put after the arch (`2.6.32-696.el6.x86_64.debug`, Fedora 18-20
#: `3.9.5-301.fc19.i686.PAE`, Fedora 21+ and RHEL 8+ `4.0.4-301.fc22.i686+PAE`,
#: `5.14.0-362.8.1.el9_3.aarch64+64k`); a debug build of a variant is `<variant>-debug`
ARCH_FLAVOURS = ("debug", "kdump", "rt", "PAE", "PAEdebug", "lpae", "64k")
#: arch implied by a flavour when the release does not say
FLAVOUR_ARCH = {"PAE": "i686", "hugemem": "i686", "largesmp": "x86_64"}
#: Debian/Ubuntu/SLES `<version>-<abi>-<flavour>` flavours, with the distro each implies
DASH_FLAVOURS: dict[str, str] = {
    "generic": "ubuntu",
    "generic-pae": "ubuntu",
    "server": "ubuntu",
    "virtual": "ubuntu",
    "lowlatency": "ubuntu",
    "aws": "ubuntu",
    "ec2": "ubuntu",
    "kvm": "ubuntu",
    "gcp": "ubuntu",
    "oracle": "ubuntu",
    "oem": "ubuntu",
    "generic-64k": "ubuntu",
    "generic-lpae": "ubuntu",
    "lowlatency-64k": "ubuntu",
    "raspi": "ubuntu",
    "raspi-nolpae": "ubuntu",
    "gke": "ubuntu",
    "gkeop": "ubuntu",
    "ibm": "ubuntu",
    "nvidia": "ubuntu",
    "nvidia-64k": "ubuntu",
    "intel-iotg": "ubuntu",
    "realtime": "ubuntu",
    "amd64": "debian",
    "686": "debian",
    "686-pae": "debian",
    "486": "debian",
    "k7": "debian",
    "xen-686": "debian",
    "xen-amd64": "debian",
    "cloud-amd64": "debian",
    "rt-amd64": "debian",
    "arm64": "debian",
    "armmp": "debian",
    "default": "sles",
    "bigsmp": "sles",
    "pae": "sles",
    "xenpae": "sles",
    "vanilla": "sles",
    "trace": "sles",
    "ppc64": "sles",
    "64kb": "sles",
    "kvmsmall": "sles",
}
#: dashed flavours SLES builds too, with the distro a release of another shape is (`_suse_shaped`:
#: SLES `4.12.14-16.22-azure`, `2.6.16.21-0.8-smp`; Ubuntu `5.15.0-1057-azure`)
SUSE_OR: dict[str, str] = {
    "xen": "ubuntu",
    "azure": "ubuntu",
    "smp": "",
    "debug": "",
    "kdump": "",
    "rt": "",
}
DASH_FLAVOUR_ARCH = {
    "amd64": "x86_64",
    "xen-amd64": "x86_64",
    "cloud-amd64": "x86_64",
    "rt-amd64": "x86_64",
    "686": "i686",
    "686-pae": "i686",
    "xen-686": "i686",
    "486": "i486",
    "generic-pae": "i686",
    "arm64": "aarch64",
    "generic-64k": "aarch64",
    "lowlatency-64k": "aarch64",
    "nvidia-64k": "aarch64",
    "64kb": "aarch64",
    "bigsmp": "i686",
    "pae": "i686",
    "xenpae": "i686",
}
#: (regex over the release, vendor) — builds that are not the distribution's own
VENDOR_MARKERS: list[tuple[str, str]] = [
    (r"\.xs\d", "citrix"),
    (r"\.centos\.plus", "centos-plus"),
    (r"-\d+(?:\.\d+){2,}\.0\.\d+\.(?:EL|el\d)|uek", "oracle"),
]
#: (regex, distro) — markers that name a RHEL rebuild; first match wins
REBUILD_MARKERS: list[tuple[str, str]] = [
    (r"\.centos", "centos"),
    (r"-\d+(?:\.\d+){2,}\.0\.\d+\.(?:EL|el\d)|uek", "oracle"),
]

#: (regex over a boot banner, distro): the release a kernel was built for, where the banner says
#: it and the release string does not. Ubuntu's hardware enablement and backported cloud kernels
#: (`6.5.0-28-generic` ... `#29~22.04.1-Ubuntu` is 22.04's, not 23.10's) and Debian's backports
#: (`4.19.0-0.bpo.9-amd64` ... `Debian 4.19.118-2+deb10u1~bpo9+1` is Debian 9's)
BANNER_RELEASES: list[tuple[str, str]] = [
    (r"#\d+~(\d\d\.\d\d)\.\d+-Ubuntu\b", "ubuntu"),
    (r" Debian \S+~bpo(\d+)\+\d", "debian"),
]
#: Debian's backports name the releases numbered `N.0` without the dot (`~bpo60+1`: 6.0)
BPO_RELEASES = {"40": "4.0", "50": "5.0", "60": "6.0", "70": "7"}

_ARCH_RE = re.compile(r"[.](" + "|".join(ARCHES) + r")(?=$|[.+])")
_ARCH_FLAVOUR_RE = re.compile(r"[.+]((?:" + "|".join(ARCH_FLAVOURS) + r")(?:-debug)?)$")
#: RHEL 7/8's realtime kernels carry the rt patch level inside the release:
#: `3.10.0-1160.rt56.1131.el7`, `4.18.0-372.9.1.rt7.166.el8` (RHEL 9 says `+rt` at the end)
_RT_RE = re.compile(r"\.rt\d+\.\d+\.el\d")
#: (after a digit or the L of `EL`, or CentOS-plus's `.centos.plus`:
#: `2.6.18-128.1.10.el5.centos.plusxen`)
_GLUED_RE = re.compile(r"(?:(?<=[0-9L])|(?<=\.plus))(" + "|".join(GLUED_FLAVOURS) + r")$")
_DASH_RE = re.compile(r"^(\d+\.\d+[\w.+~]*-[\w.]+?)-([a-z0-9][a-z0-9]*(?:-[a-z0-9]+)*)$")
_BASE_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
_EL_RE = re.compile(r"\.(EL|el(\d+))")
_FC_RE = re.compile(r"\.fc(\d+)")
#: Amazon Linux's own kernels: `.amzn1` (the Amazon Linux AMI), `.amzn2`, `.amzn2023`
_AMZN_RE = re.compile(r"\.amzn(\d+)")
_RELNUM_RE = re.compile(r"^\d+\.\d+[\w.]*-(\d+)")
#: a Debian backport's ABI: `5.10.0-0.deb10.16` (built for Debian 10), older `4.19.0-0.bpo.9`
_DEB_BACKPORT_RE = re.compile(r"-0\.(?:deb(\d+)|bpo)\.")
#: SLE 15's code stream at the head of a kernel's release: `5.14.21-150400.14.69` is SLE 15 SP4
_SLE_STREAM_RE = re.compile(r"-(\d\d)0\d00\.")
#: kernel.org builds: a release, a release candidate, linux-next (`6.1.0-rc1-next-20221017`), a
#: git tree past a tag (`6.8.0-rc3-00012-g54be6c6c5ae8`, `-dirty`; `5.19.0-rc7+` without
#: CONFIG_LOCALVERSION_AUTO). A number after the `+` is a vendor's build (XenServer's dom0
#: `4.4.0+10`), not a kernel.org one
_UPSTREAM_RE = re.compile(
    r"^\d+\.\d+(?:\.\d+)*(?:-rc\d+)?(?:-next-\d{8})?(?:-\d+-g[0-9a-f]{7,40})?(?:-dirty)?\+?$"
)


@dataclass(frozen=True)
class ReleaseInfo:
    release: str
    #: rhel | centos | oracle | fedora | amazon | sles | debian | ubuntu | upstream | ""
    distro: str = ""
    distro_release: str = ""  # "4.8", "5.3", "18.04", "10" ...
    flavour: str = ""  # xenU | xen | smp | PAE | hugemem | largesmp | debug | generic | ...
    vendor: str = ""  # citrix | centos-plus | oracle | ""
    arch: str = ""
    base_version: str = ""  # upstream x.y[.z]


def split_flavour(release: str) -> tuple[str, str, str]:
    """(core, flavour, arch): `2.6.18-92.el5xen` → (`2.6.18-92.el5`, `xen`, ``)."""
    core = release.strip()
    flavour = ""
    arch = ""
    m = _ARCH_FLAVOUR_RE.search(core)
    if m and _ARCH_RE.search(core):
        flavour = m.group(1)
        core = core[: m.start()]
    m = _ARCH_RE.search(core)
    if m:
        arch = m.group(1)
        core = core[: m.start()] + core[m.end() :]
    if not flavour:
        m = _GLUED_RE.search(core)
        if m and not _DASH_RE.match(core):
            flavour = m.group(1)
            core = core[: m.start()]
    if not flavour and _RT_RE.search(core):
        flavour = "rt"
    if not flavour:
        m = _DASH_RE.match(core)
        if m and (m.group(2) in DASH_FLAVOURS or m.group(2) in SUSE_OR):
            core, flavour = m.group(1), m.group(2)
    return core, flavour, arch


def base_version(release: str) -> str:
    m = _BASE_RE.match(release)
    if not m:
        return ""
    return ".".join(g for g in m.groups() if g is not None)


def _series(base: str) -> tuple[str, str]:
    """("2.6.32", "3.2") style keys: 2.6 kernels are keyed by three numbers, later by two."""
    parts = base.split(".")
    return ".".join(parts[:3]), ".".join(parts[:2])


def _ubuntu_version(base: str) -> bool:
    """Whether `base` has the shape of an Ubuntu kernel's version: Ubuntu numbers its 2.6
    kernels `2.6.N` and later ones `X.Y.0`, carrying stable updates in the ABI number, where
    SLES keeps the stable version (`2.6.16.60`, `3.0.101`, `4.12.14`)."""
    parts = base.split(".")
    return len(parts) == 3 and (parts[0] == "2" or parts[2] == "0")


def _suse_shaped(core: str, base: str) -> bool:
    """Whether a `<version>-<release>` is SUSE's: its release has dots (`2.6.16.21-0.8`,
    `4.12.14-16.22`, `5.14.21-150400.14.69`) or its version the stable number (`3.0.101-63`),
    where Ubuntu's is one ABI number on an Ubuntu-shaped version (`5.15.0-1057`)."""
    abi = core.partition("-")[2]
    return "." in abi or not _ubuntu_version(base)


def _dashed(release: str, flavour: str) -> bool:
    """Whether `release` ends in a dashed flavour SLES builds too (`2.6.16.21-0.8-smp`), not a
    glued one (Citrix's `2.6.32.43-0.4.1.xs1.8.0.835.170778xen`)."""
    return flavour in SUSE_OR and release.endswith(f"-{flavour}")


def _dash_distro(core: str, base: str, flavour: str) -> str:
    """The distro a `<version>-<abi>-<flavour>` kernel is: its flavour's, or for one SLES
    builds too (`SUSE_OR`), SLES's when the release has SUSE's shape."""
    if flavour in SUSE_OR:
        return "sles" if _suse_shaped(core, base) else SUSE_OR[flavour]
    return DASH_FLAVOURS.get(flavour, "")


def _dash_release(core: str, base: str, distro: str) -> str:
    """The Debian, Ubuntu or SLES release of a dashed kernel: what its release number says
    where it says it (a Debian backport, a SLE 15 code stream, SLES's 4.12.14 kernels), else
    the release that shipped its upstream series."""
    three, two = _series(base)
    if distro == "debian" and (bpo := _DEB_BACKPORT_RE.search(core)):
        return bpo.group(1) or ""  # `0.bpo.N` does not say which release it was built for
    if distro == "sles":
        if stream := _SLE_STREAM_RE.search(core):
            return stream.group(1)
        if base in SLES_BY_RELEASE_NUMBER:
            return _numbered(SLES_BY_RELEASE_NUMBER[base], core)
    if distro == "ubuntu" and not _ubuntu_version(base):
        return ""  # a mainline build (`5.15.12-051512-generic`), not Ubuntu's own
    table = {"debian": DEBIAN_BY_SERIES, "ubuntu": UBUNTU_BY_SERIES, "sles": SLES_BY_SERIES}
    by_series = table.get(distro, {})
    return by_series.get(three) or by_series.get(two, "")


def _numbered(spans: list[tuple[int, int, str]], core: str) -> str:
    """The release whose span of first release numbers holds `core`'s, else ""."""
    m = _RELNUM_RE.match(core)
    num = int(m.group(1)) if m else -1
    return next((name for first, last, name in spans if first <= num <= last), "")


def rhel_major(release: str) -> int | None:
    """RHEL major version of an `EL`/`elN` kernel (RHEL 3 and 4 both say `EL`)."""
    m = _EL_RE.search(release)
    if not m:
        return None
    if m.group(2):
        return int(m.group(2))
    return 3 if release.startswith("2.4.") else 4


def rhel_minor(release: str, major: int) -> str:
    m = _RELNUM_RE.match(release)
    if not m or major not in RHEL_GA:
        return str(major) if major == 3 else ""
    num = int(m.group(1))
    if not release.startswith(RHEL_BASE_VERSION.get(major, "")):
        return ""
    found = ""
    for first, name in RHEL_GA[major]:
        if num >= first:
            found = name
    return found


def parse_release(release: str) -> ReleaseInfo:
    """Everything the release string tells; fields it does not tell stay empty."""
    release = release.strip()
    core, flavour, arch = split_flavour(release)
    base = base_version(core)
    if not base:
        return ReleaseInfo(release=release)
    if not arch:
        arch = FLAVOUR_ARCH.get(flavour, "") or DASH_FLAVOUR_ARCH.get(flavour, "")
    vendor = next((v for rx, v in VENDOR_MARKERS if re.search(rx, release)), "")
    distro = ""
    distro_release = ""
    major = rhel_major(core)
    if major is not None:
        distro = next((d for rx, d in REBUILD_MARKERS if re.search(rx, release)), "rhel")
        # Oracle's UEK has its own numbering; only RHEL-compatible kernels map to a GA (a bare
        # major would fall inside every range of that major's minor releases)
        distro_release = "" if "uek" in release else rhel_minor(core, major)
    elif (fc := _FC_RE.search(core)) is not None:
        distro, distro_release = "fedora", fc.group(1)
    elif (amzn := _AMZN_RE.search(core)) is not None:
        distro, distro_release = "amazon", amzn.group(1)
    elif flavour in DASH_FLAVOURS or _dashed(release, flavour) or "+deb" in release:
        distro = "debian" if "+deb" in release else _dash_distro(core, base, flavour)
        distro_release = _dash_release(core, base, distro)
    elif vendor == "citrix" or _UPSTREAM_RE.match(core):
        distro = "upstream" if vendor != "citrix" else ""
    return ReleaseInfo(
        release=release,
        distro=distro,
        distro_release=distro_release,
        flavour=flavour,
        vendor=vendor,
        arch=arch,
        base_version=base,
    )


def banner_release(banner: str, distro: str) -> str:
    """The `distro` release a boot banner says its kernel was built for ("" when it does not):
    an LTS's kernel from a later release is that LTS's (`BANNER_RELEASES`)."""
    for rx, which in BANNER_RELEASES:
        if which == distro and (m := re.search(rx, banner)):
            return BPO_RELEASES.get(m.group(1), m.group(1))
    return ""


def family(release: str) -> str:
    """What releases are comparable with: `el5`, `el4`, `fc12`, `sles`, `ubuntu`, `upstream`…"""
    info = parse_release(release)
    major = rhel_major(split_flavour(release)[0])
    if major is not None:
        return f"el{major}"
    if info.distro == "fedora":
        return f"fc{info.distro_release}"
    if info.distro == "amazon":  # Amazon Linux 1, 2 and 2023 are separate lines
        return f"amzn{info.distro_release}"
    return info.distro or "unknown"


def is_vendor_fixed(release: str) -> bool:
    """A Citrix-built guest kernel (`.xs` in the release): the XenServer tools' fix for the
    documented RHEL 4/5 guest issues is already in it."""
    return re.search(r"\.xs\d", release) is not None


def release_in_range(release: str, min_release: str = "", max_release: str = "") -> bool:
    """min ≤ release ≤ max (inclusive, either bound optional) within one distribution family.

    A RHEL 5 range never matches a RHEL 4 or Fedora kernel, whatever the numbers say; flavour and
    arch suffixes are ignored (`2.6.18-92.el5xen` is in `2.6.18-8.el5`…`2.6.18-128.el5`).
    """
    fam = family(release)
    for bound in (min_release, max_release):
        if bound and family(bound) != fam:
            return False
    if min_release and compare_releases(release, min_release) < 0:
        return False
    return not (max_release and compare_releases(release, max_release) > 0)


def version_release(release: str) -> tuple[str, str]:
    """(version, release) of a kernel string with its flavour and arch suffixes removed."""
    core = split_flavour(release)[0]
    version, _, rel = core.partition("-")
    return version, rel


def compare_releases(a: str, b: str) -> int:
    """Order two kernel release strings by version, then release, ignoring flavour and arch.

    `2.6.9-78.0.22.ELxenU` vs `2.6.9-78.ELsmp` compares 2.6.9 then 78.0.22.EL vs 78.EL.
    """
    va, ra = version_release(a)
    vb, rb = version_release(b)
    return rpmvercmp(va, vb) or rpmvercmp(ra, rb)
