"""Release strings: RPM ordering, distro mapping, ranges and vendor builds."""

from __future__ import annotations

import pytest

from triage.kernel import (
    compare_releases,
    family,
    is_vendor_fixed,
    parse_release,
    release_in_range,
    rpmvercmp,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0", 0),
        ("1.0", "1.0.1", -1),
        ("2.6.9", "2.6.18", -1),  # numbers, not strings
        ("1.0a", "1.0", 1),
        ("1.0", "1.0a", -1),
        ("1a", "1.1", -1),  # letters lose to digits
        ("1.001", "1.1", 0),  # leading zeros ignored
        ("1.0~rc1", "1.0", -1),  # tilde sorts first
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0^git1", "1.0", 1),  # caret after the end
        ("1.0^git1", "1.0.1", -1),  # but before another segment
        ("1_0", "1.0", 0),  # separators only separate
        ("abc", "abd", -1),
    ],
)
def test_rpmvercmp(a, b, expected):
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        ("2.6.9-89.0.25.EL", "2.6.9-89.0.3.EL"),
        ("2.6.18-128.1.6.el5", "2.6.18-128.el5"),
        ("2.6.9-78.0.22.EL", "2.6.9-78.EL"),
        ("2.6.18-128.1.6.el5.centos.plus", "2.6.18-128.1.6.el5"),
        ("2.6.9-89.0.9.0.1.EL", "2.6.9-89.0.9.EL"),  # Oracle rebuild of the same z-stream
        ("2.6.9-89.0.10.EL", "2.6.9-89.0.9.0.1.EL"),
        ("2.6.18-53.1.13.el5.xs4.1.0.24", "2.6.18-53.1.13.el5"),
        ("2.6.9-89.0.25.ELxenU", "2.6.9-89.0.3.ELsmp"),  # flavours ignored
        ("2.6.18-164.el5xen", "2.6.18-128.1.6.el5PAE"),
        ("4.18.0-80.11.2.el8_0.x86_64", "4.18.0-80.el8.x86_64"),
    ],
)
def test_compare_releases(newer, older):
    assert compare_releases(newer, older) == 1
    assert compare_releases(older, newer) == -1


def test_compare_ignores_only_flavour():
    assert compare_releases("2.6.18-92.el5xen", "2.6.18-92.el5") == 0
    assert compare_releases("2.6.32-71.el6.x86_64", "2.6.32-71.el6.i686") == 0


