"""Rebuild the sample bundles (the archives and compressed logs under samples/) byte for byte.

Only the built files are kept in samples/, so `triage scan samples/` sees each input once; their
contents live here. Members get fixed times, owners and order, so a rebuild is identical and
tests/test_samples_archives.py can check the committed files are current.

    python samples/make_archives.py            # rewrite the archives in samples/
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# XenServer 5.5 status report of host xs01 (pool master), taken 2009-06-15 10:30:00 local time
# --------------------------------------------------------------------------------------------
BUG_REPORT = "bug-report-20090615103000"
BUG_REPORT_MTIME = 1245076200  # 2009-06-15 14:30:00 UTC = 10:30:00 EDT

HOST_XS01 = "7c3e2f1a-5b8d-4e6f-9a21-3d4c5b6a7e80"
HOST_XS02 = "2f9d8c7b-6a5e-4d3c-8b2a-19f0e8d7c6b5"
REF_XS01 = "OpaqueRef:1d7a3c9e-4b2f-8e61-0a5d-c3b9f7e2a148"
REF_XS02 = "OpaqueRef:8b2e6f0a-9c4d-1e73-5f8a-b6d0c2e4a937"
VM_RHEL47 = "5e1f4a2b-8c3d-4f6e-b7a9-0c1d2e3f4a5b"
VM_RHEL45 = "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d"
REF_RHEL47 = "OpaqueRef:9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"
REF_RHEL45 = "OpaqueRef:4c6a8e0b-2d4f-6a8c-0e2a-4c6e8a0c2e4f"
REF_TEMPLATE = "OpaqueRef:e1d2c3b4-a5f6-4789-90ab-cdef01234567"
REF_DOM0 = "OpaqueRef:0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
REF_GM47 = "OpaqueRef:6d5c4b3a-2918-4a7b-9c8d-7e6f5a4b3c2d"
REF_GM45 = "OpaqueRef:b7a6c5d4-e3f2-41a0-9b8c-d7e6f5a4b3c2"


def _row(pairs: list[tuple[str, str]]) -> str:
    return "<row " + " ".join(f'{k}="{v}"' for k, v in pairs) + "/>"


def _vm(
    ref: str,
    uuid: str,
    name: str,
    desc: str,
    power: str,
    resident: str,
    domid: str,
    other: str,
    gm: str,
    **extra: str,
) -> str:
    pairs = [
        ("ref", ref),
        ("uuid", uuid),
        ("allowed_operations", "()"),
        ("current_operations", "()"),
        ("power_state", power),
        ("name__label", name),
        ("name__description", desc),
        ("user_version", "1"),
        ("is_a_template", extra.get("template", "false")),
        ("suspend_VDI", "OpaqueRef:NULL"),
        ("resident_on", resident),
        ("affinity", resident),
        ("memory__overhead", "11534336"),
        ("memory__target", "1073741824"),
        ("memory__static_max", "1073741824"),
        ("memory__dynamic_max", "1073741824"),
        ("memory__dynamic_min", "1073741824"),
        ("memory__static_min", "536870912"),
        ("VCPUs__params", "()"),
        ("VCPUs__max", "1"),
        ("VCPUs__at_startup", "1"),
        ("actions__after_shutdown", "destroy"),
        ("actions__after_reboot", "restart"),
        ("actions__after_crash", "restart"),
        ("PV__bootloader", "pygrub"),
        ("PV__kernel", ""),
        ("PV__ramdisk", ""),
        ("PV__args", ""),
        ("PV__bootloader_args", ""),
        ("PV__legacy_args", ""),
        ("HVM__boot_policy", ""),
        ("HVM__boot_params", "()"),
        ("platform", "(('nx' 'false') ('acpi' 'true') ('apic' 'true') ('pae' 'true'))"),
        ("other_config", other),
        ("domid", domid),
        ("domarch", "x32p"),
        ("is_control_domain", extra.get("dom0", "false")),
        ("metrics", "OpaqueRef:NULL"),
        ("guest_metrics", gm),
        ("ha_always_run", "false"),
        ("ha_restart_priority", ""),
        ("is_a_snapshot", "false"),
        ("snapshot_of", "OpaqueRef:NULL"),
        ("tags", "()"),
    ]
    return _row(pairs)


XAPI_DB = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<database><manifest>"
    '<pair key="installation_uuid" value="' + HOST_XS01 + '"/>'
    '<pair key="control_domain_uuid" value="0e3a5c7d-9b1f-4d2e-8a6c-5f4e3d2c1b0a"/>'
    '<pair key="product_version" value="5.5.0"/><pair key="product_brand" value="XenServer"/>'
    '<pair key="build_number" value="15119p"/><pair key="xapi_major_vsn" value="1"/>'
    '<pair key="xapi_minor_vsn" value="1"/><pair key="schema_major_vsn" value="5"/>'
    '<pair key="schema_minor_vsn" value="57"/><pair key="generation_count" value="48213"/>'
    "</manifest>"
    '<table name="SR"/>'
    '<table name="VM">'
    + _vm(
        REF_RHEL47,
        VM_RHEL47,
        "rhel47vm",
        "RHEL 4.7 web frontend",
        "Running",
        REF_XS01,
        "15",
        "(('install-methods' 'cdrom,nfs,http,ftp') ('last_shutdown_action' 'Restart') "
        "('last_shutdown_initiator' 'internal') ('last_shutdown_reason' 'crashed') "
        "('last_shutdown_time' '20090615T13:58:44Z') ('mac_seed' '0b5c1e2d-7a4f-9e8b-3c6d-1f2a3b4c5d6e') "
        "('machine-address-size' '36') ('suppress-spurious-page-faults' 'true'))",
        REF_GM47,
    )
    + _vm(
        REF_RHEL45,
        VM_RHEL45,
        "rhel45vm",
        "Billing DB%_(do not reboot)",
        "Running",
        REF_XS01,
        "12",
        "(('install-methods' 'cdrom,nfs,http,ftp') "
        "('mac_seed' '6e5d4c3b-2a19-4f8e-7d6c-5b4a39281706') ('suppress-spurious-page-faults' 'true'))",
        REF_GM45,
    )
    + _vm(
        REF_TEMPLATE,
        "d9e8f7a6-b5c4-4d3e-2f1a-0b9c8d7e6f5a",
        "Red Hat Enterprise Linux 4.7",
        "Template that allows VM installation from Xen-aware RHEL-based distros.",
        "Halted",
        "OpaqueRef:NULL",
        "-1",
        "(('install-methods' 'cdrom,nfs,http,ftp') ('machine-address-size' '36') "
        "('suppress-spurious-page-faults' 'true'))",
        "OpaqueRef:NULL",
        template="true",
    )
    + _vm(
        REF_DOM0,
        "0e3a5c7d-9b1f-4d2e-8a6c-5f4e3d2c1b0a",
        "Control domain on host: xs01",
        "The domain which manages physical devices and manages other domains",
        "Running",
        REF_XS01,
        "0",
        "()",
        "OpaqueRef:NULL",
        dom0="true",
    )
    + "</table>"
    '<table name="VM_guest_metrics">'
    + _row(
        [
            ("ref", REF_GM47),
            ("uuid", "3a2b1c0d-9e8f-4a7b-6c5d-4e3f2a1b0c9d"),
            (
                "os_version",
                "(('name' 'Red Hat Enterprise Linux AS release 4 (Nahant Update 7)') "
                "('uname' '2.6.9-78.ELxenU') ('distro' 'rhel') ('major' '4') ('minor' '7'))",
            ),
            ("PV_drivers_version", "(('major' '5') ('minor' '5') ('micro' '0') ('build' '15119'))"),
            ("last_updated", "20090615T14:29:12Z"),
            ("live", "true"),
        ]
    )
    + _row(
        [
            ("ref", REF_GM45),
            ("uuid", "8c7d6e5f-4a3b-4c2d-9e1f-0a9b8c7d6e5f"),
            (
                "os_version",
                "(('name' 'Red Hat Enterprise Linux AS release 4 (Nahant Update 5)') "
                "('uname' '2.6.9-55.ELxenU') ('distro' 'rhel') ('major' '4') ('minor' '5'))",
            ),
            ("PV_drivers_version", "(('major' '5') ('minor' '5') ('micro' '0') ('build' '15119'))"),
            ("last_updated", "20090615T14:28:57Z"),
            ("live", "true"),
        ]
    )
    + "</table>"
    '<table name="host">'
    + _row(
        [
            ("ref", REF_XS01),
            ("uuid", HOST_XS01),
            ("name__label", "xs01"),
            ("name__description", "Default install of XenServer"),
            ("allowed_operations", "()"),
            ("API_version__major", "1"),
            ("API_version__minor", "3"),
            (
                "software_version",
                "(('product_version' '5.5.0') ('product_brand' 'XenServer') "
                "('build_number' '15119p') ('hostname' 'xs01') ('xen' '3.3.1') "
                "('linux' '2.6.18-128.1.6.el5.xs5.5.0.505.1024xen'))",
            ),
            ("enabled", "true"),
            ("hostname", "xs01"),
            ("address", "10.20.1.11"),
            ("metrics", "OpaqueRef:c5e7a9b1-3d5f-7a9c-1e3a-5c7e9a1c3e5a"),
        ]
    )
    + _row(
        [
            ("ref", REF_XS02),
            ("uuid", HOST_XS02),
            ("name__label", "xs02"),
            ("name__description", "Default install of XenServer"),
            ("allowed_operations", "()"),
            ("API_version__major", "1"),
            ("API_version__minor", "3"),
            (
                "software_version",
                "(('product_version' '5.5.0') ('product_brand' 'XenServer') "
                "('build_number' '15119p') ('hostname' 'xs02') ('xen' '3.3.1') "
                "('linux' '2.6.18-128.1.6.el5.xs5.5.0.505.1024xen'))",
            ),
            ("enabled", "true"),
            ("hostname", "xs02"),
            ("address", "10.20.1.12"),
            ("metrics", "OpaqueRef:f2d4b6a8-0c2e-4a6b-8d0f-2b4d6f8a0c2e"),
        ]
    )
    + "</table>"
    '<table name="host_metrics"/>'
    '<table name="pool"/>'
    "</database>"
)

T47 = "R:6f2a1c9e0b3d"
XENSOURCE_LOG = f"""\
[20090615 09:31:05.102|info|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|audit] VM.start: VM = '{VM_RHEL47} (rhel47vm)'
[20090615 09:31:05.118|debug|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|xapi] VM.start: attempting to start VM on this host
[20090615 09:31:05.764|debug|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|xapi] host xs01; available_memory = 536870912; memory_required = 1074790400
[20090615 09:31:05.772|error|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|backtrace] VM.start R:1b7d5e3a9c20 failed with exception Server_error(HOST_NOT_ENOUGH_FREE_MEMORY, [ 1049600; 524288 ])
[20090615 09:31:05.773|debug|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|backtrace] Raised at xapi_vm_helpers.ml:277.10-72 -> vmops.ml:276.4-64
[20090615 09:33:17.640|info|xs01|296 inet-RPC|VM.start_on R:2c8e6f4b0a1d|audit] VM.start_on: VM = '{VM_RHEL47} (rhel47vm)'; host '{HOST_XS02} (xs02)'
[20090615 09:33:17.655|debug|xs01|296 inet-RPC|VM.start_on R:2c8e6f4b0a1d|xapi] forwarding VM.start_on to host xs02
[20090615 09:52:40.208|info|xs01|307 inet-RPC|VM.clean_shutdown R:3d9f7a5c1b2e|audit] VM.clean_shutdown: VM = '{VM_RHEL45} (rhel45vm)'
[20090615 09:53:02.911|debug|xs01|67 xal_listen||event] VM (domid: 9) @releaseDomain
[20090615 09:53:03.020|debug|xs01|307 inet-RPC|VM.clean_shutdown R:3d9f7a5c1b2e|xapi] VM.clean_shutdown: domain has shutdown
[20090615 09:54:30.477|info|xs01|311 inet-RPC|VM.start R:4e0a8b6d2c3f|audit] VM.start: VM = '{VM_RHEL45} (rhel45vm)'
[20090615 09:54:31.925|debug|xs01|311 inet-RPC|VM.start R:4e0a8b6d2c3f|xapi] Created domain with domid: 12
[20090615 09:54:44.103|debug|xs01|311 inet-RPC|VM.start R:4e0a8b6d2c3f|xapi] VM.start: unpausing domain 12
[20090615 09:58:12.402|info|xs01|318 inet-RPC|VM.pool_migrate {T47}|audit] VM.pool_migrate: VM = '{VM_RHEL47} (rhel47vm)'; host = '{HOST_XS01} (xs01)'
[20090615 09:58:12.431|debug|xs01|318 inet-RPC|VM.pool_migrate {T47}|xapi] forwarding VM.pool_migrate to host xs02
[20090615 09:58:14.106|debug|xs01|322 inet-RPC|VM.pool_migrate {T47}|xapi] Receiver 1. Received migration request
[20090615 09:58:14.987|debug|xs01|322 inet-RPC|VM.pool_migrate {T47}|xapi] Created domain with domid: 14
[20090615 09:58:40.310|debug|xs01|322 inet-RPC|VM.pool_migrate {T47}|xapi] Receiver 8. unpausing domain
[20090615 09:58:41.877|debug|xs01|322 inet-RPC|VM.pool_migrate {T47}|xapi] Receiver 9a Success
[20090615 09:58:44.512|debug|xs01|67 xal_listen||event] VM (domid: 14) @releaseDomain
[20090615 09:58:44.520|debug|xs01|67 xal_listen||event] VM {REF_RHEL47} (domid 14) domain has crashed; executing actions_after_crash
[20090615 09:58:44.541|info|xs01|331 |VM shutdown R:5f1b9c7e3d40|xapi] VM {REF_RHEL47} shutdown initiated internally; actions_after[crashed] = restart
[20090615 09:58:46.092|debug|xs01|331 |VM shutdown R:5f1b9c7e3d40|xapi] Created domain with domid: 15
[20090615 10:29:58.003|debug|xs01|340 unix-RPC|host.bugreport R:6a2c0d8f4e51|xapi] bugtool: collecting status report
"""

PHYSINFO = """\
threads_per_core: 1
cores_per_socket: 4
nr_cpus         : 8
nr_nodes        : 1
cpu_khz         : 2992504
hw_caps         : bfebfbff:20100800:00000000:00000140:0004e3bd:00000000:00000001:00000000
virt_caps       : hvm
total_memory    : 134209532
free_memory     : 127354880
scrub_memory    : 0
node_to_cpu     : node0:0-7
node_to_memory  : node0:127354880
max_cpu_id      : 7
"""

XENINFO = """\
xen_major        : 3
xen_minor        : 3
xen_extra        : .1
xen_caps         : xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64
xen_pagesize     : 4096
platform_params  : virt_start=0xffff800000000000
xen_changeset    : unavailable
cc_compiler      : gcc version 4.1.2 20080704 (Red Hat 4.1.2-44)
cc_compile_by    : root
cc_compile_domain: citrite.net
cc_compile_date  : Tue Jun  2 10:41:08 EDT 2009
"""

INVENTORY = f"""\
PRODUCT_BRAND='XenServer'
PRODUCT_NAME='xenenterprise'
PRODUCT_VERSION='5.5.0'
BUILD_NUMBER='15119p'
KERNEL_VERSION='2.6.18-128.1.6.el5.xs5.5.0.505.1024xen'
XEN_VERSION='3.3.1'
INSTALLATION_DATE='2009-05-28 16:02:17.442371'
PRIMARY_DISK='/dev/disk/by-id/scsi-SATA_ST3500320NS_9QM7ABCD'
BACKUP_PARTITION='/dev/disk/by-id/scsi-SATA_ST3500320NS_9QM7ABCD-part2'
INSTALLATION_UUID='{HOST_XS01}'
CONTROL_DOMAIN_UUID='0e3a5c7d-9b1f-4d2e-8a6c-5f4e3d2c1b0a'
DOM0_MEM='752'
MANAGEMENT_INTERFACE='xenbr0'
"""

INVENTORY_XML = """\
<?xml version="1.0" ?>
<system-status-inventory><system-summary date="2009-06-15 10:30:00.145287"><hostname>xs01</hostname>\
<uname>Linux xs01 2.6.18-128.1.6.el5.xs5.5.0.505.1024xen #1 SMP Tue Jun 2 10:53:34 EDT 2009 i686</uname>\
</system-summary><inventory-entry capability="xenserver-logs" filename="var/log/xensource.log"/>\
<inventory-entry capability="xenserver-databases" filename="xapi-db.xml"/></system-status-inventory>
"""

STATUS_REPORT = {
    "etc/xensource-inventory": INVENTORY,
    "inventory.xml": INVENTORY_XML,
    "physinfo.out": PHYSINFO,
    "var/log/xensource.log": XENSOURCE_LOG,
    "xapi-db.xml": XAPI_DB,
    "xeninfo.out": XENINFO,
}

# --------------------------------------------------------------------------------------------
# sosreport of web07, a RHEL 5.3 PV guest running the XenServer-tools kernel
# --------------------------------------------------------------------------------------------
SOS = "sosreport-web07-2009-06-15-abcdefg"
SOS_MTIME = 1245074912  # 2009-06-15 14:08:32 UTC
RPM_QUERY = (
    "sos_commands/rpm/sh_-c_rpm_--nodigest_-qa_--qf_NAME_-_VERSION_-_RELEASE_._ARCH_INSTALLTIME_date_"
    "_awk_-F_printf_-59s_s_n_1_2_sort_-f"
)


def _rpm(nvra: str, date: str) -> str:
    return f"{nvra:<59} {date}\n"


INSTALLED_RPMS = "".join(
    [
        _rpm("bash-3.2-24.el5.i386", "Tue 20 Jan 2009 02:14:50 PM EST"),
        _rpm("glibc-2.5-34.i686", "Tue 20 Jan 2009 02:14:12 PM EST"),
        _rpm("kernel-2.6.18-128.el5.i686", "Tue 20 Jan 2009 02:21:37 PM EST"),
        _rpm("kernel-headers-2.6.18-128.el5.i386", "Tue 20 Jan 2009 02:14:55 PM EST"),
        _rpm("kernel-xen-2.6.18-128.el5.i686", "Tue 20 Jan 2009 02:22:05 PM EST"),
        _rpm("kernel-xen-2.6.18-128.1.6.el5.xs5.5.0.14.i686", "Tue 02 Jun 2009 03:12:41 PM EDT"),
        _rpm("kernel-xen-devel-2.6.18-128.el5.i686", "Tue 20 Jan 2009 02:23:10 PM EST"),
        _rpm("openssh-server-4.3p2-29.el5.i386", "Tue 20 Jan 2009 02:18:02 PM EST"),
        _rpm("xe-guest-utilities-5.5.0-458.i386", "Tue 02 Jun 2009 03:12:39 PM EDT"),
    ]
)
UNAME_A = (
    "Linux web07.example.com 2.6.18-128.1.6.el5.xs5.5.0.14xen #1 SMP Tue Jun 2 10:14:23 EDT 2009 "
    "i686 i686 i386 GNU/Linux\n"
)
SOS_DMESG = """\
Linux version 2.6.18-128.1.6.el5.xs5.5.0.14xen (root@rhel5-build.citrite.net) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-44)) #1 SMP Tue Jun 2 10:14:23 EDT 2009
BIOS-provided physical RAM map:
 Xen: 0000000000000000 - 0000000020800000 (usable)
