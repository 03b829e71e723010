"""Every fact the samples state, checked against the line it cites; links between guest and VM."""

from __future__ import annotations

from datetime import datetime

import pytest
from helpers_facts import SAMPLES, sources_of

from triage.parsers.bundle_facts import bundle_facts, documented_keys

HOST = "7c3e2f1a-5b8d-4e6f-9a21-3d4c5b6a7e80"
RHEL47 = "5e1f4a2b-8c3d-4f6e-b7a9-0c1d2e3f4a5b"
RHEL45 = "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d"


@pytest.fixture(scope="module")
def run():
    sources, read = sources_of(SAMPLES, skip=("signatures",))  # the signatures helper's own
    facts, errors = bundle_facts(sources, read)
    by_display = {s.display: s for s in sources}
    return facts, errors, by_display, read


def _vals(facts, key, subject=None):
    return [f.value for f in facts if f.key == key and (subject in (None, f.subject_id))]


def test_the_done_when_questions_are_answered(run):
    facts, errors, _, _ = run
    assert errors == []
    # the host's memory (physinfo.out is KiB; a 5.5 database has no host_metrics)
    assert _vals(facts, "host.memory_total_bytes", HOST) == [str(134209532 * 1024)]
    assert _vals(facts, "host.xen_version", HOST) == ["3.3.1"]
    # each VM's uuid, name and other-config flags; the template and dom0 are not VMs
    assert sorted(_vals(facts, "vm.uuid")) == sorted([RHEL47, RHEL45])
    assert _vals(facts, "vm.name_label", RHEL47) == ["rhel47vm"]
    assert _vals(facts, "vm.other_config.machine-address-size", RHEL47) == ["36"]
    assert _vals(facts, "vm.other_config.suppress-spurious-page-faults", RHEL45) == ["true"]
    assert _vals(facts, "vm.other_config.machine-address-size", RHEL45) == []
    assert _vals(facts, "vm.name_description", RHEL45) == ["Billing DB  (do not reboot)"]
    # the last migration before the guest crash
    last = [f for f in facts if f.key == "vm.crash.last_migrate"]
    assert [(f.subject_id, f.value) for f in last] == [
        (RHEL47, "pool_migrate done at 2009-06-15 09:58:41.877000, 2 s before the crash")
    ]
    assert last[0].time == datetime(2009, 6, 15, 9, 58, 44, 520000)


def test_events_of_the_status_report(run):
    facts, _, _, _ = run
    ev = [
        (f.key, f.value, f.time.strftime("%H:%M:%S"))
        for f in facts
        if f.subject_id == RHEL47 and f.key.startswith("vm.event.")
    ]
    assert ev == [
        ("vm.event.start", "start requested", "09:31:05"),
        (
            "vm.event.start_failed",
            "HOST_NOT_ENOUGH_FREE_MEMORY required_bytes=1074790400 available_bytes=536870912",
            "09:31:05",
        ),
        ("vm.event.start", "start requested on xs02", "09:33:17"),
        ("vm.event.migrate", "pool_migrate start to xs01", "09:58:12"),
        ("vm.event.domid", "14", "09:58:14"),
        ("vm.event.migrate", "pool_migrate done", "09:58:41"),
        ("vm.event.crash", "crashed (guest-internal)", "09:58:44"),
        ("vm.event.domid", "15", "09:58:46"),
    ]


def test_guest_logs_are_linked_to_their_vm_and_say_how(run):
    facts, _, _, _ = run
    links = {
        (f.subject_id, f.value, m.value)
        for f in facts
        if f.key == "link.source"
        for m in facts
        if m.key == "link.method" and m.source_path == f.source_path
    }
    assert links == {
        (RHEL47, f"{SAMPLES}/case-xs01/guest-rhel47vm.log", "console-file-name"),
        (RHEL45, f"{SAMPLES}/case-xs01/rhel45vm/messages", "syslog-hostname"),
    }


def test_a_console_log_named_by_the_vm_uuid_is_linked_to_that_vm(tmp_path):
    """xenconsoled names a console log after the domain's name, which a toolstack may set to
    the VM's uuid rather than its name_label: the uuid names the VM as surely."""
    import shutil

    case = tmp_path / "case"
    case.mkdir()
    shutil.copy(f"{SAMPLES}/case-xs01/bug-report-20090615103000.tar.bz2", case)
    guest = case / f"guest-{RHEL47}.log"
    shutil.copy(f"{SAMPLES}/case-xs01/guest-rhel47vm.log", guest)
    sources, read = sources_of(case)
    facts, errors = bundle_facts(sources, read)
    linked = [(f.subject_id, f.value) for f in facts if f.key == "link.source"]
    assert linked == [(RHEL47, str(guest))]
    assert not [e for e in errors if e.error_class.startswith("guest-")]