@pytest.mark.parametrize(
    ("release", "distro", "distro_release", "flavour", "vendor", "arch"),
    [
        ("2.6.9-78.ELxenU", "rhel", "4.7", "xenU", "", ""),
        ("2.6.9-89.0.25.EL", "rhel", "4.8", "", "", ""),
        ("2.6.9-55.ELsmp", "rhel", "4.5", "smp", "", ""),
        ("2.6.9-67.0.1.ELhugemem", "rhel", "4.6", "hugemem", "", "i686"),
        ("2.6.18-92.el5xen", "rhel", "5.2", "xen", "", ""),
        ("2.6.18-164.15.1.el5", "rhel", "5.4", "", "", ""),
        ("2.6.18-128.1.6.el5.centos.plus", "centos", "5.3", "", "centos-plus", ""),
        # CentOS-plus's Xen kernels glue the flavour to `.plus`, as uname -r shows them
        ("2.6.18-128.1.10.el5.centos.plusxen", "centos", "5.3", "xen", "centos-plus", ""),
        ("2.6.9-89.0.20.EL.centos.plusxenU", "centos", "4.8", "xenU", "centos-plus", ""),
        ("2.6.9-89.0.9.0.1.EL", "oracle", "4.8", "", "oracle", ""),
        ("2.6.9-42.0.3.EL.xs0.4.0.263xenU", "rhel", "4.4", "xenU", "citrix", ""),
        ("2.6.18-53.1.13.el5.xs4.1.0.24", "rhel", "5.1", "", "citrix", ""),
        ("2.6.18-8.el5PAE", "rhel", "5.0", "PAE", "", "i686"),
        ("2.6.32-71.el6.x86_64", "rhel", "6.0", "", "", "x86_64"),
        ("3.10.0-229.el7.x86_64", "rhel", "7.1", "", "", "x86_64"),
        ("4.18.0-305.3.1.el8_4.x86_64", "rhel", "8.4", "", "", "x86_64"),
        ("5.14.0-70.13.1.el9_0.x86_64+debug", "rhel", "9.0", "debug", "", "x86_64"),
        ("5.6.6-300.fc32.x86_64", "fedora", "32", "", "", "x86_64"),
        ("2.6.16.60-0.21-xen", "sles", "10", "xen", "", ""),
        ("3.0.101-63-default", "sles", "11", "default", "", ""),
        ("3.16.0-4-amd64", "debian", "8", "amd64", "", "x86_64"),
        ("2.6.32-5-xen-686", "debian", "6.0", "xen-686", "", "i686"),
        ("4.15.0-20-generic", "ubuntu", "18.04", "generic", "", ""),
        ("2.6.24-19-xen", "ubuntu", "8.04", "xen", "", ""),
        ("5.0.0-rc1+", "upstream", "", "", "", ""),
        # SLES keeps the stable version in its `-xen` kernels; Ubuntu's are `X.Y.0` (or 2.6.N)
        ("3.0.101-63-xen", "sles", "11", "xen", "", ""),
        # a Debian flavour that starts with a digit
        ("3.2.0-4-686-pae", "debian", "7", "686-pae", "", "i686"),
        ("4.9.0-8-686", "debian", "9", "686", "", "i686"),
        # Ubuntu's releases between LTSs, and a mainline build that is none of Ubuntu's
        ("6.2.0-1017-azure", "ubuntu", "23.04", "azure", "", ""),
        ("4.18.0-10-generic", "ubuntu", "18.10", "generic", "", ""),
        ("5.15.12-051512-generic", "ubuntu", "", "generic", "", ""),
        ("4.14.186-110.268.amzn1.x86_64", "amazon", "1", "", "", "x86_64"),
        ("4.14.173-137.229.amzn2.x86_64", "amazon", "2", "", "", "x86_64"),
        ("6.1.55-75.123.amzn2023.x86_64", "amazon", "2023", "", "", "x86_64"),
        ("4.1.12-124.48.6.el7uek.x86_64", "oracle", "", "", "oracle", "x86_64"),
        # RHEL's realtime kernels: the rt patch level inside the release, or `+rt` (RHEL 9)
        ("4.18.0-372.9.1.rt7.166.el8.x86_64", "rhel", "8.6", "rt", "", "x86_64"),
        ("3.10.0-1160.rt56.1131.el7.x86_64", "rhel", "7.9", "rt", "", "x86_64"),
        ("5.14.0-362.8.1.el9_3.x86_64+rt", "rhel", "9.3", "rt", "", "x86_64"),
    ],
)
def test_parse_release(release, distro, distro_release, flavour, vendor, arch):
    info = parse_release(release)
    assert (info.distro, info.distro_release, info.flavour, info.vendor, info.arch) == (
        distro,
        distro_release,
        flavour,
        vendor,
        arch,
    )
    assert release.startswith(info.base_version)


