"""The xapi database, Xen info files, inventory, domain lists and (XEN) crash lines."""

from __future__ import annotations

from datetime import datetime

from triage.model import SourceFile
from triage.parsers import xapi_db
from triage.parsers.bundle_facts import bundle_facts

HOST = "7c3e2f1a-5b8d-4e6f-9a21-3d4c5b6a7e80"
VM = "d9f623ff-0593-d798-d619-76c9ed53d223"
# 2017+ encoding: every space of a map is %.; host_metrics persisted (bytes)
DB_2019 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<database><manifest><pair key="schema_major_vsn" '
    'value="5"/></manifest><table name="SR"/><table name="VM">'
    f'<row __mtime="9" __ctime="1" ref="OpaqueRef:a" uuid="{VM}" name__label="web%.07" '
    'power_state="Running" is_a_template="false" is_a_snapshot="false" is_control_domain="false" '
    'resident_on="OpaqueRef:h" domid="8" guest_metrics="OpaqueRef:NULL" '
    "other_config=\"(('machine-address-size'%.'36')%.('note'%.'it\\'s%.a%.test'))\"/>"
    '<row ref="OpaqueRef:s" uuid="11111111-2222-3333-4444-555555555555" name__label="snap" '
    'is_a_snapshot="true" other_config="()"/>'
    "</table>"
    f'<table name="host"><row ref="OpaqueRef:h" uuid="{HOST}" name__label="xs01" '
    'metrics="OpaqueRef:m" hostname="xs01"/></table>'
    '<table name="host_metrics"><row ref="OpaqueRef:m" uuid="00000000-0000-0000-0000-000000000001" '
    'memory__total="68719476736"/></table></database>'
)


def _run(files: dict[str, bytes], bundle: str = "/case/bug-report-20191001120000.tar.bz2"):
    srcs = [
        SourceFile(disk_path=bundle, members=(p,), bundle=bundle, path=p) for p in sorted(files)
    ]
    return bundle_facts(srcs, lambda s: files[s.path])


def _get(facts, key, subject=None):
    return [f.value for f in facts if f.key == key and (subject is None or f.subject_id == subject)]


def test_unprotect_accepts_both_space_encodings():
    assert xapi_db.unprotect("a%_b c") == "a  b c"
    assert xapi_db.unprotect("a%.b%.%.c%%d%n") == "a b  c%d\n"
    assert xapi_db.parse_map("(('k' 'v w') ('x' 'it\\'s'))") == {"k": "v w", "x": "it's"}
    assert xapi_db.parse_map("(('k'%.'v%.w'))") == {"k": "v w"}


def test_modern_database_gives_host_memory_vm_flags_and_skips_snapshots():
    facts, errors = _run(
        {
            "bug-report-20191001120000/xapi-db.xml": DB_2019.encode(),
            "bug-report-20191001120000/etc/xensource-inventory": f"INSTALLATION_UUID='{HOST}'\n".encode(),
        }
    )
    assert errors == []
    assert _get(facts, "host.memory_total_bytes") == ["68719476736"]
    assert _get(facts, "host.is_bundle_host", HOST) == ["true"]
    assert _get(facts, "vm.name_label") == ["web 07"]
    assert _get(facts, "vm.other_config.machine-address-size", VM) == ["36"]
    assert _get(facts, "vm.other_config.note", VM) == ["it's a test"]
    assert _get(facts, "vm.resident_on_name", VM) == ["xs01"]
    assert "11111111-2222-3333-4444-555555555555" not in {f.subject_id for f in facts}
    mem = next(f for f in facts if f.key == "host.memory_total_bytes")
    assert (mem.subject_id, mem.subject_name, mem.lineno) == (HOST, "xs01", 2)


def test_malformed_and_hostile_xml_give_error_rows():
    cut = DB_2019[: DB_2019.index('<table name="host">') + 30]
    facts, errors = _run({"bug-report-20191001120000/xapi-db.xml": cut.encode()})
    assert [e.error_class for e in errors] == ["malformed-xml"]
    assert "line 2" in errors[0].message
    assert _get(facts, "vm.uuid") == [VM]  # rows before the damage are kept
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><database>&a;</database>'
    facts, errors = _run({"bug-report-20191001120000/xapi-db.xml": bomb})
    assert facts == [] and [e.error_class for e in errors] == ["malformed-xml"]
    assert "DOCTYPE" in errors[0].message
    _, errors = _run({"bug-report-20191001120000/xapi-db.xml": b"<html><body/></html>"})
    assert [e.error_class for e in errors] == ["unknown-layout"]


def test_xen_info_units_depend_on_the_file():
    facts, errors = _run(
        {
            "bug-report-20191001120000/xl-info.out": b"host                   : xs9\n"
            b"total_memory           : 64892\nfree_memory            : 1024\n"
            b"xen_version            : 4.13.4-9.24.1\nnr_cpus                : 16\n",
        }
    )
    assert errors == []
    assert _get(facts, "host.memory_total_bytes") == [str(64892 * 1024 * 1024)]
    assert _get(facts, "host.xen_version") == ["4.13.4-9.24.1"]
    facts, _ = _run(
        {
            "bug-report-20090615103000/physinfo.out": b"nr_cpus         : 8\ntotal_memory    : 134209532\n",
            "bug-report-20090615103000/xeninfo.out": b"xen_major        : 3\nxen_minor        : 3\n"
            b"xen_extra        : .1\n",
        }
    )
    assert _get(facts, "host.memory_total_bytes") == [str(134209532 * 1024)]
    assert _get(facts, "host.xen_version") == ["3.3.1"]
    _, errors = _run({"bug-report-20191001120000/xl-info.out": b"this is not xl info\n"})
    assert [e.error_class for e in errors] == ["unknown-layout"]


