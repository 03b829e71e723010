"""Member bytes a worker keeps from listing a compressed archive (triage/sources/kept.py).

What matters: reading a source served from the kept bytes gives exactly what reading it from
the archive gives (bytes, errors, truncation), damaged archives included; nothing stale is
served once the archive changed; and nothing outlives the pack that kept it.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from helpers_sources import (
    DMESG_HEAD,
    SYSLOG,
    sosreport_files,
    status_report_files,
    tar_bytes,
    write,
    zip_bytes,
)

import triage
from triage import sources
from triage.limits import DEFAULT_LIMITS
from triage.model import SourceFile
from triage.sources import kept
from triage.sources.listing import DeferredArchive


@pytest.fixture(autouse=True)
def _nothing_kept_between_tests():
    kept.forget()
    yield
    kept.forget()


def _deferred(path: Path) -> DeferredArchive:
    st = path.stat()
    return DeferredArchive(str(path), path.name, st.st_size, st.st_mtime)


def _reads(items: list) -> dict[str, tuple]:
    """Each source's read: its bytes, its errors' classes and whether it was cut."""
    out = {}
    for s in items:
        if isinstance(s, SourceFile):
            r = sources.read_bytes(s)
            out[s.display] = (r.data, [e.error_class for e in r.errors], r.truncated)
    return out


def _listed(items: list) -> list[tuple]:
    return [
        (i.display, i.kind, i.size)
        if isinstance(i, SourceFile)
        else (i.path, i.error_class, i.message)
        for i in items
    ]


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", "zst", "lz4"])
def test_members_read_from_kept_bytes_are_those_read_from_the_archive(
    tmp_path: Path, compression: str
) -> None:
    files, links = sosreport_files()
    files = {**files, **status_report_files("nested/")}
    files["sosreport-web07-2024-03-05-abcdefg/var/log/messages.1.gz"] = gzip.compress(
        SYSLOG, mtime=0
    )
    path = write(tmp_path / f"sos.tar.{compression}", tar_bytes(files, links, compression))

    plain = sources.walk_archive(_deferred(path), DEFAULT_LIMITS)
    expected = _reads(plain)
    assert kept.held() == 0  # a listing that was not asked to keep keeps nothing

    listed = sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
    assert _listed(listed) == _listed(plain)
    assert kept.held() > 0
    assert _reads(listed) == expected
    # one .gz member inside the tar: its kept (compressed) bytes are inflated on reading
    assert any(
        b"kernel:" in data for name, (data, _, _) in expected.items() if "messages.1" in name
    )

    sources.forget_kept()
    assert kept.held() == 0
    assert _reads(listed) == expected  # from the archive again


def test_archives_inside_a_compressed_archive_read_the_same_from_kept_members(
    tmp_path: Path,
) -> None:
    """A tar.gz inside a tar.bz2, and a zip holding a tar inside that: members at every depth
    are served from what the listing kept, with the bytes reading them from the archive gives."""
    inner = tar_bytes(
        {"host/var/log/dmesg": DMESG_HEAD, "host/var/log/messages.1.gz": gzip.compress(SYSLOG)}
    )
    middle = zip_bytes({"case/inner.tar": inner, "case/notes.txt": b"customer says it hangs\n"})
    files = {
        "upload/evidence.zip": middle,
        "upload/host2.tar.gz": tar_bytes({"host2/var/log/messages": SYSLOG}, compression="gz"),
        "upload/kern.log": SYSLOG,
    }
    path = write(tmp_path / "case.tar.bz2", tar_bytes(files, compression="bz2"))
    plain = sources.walk_archive(_deferred(path), DEFAULT_LIMITS)
    expected = _reads(plain)
    listed = sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
    assert _listed(listed) == _listed(plain)
    deep = [s for s in listed if isinstance(s, SourceFile) and len(s.members) >= 2]
    assert len(deep) >= 3
    assert _reads(listed) == expected
    assert kept.held() > 0


@pytest.mark.parametrize("compression", ["gz", "xz"])
def test_a_truncated_archive_lists_and_reads_the_same_with_kept_members(
    tmp_path: Path, compression: str
) -> None:
    """Cut inside a member (first in the archive) or after some: the cut member is listed
    from its head and read up to the damage, with the error, as without keeping; the members
    before the cut are kept whole."""
    big = b"".join(
        b"Mar  4 10:%02d:%02d web07 kernel: line %d of a long log\n" % (i // 60 % 60, i % 60, i)
        for i in range(5000)
    )
    files, links = sosreport_files()
    whole = tar_bytes({"bundle/var/log/big": big, **files}, links, compression)
    damaged_reads = 0
    for frac in (0.1, 0.4, 0.7, 0.95):
        cut = int(len(whole) * frac)
        path = write(tmp_path / f"cut-{cut}.tar.{compression}", whole[:cut])
        plain = sources.walk_archive(_deferred(path), DEFAULT_LIMITS)
        expected = _reads(plain)
        listed = sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
        assert _listed(listed) == _listed(plain), cut
        assert _reads(listed) == expected, cut
        sources.forget_kept()
        damaged_reads += sum(bool(errors) for _, errors, _ in expected.values())
    assert damaged_reads  # some member was read up to the damage


def test_an_archive_changed_since_its_listing_is_read_from_disk(tmp_path: Path) -> None:
    name = "bundle/var/log/messages"
    path = write(tmp_path / "b.tar.gz", tar_bytes({name: SYSLOG}, compression="gz"))
    listed = sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
    (src,) = [s for s in listed if isinstance(s, SourceFile)]
    assert sources.read_bytes(src).data == SYSLOG

    changed = SYSLOG.replace(b"web07", b"web08")
    path.write_bytes(tar_bytes({name: changed}, compression="gz"))
    os.utime(path, ns=(1, 1))  # another mtime, whatever the clock's resolution
    assert sources.read_bytes(src).data == changed


def test_big_members_and_a_full_budget_are_not_kept_but_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"bundle/var/log/messages.{i}": SYSLOG * (i + 1) for i in range(4)}
    path = write(tmp_path / "b.tar.xz", tar_bytes(files, compression="xz"))
    plain = sources.walk_archive(_deferred(path), DEFAULT_LIMITS)
    expected = _reads(plain)

    monkeypatch.setattr(kept, "MEMBER_BYTES", len(SYSLOG) * 2)  # messages.2 and .3: too big
    monkeypatch.setattr(kept, "TOTAL_BYTES", len(SYSLOG) * 2)  # and .1 no longer fits
    listed = sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
    assert kept.held() == len(SYSLOG)  # messages.0 alone in memory
    # the members too large to hold in a temporary file each (.1 would fit, but not in budget)
    assert kept.held_on_disk() == len(SYSLOG) * (3 + 4)
    assert _reads(listed) == expected
    kept.forget()
    assert kept.held() == kept.held_on_disk() == 0
    assert _reads(listed) == expected  # read from the archive again


def test_a_run_keeps_nothing_once_its_packs_are_done(tmp_path: Path) -> None:
    files, links = sosreport_files()
    write(tmp_path / "in" / "sos.tar.xz", tar_bytes(files, links, "xz"))
    summary = triage.ingest([str(tmp_path / "in")], out=str(tmp_path / "ds"))
    assert summary.processed == 1 and summary.counts["lines"] > 0
    assert kept.held() == kept.held_on_disk() == 0


def test_a_member_kept_on_disk_is_read_at_each_readers_place_and_not_after_forget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two readers of one kept temporary file do not move each other; once the pack forgot
    it, a reader left over fails instead of reading another file."""
    monkeypatch.setattr(kept, "MEMBER_BYTES", len(SYSLOG))
    files = {"bundle/var/log/messages": SYSLOG * 5}
    path = write(tmp_path / "b.tar.xz", tar_bytes(files, compression="xz"))
    sources.walk_archive(_deferred(path), DEFAULT_LIMITS, keep=True)
    assert kept.held_on_disk() == len(SYSLOG) * 5
    (key,) = kept._files
    one, two = kept.open_file(key), kept.open_file(key)
    assert one is not None and two is not None
    assert one.read(10) == SYSLOG[:10]
    assert two.read() == SYSLOG * 5
    assert one.read(5) == SYSLOG[10:15]
    one.seek(-3, 2)
    assert one.read() == (SYSLOG * 5)[-3:]
    kept.forget()
    two.seek(0)
    with pytest.raises(ValueError):
        two.read(1)