@pytest.mark.parametrize(
    ("release", "distro", "distro_release", "flavour", "arch"),
    [
        # SLES builds `-azure` and `-smp` too: its release has dots or a stable version
        ("5.14.21-150400.14.69-azure", "sles", "15", "azure", ""),
        ("5.3.18-150300.38.75-azure", "sles", "15", "azure", ""),
        ("4.12.14-16.22-azure", "sles", "", "azure", ""),  # numbered apart: not mapped
        ("5.15.0-1057-azure", "ubuntu", "22.04", "azure", ""),
        ("2.6.16.21-0.8-smp", "sles", "10", "smp", ""),
        ("2.6.5-7.308-smp", "sles", "9", "smp", ""),
        ("2.6.16.60-0.21-debug", "sles", "10", "debug", ""),
        ("5.14.21-150500.13.5-rt", "sles", "15", "rt", ""),
        ("5.14.21-150400.24.46-64kb", "sles", "15", "64kb", "aarch64"),
        ("4.12.14-122.37-default", "sles", "12", "default", ""),  # 12 SP5
        ("4.12.14-120-default", "sles", "12", "default", ""),  # 12 SP5 GA
        ("4.12.14-95.48-default", "sles", "12", "default", ""),  # 12 SP4
        ("4.12.14-25.28-default", "sles", "15", "default", ""),  # 15
        ("4.12.14-197.29-default", "sles", "15", "default", ""),  # 15 SP1
        ("4.12.14-150100.197.148-default", "sles", "15", "default", ""),  # 15 SP1, LTSS
        # Citrix's glued `xen` is none of SLES's
        ("2.6.32.43-0.4.1.xs1.8.0.835.170778xen", "", "", "xen", ""),
        # Debian's backports say the release they were built for, or (`0.bpo`) nothing
        ("5.10.0-0.deb10.16-amd64", "debian", "10", "amd64", "x86_64"),
        ("6.1.0-0.deb11.17-amd64", "debian", "11", "amd64", "x86_64"),
        ("4.19.0-0.bpo.9-amd64", "debian", "", "amd64", "x86_64"),
        # flavours after the arch: Fedora's PAE, ARM LPAE, RHEL 9's 64k pages
        ("4.0.4-301.fc22.i686+PAE", "fedora", "22", "PAE", "i686"),
        ("3.9.5-301.fc19.i686.PAE", "fedora", "19", "PAE", "i686"),
        ("4.0.4-301.fc22.i686+PAEdebug", "fedora", "22", "PAEdebug", "i686"),
        ("4.0.4-301.fc22.armv7hl+lpae", "fedora", "22", "lpae", "armv7hl"),
        ("5.14.0-362.8.1.el9_3.aarch64+64k", "rhel", "9.3", "64k", "aarch64"),
        ("5.14.0-362.8.1.el9_3.aarch64+64k-debug", "rhel", "9.3", "64k-debug", "aarch64"),
        # kernel.org trees past a tag, and linux-next
        ("6.8.0-rc3-00012-g54be6c6c5ae8", "upstream", "", "", ""),
        ("6.8.0-00012-g54be6c6c5ae8-dirty", "upstream", "", "", ""),
        ("6.1.0-rc1-next-20221017", "upstream", "", "", ""),
        ("6.8.0-rc3", "upstream", "", "", ""),
        # a number after the `+` is a vendor's build (XenServer's dom0), not kernel.org's
        ("4.4.0+10", "", "", "", ""),
        ("4.19.0+1", "", "", "", ""),
        # Ubuntu's flavours
        ("5.15.0-1012-raspi", "ubuntu", "22.04", "raspi", ""),
        ("5.4.0-1048-gke", "ubuntu", "20.04", "gke", ""),
        ("5.15.0-1030-nvidia", "ubuntu", "22.04", "nvidia", ""),
        ("5.15.0-91-generic-64k", "ubuntu", "22.04", "generic-64k", "aarch64"),
        ("6.8.0-31-lowlatency-64k", "ubuntu", "24.04", "lowlatency-64k", "aarch64"),
        ("5.15.0-1032-realtime", "ubuntu", "22.04", "realtime", ""),
        ("5.15.0-1045-ibm", "ubuntu", "22.04", "ibm", ""),
        ("5.15.0-1040-intel-iotg", "ubuntu", "22.04", "intel-iotg", ""),
        ("5.15.0-1042-gkeop", "ubuntu", "22.04", "gkeop", ""),
        ("6.2.0-1017-lowlatency", "ubuntu", "23.04", "lowlatency", ""),
        ("5.4.0-1109-kvm", "ubuntu", "20.04", "kvm", ""),
        ("5.15.0-1034-oracle", "ubuntu", "22.04", "oracle", ""),
        ("4.15.0-1100-gcp", "ubuntu", "18.04", "gcp", ""),
    ],
)
def test_parse_release_distros_and_flavours(release, distro, distro_release, flavour, arch):
    info = parse_release(release)
    assert (info.distro, info.distro_release, info.flavour, info.arch) == (
        distro,
        distro_release,
        flavour,
        arch,
    )