def test_xen_domain_crash_is_named_through_the_domid_lists():
    facts, errors = _run(
        {
            "bug-report-20191001120000/xapi-db.xml": DB_2019.encode(),
            "bug-report-20191001120000/list_domains.out": (
                f"id |                                 uuid |  state\n 0 | "
                f"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee |     R \n 8 | {VM} |    B  \n"
            ).encode(),
            "bug-report-20191001120000/var/log/xen/hypervisor.log": (
                b"[2019-10-01 11:58:00] (XEN) [526158.312738] domain_crash called from "
                b"arch/x86/hvm/vmx/vmx.c#vmx_msr_write_intercept+0x4c2/0x510\n"
                b"[2019-10-01 11:58:00] (XEN) [526158.312740] Domain 8 (vcpu#1) crashed on cpu#0:\n"
            ),
        }
    )
    assert errors == []
    crash = next(f for f in facts if f.key == "vm.event.crash")
    assert (crash.subject_id, crash.subject_name) == (VM, "web 07")
    assert crash.time == datetime(2019, 10, 1, 11, 58) and crash.lineno == 2
    assert crash.value == "killed by Xen (domid 8)"


def test_xenstore_names_a_vm_the_database_does_not_list():
    facts, _ = _run(
        {
            "bug-report-20191001120000/xenstore-ls-f.out": (
                f'/local/domain/3/vm = "/vm/{VM}"\n/local/domain/3/name = "orphan"\n'
            ).encode(),
            "bug-report-20191001120000/xen-dmesg.out": b"(XEN) Domain 3 reported crashed by domain 0 on cpu#1:\n",
        }
    )
    crash = next(f for f in facts if f.key == "vm.event.crash")
    assert (crash.subject_id, crash.subject_name, crash.time) == (VM, "orphan", None)


def test_a_xencenter_zip_of_several_hosts_keeps_each_hosts_facts_apart():
    """A XenCenter server status report is one zip holding one `bug-report-<ts>/` folder per
    host. Read as one bundle, the inventory read last named the host of every file: host A's
    memory and CPUs were stated of host B, and A had none."""
    a, b = "3b1f7c2e-9d4a-4c11-8e21-0a0b0c0d0e0a", "c4d5e6f7-1a2b-4c3d-8e4f-5a6b7c8d9e0b"

    def report(ts: str, host: str, uuid: str, mib: int) -> dict[str, bytes]:
        root = f"2015-03-02-11-20-00-bugtool-{host}/bug-report-{ts}/"
        return {
            root + "etc/xensource-inventory": f"INSTALLATION_UUID='{uuid}'\n".encode(),
            root + "xl-info.out": (
                f"host                   : {host}\nnr_cpus                : 8\n"
                f"total_memory           : {mib}\nfree_memory            : 512\n"
            ).encode(),
        }

    files = {
        **report("20150302111500", "xs65-a", a, 32767),
        **report("20150302111700", "xs65-b", b, 131071),
    }
    facts, errors = _run(files, bundle="/case/status-report-2015-03-02-11-20-00.zip")
    assert not errors
    assert _get(facts, "host.memory_total_bytes", a) == [str(32767 << 20)]
    assert _get(facts, "host.memory_total_bytes", b) == [str(131071 << 20)]
    for uuid in (a, b):
        assert _get(facts, "host.nr_cpus", uuid) == ["8"]
        assert _get(facts, "host.memory_free_bytes", uuid) == [str(512 << 20)]


def test_a_domain_xen_killed_is_named_by_xapis_line_about_its_crash():
    """XenServer 5.x/6.0: `(XEN) Domain 5 (vcpu#0) crashed` names a domid; the only line
    saying whose it was is xapi's, after it: `VM OpaqueRef:… (domid 5) domain has crashed`
    (its restart then took domid 6, the database's). The crash was filed under `domid:5`."""
    vm, ref, host = VM, "OpaqueRef:7f3c2a10-5d4e-4b6a-9c8d-1e2f3a4b5c6d", "OpaqueRef:h"
    db = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<database><table name="VM">'
        f'<row ref="{ref}" uuid="{vm}" name__label="rhel47" power_state="Running" domid="6" '
        f'is_a_template="false" is_control_domain="false" is_a_snapshot="false" '
        f'resident_on="{host}" other_config="()"/></table>'
        f'<table name="host"><row ref="{host}" uuid="{HOST}" name__label="xs55"/></table>'
        "</database>"
    )
    task = "Locking VM " + ref + " to process a queued event D:1a2b3c4d5e6f"
    log = (
        "[20090615 09:58:44.600|debug|xs55|1300|" + task + "|xapi] VM " + ref + " (domid 5) "
        "domain has crashed; executing actions_after_crash\n"
        "[20090615 09:58:46.000|debug|xs55|1300|" + task + "|xapi] Created domain with domid: 6\n"
    )
    root = "bug-report-20090615103000/"
    files = {
        root + "xapi-db.xml": db.encode(),
        root + "var/log/xensource.log": log.encode(),
        root + "xen-dmesg.out": b"(XEN) domain_crash_sync called from entry.S\n"
        b"(XEN) Domain 5 (vcpu#0) crashed on cpu#3:\n",
    }
    facts, _ = _run(files, bundle="/case/bug-report-20090615103000.tar.bz2")
    killed = [f for f in facts if f.key == "vm.event.crash" and f.value.startswith("killed")]
    assert [(f.subject_id, f.value) for f in killed] == [(vm, "killed by Xen (domid 5)")]
