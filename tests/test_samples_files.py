"""The project's own sample inputs: the archives are current and each file has its promised shape."""

from __future__ import annotations

import gzip
import importlib.util
import tarfile
from pathlib import Path

import pytest
from helpers_facts import SAMPLES


def _make_archives():
    spec = importlib.util.spec_from_file_location("make_archives", SAMPLES / "make_archives.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_archives_are_what_the_script_builds(tmp_path: Path):
    built = _make_archives().build()
    assert built, "make_archives.build() returned nothing"
    for rel, data in built.items():
        committed = SAMPLES / rel
        assert committed.exists(), f"{rel} missing: run python samples/make_archives.py"
        assert committed.read_bytes() == data, (
            f"{rel} is stale: run python samples/make_archives.py"
        )
    # and a second build is byte-identical (fixed mtimes, owners, order)
    assert _make_archives().build() == built


def test_no_input_is_seen_twice():
    """Archive contents live in the script only: no extracted copy lies beside an archive."""
    for archive in SAMPLES.glob("**/*.tar.*"):
        with tarfile.open(archive) as tar:
            tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        for top in tops:
            assert not (archive.parent / top).exists(), f"{top} extracted beside {archive.name}"


def test_status_report_layout():
    with tarfile.open(SAMPLES / "case-xs01/bug-report-20090615103000.tar.bz2") as tar:
        members = tar.getmembers()
        assert all(m.isfile() and m.uname == "root" for m in members)  # bugtool: files only
        db = tar.extractfile("bug-report-20090615103000/xapi-db.xml").read().decode()
        log = tar.extractfile("bug-report-20090615103000/var/log/xensource.log").read().decode()
    lines = db.split("\n")
    assert lines[0].startswith("<?xml") and len(lines) == 2  # one line after the declaration
    assert "%_" in db and "%." not in db  # 2009 space encoding
    assert all(line.startswith("[200906") and "|xs01|" in line for line in log.splitlines())


def test_sosreport_has_root_symlinks_into_sos_commands():
    with tarfile.open(SAMPLES / "sosreport-web07-2009-06-15-abcdefg.tar.xz") as tar:
        links = {m.name.split("/", 1)[1]: m.linkname for m in tar.getmembers() if m.issym()}
        names = {m.name.split("/", 1)[1] for m in tar.getmembers()}
    assert links["uname"] == "sos_commands/kernel/uname_-a"
    assert all(target in names and not target.startswith("/") for target in links.values())


def test_console_log_is_a_crlf_serial_capture_of_a_rhel47_xenu_boot():
    data = (SAMPLES / "rhel47-xenU-console.log").read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")
    assert data.startswith(b"Linux version 2.6.9-78.ELxenU ")
    assert b"(gcc version 3.4.6 " in data and b"Xen reported: " in data and b"XENBUS: " in data
    assert b"\x1b[60G" in data  # initscripts colour the status column on a console
    assert b"Oops" not in data and b"panic" not in data  # a healthy boot


def test_rotated_guest_syslog():
    folder = SAMPLES / "rhel53-guest"
    newest = (folder / "messages").read_text()
    oldest = gzip.decompress((folder / "messages.2.gz").read_bytes()).decode()
    assert "2.6.18-128.el5xen" in newest and "2.6.18-128.el5xen" in oldest
    assert oldest.splitlines()[0].startswith("May 24") and newest.splitlines()[-1].startswith(
        "Jun 14"
    )
    assert (folder / "messages.1").read_text().startswith("May 31")


@pytest.mark.parametrize(
    "rel, must",
    [
        ("case-xs01/guest-rhel47vm.log", ["EFLAGS: 00010246   (2.6.9-78.ELxenU)", "Kernel panic"]),
        (
            "var/crash/127.0.0.1-2011-03-02-14:22:31/vmcore-dmesg.txt",
            [
                "2.6.32-71.el6.x86_64",
                "<1>BUG: unable to handle kernel NULL pointer",
                "<0>Kernel panic",
            ],
        ),
    ],
)
def test_crash_samples_hold_a_whole_report(rel: str, must: list[str]):
    text = (SAMPLES / rel).read_text()
    for m in must:
        assert m in text