@pytest.mark.parametrize(
    ("banner", "distro", "expected"),
    [
        (
            "Linux version 6.5.0-28-generic (buildd@lcy02-amd64-098) (x86_64-linux-gnu-gcc-12"
            " (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38)"
            " #29~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Thu Apr  4 14:39:20 UTC 2",
            "ubuntu",
            "22.04",
        ),
        (
            "Linux version 6.5.0-28-generic (buildd@lcy02-amd64-098) (gcc-13) #29-Ubuntu SMP",
            "ubuntu",
            "",
        ),
        (
            "Linux version 4.19.0-0.bpo.9-amd64 (debian-kernel@lists.debian.org) (gcc version"
            " 6.3.0 20170516 (Debian 6.3.0-18+deb9u1)) #1 SMP Debian 4.19.118-2+deb10u1~bpo9+1"
            " (2020-06-09)",
            "debian",
            "9",
        ),
        (
            "Linux version 3.16.0-0.bpo.4-amd64 (debian-kernel@lists.debian.org) (gcc version"
            " 4.7.2 (Debian 4.7.2-5) ) #1 SMP Debian 3.16.7-ckt11-1+deb8u3~bpo70+1 (2015-08-08)",
            "debian",
            "7",
        ),
        # what one distro's banner says is not read for another
        ("Linux version 6.5.0-28-generic (b@h) (gcc) #29~22.04.1-Ubuntu SMP", "debian", ""),
    ],
)
def test_banner_release(banner, distro, expected):
    from triage.kernel.releases import banner_release

    assert banner_release(banner, distro) == expected


def test_release_between_ga_numbers_is_the_earlier_release():
    assert parse_release("2.6.18-100.el5").distro_release == "5.2"
    assert parse_release("2.6.9-4.EL").distro_release == ""  # before 4.0 GA: a beta


def test_amazon_linux_lines_are_separate_families():
    assert family("4.14.173-137.229.amzn2.x86_64") == "amzn2"
    assert family("6.1.55-75.123.amzn2023.x86_64") == "amzn2023"
    assert not release_in_range(
        "4.14.186-110.268.amzn1.x86_64", "4.14.1-1.amzn2", "4.14.999-1.amzn2"
    )
    assert release_in_range("4.14.173-137.229.amzn2.x86_64", "4.14.1-1.amzn2", "")


def test_release_in_range_is_inclusive_and_family_aware():
    assert release_in_range("2.6.18-92.el5xen", "2.6.18-8.el5", "2.6.18-128.el5")
    assert release_in_range("2.6.18-128.el5", "2.6.18-8.el5", "2.6.18-128.el5")
    assert release_in_range("2.6.18-128.1.6.el5", "2.6.18-8.el5", "")
    assert not release_in_range("2.6.18-128.1.6.el5", "", "2.6.18-128.el5")
    assert not release_in_range("2.6.9-78.ELxenU", "2.6.18-8.el5", "2.6.18-128.el5")
    assert not release_in_range("2.6.18-1.2798.fc6", "2.6.18-8.el5", "2.6.18-128.el5")
    assert release_in_range("2.6.9-89.0.3.ELxenU", "2.6.9-55.EL", "2.6.9-89.0.24.EL")
    assert not release_in_range("2.6.9-89.0.25.ELxenU", "2.6.9-55.EL", "2.6.9-89.0.24.EL")


def test_vendor_fixed():
    assert is_vendor_fixed("2.6.9-42.0.3.EL.xs0.4.0.263xenU")
    assert is_vendor_fixed("2.6.18-53.1.13.el5.xs4.1.0.24")
    assert not is_vendor_fixed("2.6.9-78.ELxenU")