0MB HIGHMEM available.
520MB LOWMEM available.
NX (Execute Disable) protection: active
ACPI in unprivileged domain disabled
Built 1 zonelists.  Total pages: 133120
Kernel command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0
Initializing CPU#0
PID hash table entries: 2048 (order: 11, 8192 bytes)
Xen reported: 2992.504 MHz processor.
Console: colour dummy device 80x25
Dentry cache hash table entries: 65536 (order: 6, 262144 bytes)
Inode-cache hash table entries: 32768 (order: 5, 131072 bytes)
Software IO TLB disabled
vmalloc area: d1000000-f51fe000, maxmem 2d7fe000
Memory: 511232k/532480k available (2031k kernel code, 12752k reserved, 837k data, 164k init, 0k highmem)
Calibrating delay using timer specific routine.. 5987.92 BogoMIPS (lpj=11975857)
Security Framework v1.0.0 initialized
SELinux:  Initializing.
Mount-cache hash table entries: 512
CPU: L1 I cache: 32K, L1 D cache: 32K
CPU: L2 cache: 6144K
Checking 'hlt' instruction... disabled
Brought up 1 CPUs
Grant table initialized
NET: Registered protocol family 16
xen_mem: Initialising balloon driver.
NET: Registered protocol family 2
Freeing unused kernel memory: 164k freed
Write protecting the kernel read-only data: 387k
Registering block device major 202
 xvda: xvda1 xvda2