def test_a_loose_kdump_directory_states_its_crash_once(tmp_path):
    """Each loose file of an unpacked /var/crash/<ip>-<date>/ is a unit of its own: the crash
    the directory records is one fact, cited from its vmcore-dmesg.txt, not one per file."""
    import shutil

    import triage

    crash = tmp_path / "var" / "crash" / "127.0.0.1-2011-03-02-14:22:31"
    crash.mkdir(parents=True)
    dmesg = crash / "vmcore-dmesg.txt"
    shutil.copy(f"{SAMPLES}/var/crash/127.0.0.1-2011-03-02-14:22:31/vmcore-dmesg.txt", dmesg)
    (crash / "kexec-dmesg.log").write_bytes(dmesg.read_bytes()[:2000])
    (crash / "vmcore-incomplete").write_bytes(b"\0" * 4096)
    for jobs in (1, 2):
        out = tmp_path / f"ds{jobs}"
        triage.ingest([str(tmp_path / "var")], out=str(out), jobs=jobs)
        facts = triage.open_dataset(str(out)).facts
        got = facts[facts.key == "host.kdump_crash"]
        assert got.source_path.tolist() == [str(dmesg)], jobs


def test_sosreport_and_kdump_facts(run):
    facts, _, _, _ = run
    web = "web07.example.com"
    assert _vals(facts, "host.kernel_release", web) == ["2.6.18-128.1.6.el5.xs5.5.0.14xen"]
    assert _vals(facts, "host.arch", web) == ["i686"]
    kernels = [f for f in facts if f.key == "host.kernel_installed"]
    assert [k.value for k in kernels] == [
        "kernel-2.6.18-128.el5.i686",
        "kernel-xen-2.6.18-128.el5.i686",
        "kernel-xen-2.6.18-128.1.6.el5.xs5.5.0.14.i686",
    ]
    assert kernels[2].time == datetime(2009, 6, 2, 15, 12, 41)
    kd = [f for f in facts if f.key == "host.kdump_crash"]
    assert [(f.value, f.time) for f in kd] == [
        ("127.0.0.1-2011-03-02-14:22:31", datetime(2011, 3, 2, 14, 22, 31))
    ]


def test_every_fact_cites_a_line_that_states_it(run):
    """Generic: the cited line holds the value (or its raw form: KiB, encoded spaces)."""
    facts, _, by_display, read = run
    derived = {"host.is_bundle_host", "vm.crash.last_migrate", "host.kdump_crash"}
    checked = 0
    for f in facts:
        if f.key.startswith("link.") or f.key in derived:
            continue
        assert f.lineno, f
        line = read(by_display[f.source_path]).decode().splitlines()[f.lineno - 1]
        raw = {
            f.value,
            f.value.replace("  ", "%_"),
        }
        if f.value.isdigit():
            raw |= {str(int(f.value) // 1024), str(int(f.value) // 1024**2)}
        if f.key.startswith("vm.event."):
            raw.add(f.value.split()[0])  # the API or error name the line carries
        if f.key == "host.xen_version":
            raw.add("xen_major")
        assert any(r and r in line for r in raw), (f, line)
        checked += 1
    assert checked > 60


def test_every_emitted_key_is_documented(run):
    facts, _, _, _ = run
    keys = {d["key"] for d in documented_keys()}
    for k in {f.key for f in facts}:
        assert k in keys or any(p.endswith(".*") and k.startswith(p[:-1]) for p in keys), k
    for d in documented_keys():
        assert set(d) == {"key", "subject", "unit", "meaning"} and d["subject"] in ("host", "vm")


def test_a_kdump_directory_copied_on_windows_states_its_crash(tmp_path):
    """Windows (and so a XenCenter zip) writes each `:` of `10.0.0.7-2015-02-28-23:11:05` as
    `_`: the layout was recognised but its crash made no fact."""
    import shutil

    import triage
    from triage.parsers.sos_facts import kdump_crash_time

    assert kdump_crash_time("var/crash/fe80__1-2015-02-28-23_11_05/vmcore") == (
        "fe80__1-2015-02-28-23_11_05",
        "fe80::1",
        datetime(2015, 2, 28, 23, 11, 5),
    )
    crash = tmp_path / "var" / "crash" / "10.0.0.7-2015-02-28-23_11_05"
    crash.mkdir(parents=True)
    shutil.copy(
        f"{SAMPLES}/var/crash/127.0.0.1-2011-03-02-14:22:31/vmcore-dmesg.txt",
        crash / "vmcore-dmesg.txt",
    )
    out = tmp_path / "ds"
    triage.ingest([str(tmp_path / "var")], out=str(out))
    facts = triage.open_dataset(str(out)).facts
    got = facts[facts.key == "host.kdump_crash"]
    assert got[["value", "time"]].values.tolist() == [
        ["10.0.0.7-2015-02-28-23_11_05", datetime(2015, 2, 28, 23, 11, 5)]
    ]
