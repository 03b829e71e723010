"""A rerun takes the heads of unchanged loose files as read (batch/heads.py): the walk lists the
same sources without opening them, reads again what changed, and forgets what is gone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers_sources import DMESG_HEAD, SYSLOG, compress, tar_bytes, write

import triage
from triage import sources
from triage.batch import heads as heads_mod
from triage.limits import DEFAULT_LIMITS, Limits
from triage.sources import walker

ROOT = Path(__file__).resolve().parents[1]


def _case(root: Path) -> Path:
    """Loose files of every sort the walk reads a head of: logs of three kinds, a rotated set,
    a compressed log, a config file, an empty file, binary data, and an archive beside them."""
    write(root / "var/log/messages", SYSLOG)
    write(root / "var/log/messages.1", SYSLOG)
    write(root / "var/log/messages.2.gz", compress(SYSLOG, "gz"))
    write(root / "dmesg", DMESG_HEAD)
    write(root / "console.log", (ROOT / "samples" / "rhel47-xenU-console.log").read_bytes())
    write(root / "xensource-inventory", b"INSTALLATION_UUID='0b6c1c36'\n")
    write(root / "empty.log", b"")
    write(root / "blob.bin", bytes(range(256)) * 64)
    write(root / "b.tar.gz", tar_bytes({"b/var/log/messages": SYSLOG}, compression="gz"))
    return root


class _Probes:
    """Counts the files on disk whose heads the walk reads (the real probe runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real = walker.probe

        def counted(fh, *args, **kwargs):
            name = getattr(fh, "name", None)
            if isinstance(name, str):  # an archive's members have none
                self.paths.append(os.path.basename(name))
            return real(fh, *args, **kwargs)

        monkeypatch.setattr(walker, "probe", counted)

    def take(self) -> list[str]:
        out, self.paths[:] = sorted(self.paths), []
        return out


def test_a_walk_with_known_heads_lists_the_same_sources_without_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _case(tmp_path / "case")
    probes = _Probes(monkeypatch)
    for defer in (True, False):
        first = sources.Heads()
        fresh = list(sources.walk([str(root)], DEFAULT_LIMITS, defer_archives=defer, heads=first))
        read = probes.take()
        assert "messages" in read and "blob.bin" in read
        # every readable loose file is noted (the archive, deferred or listed, is not)
        assert {Path(p).name for p in first.seen} == {
            "messages", "messages.1", "messages.2.gz", "dmesg", "console.log", "xensource-inventory",
            "empty.log", "blob.bin",
        }  # fmt: skip
        again = sources.Heads(known=dict(first.seen))
        known = list(sources.walk([str(root)], DEFAULT_LIMITS, defer_archives=defer, heads=again))
        assert known == fresh
        assert again.seen == first.seen
        # only the archive is opened again: what it is is known from `known_archives`
        assert probes.take() == ["b.tar.gz"]
    kinds = {Path(s.path).name: s.kind for s in fresh if isinstance(s, triage.model.SourceFile)}
    assert kinds["messages.2.gz"] == kinds["messages"] == "syslog"
    assert kinds["xensource-inventory"] == "config" and kinds["blob.bin"] == "unknown"
    rotations = {Path(s.path).name: s.rotation for s in known if hasattr(s, "rotation")}
    assert rotations["messages.1"] == 1 and rotations["messages.2.gz"] == 2


def test_a_file_named_directly_is_taken_as_read_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = write(tmp_path / "messages.gz", compress(SYSLOG, "gz"))
    probes = _Probes(monkeypatch)
    first = sources.Heads()
    fresh = list(sources.walk([str(log)], heads=first))
    assert probes.take() == ["messages.gz"]
    again = list(sources.walk([str(log)], heads=sources.Heads(known=first.seen)))
    assert again == fresh and probes.take() == []
    assert fresh[0].kind == "syslog" and fresh[0].members == ("",)


def test_a_changed_file_is_read_again_and_may_change_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _case(tmp_path / "case")
    first = sources.Heads()
    list(sources.walk([str(root)], heads=first))
    probes = _Probes(monkeypatch)
    write(root / "dmesg", SYSLOG)  # another size
    same_size = root / "var/log/messages.1"
    st = same_size.stat()
    write(same_size, DMESG_HEAD[: st.st_size].ljust(st.st_size, b"\n"))
    os.utime(same_size, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # another mtime
    again = sources.Heads(known=first.seen)
    walked = {Path(s.path).name: s for s in sources.walk([str(root)], heads=again)}
    assert probes.take() == ["b.tar.gz", "dmesg", "messages.1"]
    assert walked["dmesg"].kind == "syslog"
    assert walked["messages.1"].kind == "dmesg"
    assert again.seen[str(root / "dmesg")].size == len(SYSLOG)


def test_the_manifest_entry_round_trips_and_refuses_what_it_cannot_trust(tmp_path: Path) -> None:
    seen = sources.Heads()
    list(sources.walk([str(_case(tmp_path / "case"))], heads=seen))
    entry = heads_mod.heads_entry(seen.seen, "k1")
    assert len(entry["analyses"]) < len(entry["files"])  # the two plain syslogs share one
    stored = json.loads(json.dumps(entry))
    assert heads_mod.known_heads({"heads": stored}, "k1") == seen.seen
    assert heads_mod.known_heads({"heads": stored}, "k2") == {}  # other rules or settings
    assert heads_mod.known_heads({}, "k1") == {}
    stored["analyses"] = stored["analyses"][:1]  # damaged: an index points nowhere
    assert heads_mod.known_heads({"heads": stored}, "k1") == {}
    assert heads_mod.heads_key("a") != heads_mod.heads_key("b")


def _manifest_heads(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["heads"]["files"]


def test_a_rerun_reads_no_unchanged_head_and_forgets_deleted_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _case(tmp_path / "case")
    other = write(tmp_path / "other" / "messages", SYSLOG).parent
    out = tmp_path / "ds"
    triage.ingest([str(root), str(other)], out=str(out))
    assert str(other / "messages") in _manifest_heads(out)
    probes = _Probes(monkeypatch)
    rerun = triage.ingest([str(root)], out=str(out))
    assert rerun.processed == 0 and probes.take() == []
    (root / "dmesg").unlink()
    gone = triage.ingest([str(root)], out=str(out))
    assert probes.take() == [] and gone.processed == 0
    kept = _manifest_heads(out)
    assert str(root / "dmesg") not in kept
    assert str(root / "xensource-inventory") in kept
    assert str(other / "messages") in kept  # another input's heads stay
    # --force reads every head again, and other settings do not take the kept ones
    triage.ingest([str(root)], out=str(out), force=True)
    assert "messages" in probes.take()
    triage.ingest([str(root)], out=str(out), limits=Limits(max_file_bytes=1 << 30))
    assert "xensource-inventory" in probes.take()