netfront: Initialising virtual ethernet driver.
kjournald starting.  Commit interval 5 seconds
EXT3-fs: mounted filesystem with ordered data mode.
"""
SOS_MESSAGES = """\
Jun 15 09:40:12 web07 syslogd 1.4.1: restart.
Jun 15 09:40:12 web07 kernel: klogd 1.4.1, log source = /proc/kmsg started.
Jun 15 09:40:12 web07 kernel: Linux version 2.6.18-128.1.6.el5.xs5.5.0.14xen (root@rhel5-build.citrite.net) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-44)) #1 SMP Tue Jun 2 10:14:23 EDT 2009
Jun 15 09:40:12 web07 kernel: Kernel command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0
Jun 15 09:40:12 web07 kernel: Xen reported: 2992.504 MHz processor.
Jun 15 09:40:12 web07 kernel: netfront: Initialising virtual ethernet driver.
Jun 15 09:40:14 web07 kernel: EXT3-fs: mounted filesystem with ordered data mode.
Jun 15 09:40:19 web07 sshd[1842]: Server listening on :: port 22.
Jun 15 09:40:20 web07 xe-linux-distribution: Detected `Red Hat Enterprise Linux Server release 5.3 (Tikanga)'
Jun 15 10:01:01 web07 crond[2210]: (root) CMD (run-parts /etc/cron.hourly)
Jun 15 10:08:31 web07 sosreport: sosreport started
"""
SOSREPORT = {
    "sos_commands/general/date": "Mon Jun 15 10:08:32 EDT 2009\n",
    "sos_commands/general/hostname": "web07.example.com\n",
    "sos_commands/kernel/dmesg": SOS_DMESG,
    "sos_commands/kernel/uname_-a": UNAME_A,
    RPM_QUERY: INSTALLED_RPMS,
    "var/log/messages": SOS_MESSAGES,
}
#: sos's root symlinks into sos_commands (relative, inside the archive)
SOS_LINKS = {
    "date": "sos_commands/general/date",
    "hostname": "sos_commands/general/hostname",
    "installed-rpms": RPM_QUERY,
    "uname": "sos_commands/kernel/uname_-a",
}

# --------------------------------------------------------------------------------------------
# The oldest rotation of a RHEL 5.3 guest's syslog, compressed by logrotate
# --------------------------------------------------------------------------------------------
MESSAGES_2 = """\
May 24 04:02:05 db03 syslogd 1.4.1: restart.
May 24 09:12:44 db03 sshd[28113]: Accepted publickey for oper from 10.20.3.7 port 51422 ssh2
May 26 14:37:02 db03 shutdown[30122]: shutting down for system reboot
May 26 14:37:04 db03 kernel: Kernel logging (proc) stopped.
May 26 14:37:04 db03 kernel: Kernel log daemon terminating.
May 26 14:37:05 db03 exiting on signal 15
May 26 14:38:21 db03 syslogd 1.4.1: restart.
May 26 14:38:21 db03 kernel: klogd 1.4.1, log source = /proc/kmsg started.
May 26 14:38:21 db03 kernel: Linux version 2.6.18-128.el5xen (mockbuild@hs20-bc1-5.build.redhat.com) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Dec 17 12:22:24 EST 2008
May 26 14:38:21 db03 kernel: BIOS-provided physical RAM map:
May 26 14:38:21 db03 kernel:  Xen: 0000000000000000 - 0000000080800000 (usable)
May 26 14:38:21 db03 kernel: 1160MB HIGHMEM available.
May 26 14:38:21 db03 kernel: 896MB LOWMEM available.
May 26 14:38:21 db03 kernel: NX (Execute Disable) protection: active
May 26 14:38:21 db03 kernel: Kernel command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0
May 26 14:38:21 db03 kernel: Xen reported: 2992.504 MHz processor.
May 26 14:38:21 db03 kernel: Memory: 2072064k/2105344k available (2023k kernel code, 24628k reserved, 837k data, 164k init, 1187840k highmem)
May 26 14:38:21 db03 kernel: Brought up 2 CPUs
May 26 14:38:21 db03 kernel: Grant table initialized
May 26 14:38:21 db03 kernel: xen_mem: Initialising balloon driver.
May 26 14:38:21 db03 kernel: Registering block device major 202
May 26 14:38:21 db03 kernel:  xvda: xvda1 xvda2
May 26 14:38:21 db03 kernel: netfront: Initialising virtual ethernet driver.
May 26 14:38:22 db03 kernel: EXT3-fs: mounted filesystem with ordered data mode.
May 26 14:38:25 db03 kernel: eth0: no IPv6 routers present
May 26 14:38:27 db03 ntpd[1921]: ntpd 4.2.2p1@1.1570-o Thu Nov 27 13:22:34 UTC 2008 (1)
May 26 14:38:28 db03 sshd[1962]: Server listening on :: port 22.
May 27 03:11:02 db03 crond[4410]: (root) CMD (run-parts /etc/cron.daily)
May 30 22:47:15 db03 ntpd[1921]: synchronized to 10.20.0.1, stratum 2
"""


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------
def _tar(top: str, files: dict[str, str], links: dict[str, str], mtime: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(files):
            data = files[name].encode("utf-8")
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
        for name in sorted(links):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type, info.linkname, info.mtime, info.mode = (
                tarfile.SYMTYPE,
                links[name],
                mtime,
                0o777,
            )
            info.uname = info.gname = "root"
            tar.addfile(info)
    return buf.getvalue()


def build() -> dict[str, bytes]:
    """Relative path under samples/ → exact bytes."""
    status = _tar(BUG_REPORT, STATUS_REPORT, {}, BUG_REPORT_MTIME)
    sos = _tar(SOS, SOSREPORT, SOS_LINKS, SOS_MTIME)
    return {
        f"case-xs01/{BUG_REPORT}.tar.bz2": bz2.compress(status, 9),
        f"{SOS}.tar.xz": lzma.compress(sos, format=lzma.FORMAT_XZ, preset=6),
        "rhel53-guest/messages.2.gz": gzip.compress(MESSAGES_2.encode(), 9, mtime=0),
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE
    for rel, data in build().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
