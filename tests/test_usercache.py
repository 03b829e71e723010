"""The user cache: compiled Hyperscan databases and schema markers kept across runs, and a cache
that is damaged, full, unwritable or turned off never changes an answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from triage import hsdb, usercache

hyperscan = pytest.importorskip("hyperscan", reason="the hyperscan package is not installed")

EXPRS = [rb"Linux version \d", rb"Kernel panic", rb"BUG: soft lockup - CPU#\d+"]
TEXT = b"ok\nKernel panic - not syncing\nLinux version 2.6.18\nBUG: soft lockup - CPU#1 stuck\n"


def _hits(db) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    db.scan(TEXT, match_event_handler=lambda i, _s, e, _f, _c: out.append((i, e)))
    return sorted(out)


def test_a_database_comes_back_from_the_cache_and_matches_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    fresh = hsdb.compile_database(EXPRS, [0, 0, 0])
    (entry,) = (tmp_path / hsdb.KIND).iterdir()
    assert entry.stat().st_size > 0
    # another process: loads it (no compile) and finds the same matches
    code = (
        "import hyperscan, sys; from triage import hsdb\n"
        "class NoCompile(hyperscan.Database):\n"
        "    def compile(self, *a, **k): sys.exit('compiled')\n"
        "hyperscan.Database = NoCompile\n"
        f"db = hsdb.compile_database({EXPRS!r}, [0, 0, 0])\n"
        "out = []\n"
        f"db.scan({TEXT!r}, match_event_handler=lambda i, s, e, f, c: out.append((i, e)))\n"
        "print(sorted(out))"
    )
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(_hits(fresh))
    # other flags are another database
    hsdb.compile_database(EXPRS, [hyperscan.HS_FLAG_CASELESS] * 3)
    assert len(list((tmp_path / hsdb.KIND).iterdir())) == 2


def test_a_damaged_entry_is_compiled_again_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    good = _hits(hsdb.compile_database(EXPRS, [0, 0, 0]))
    (entry,) = (tmp_path / hsdb.KIND).iterdir()
    blob = entry.read_bytes()
    for damage in (b"", b"not a database", blob[: len(blob) // 2]):
        entry.write_bytes(damage)
        assert _hits(hsdb.compile_database(EXPRS, [0, 0, 0])) == good
        assert entry.read_bytes() == blob


def test_a_refused_set_raises_and_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    with pytest.raises(hyperscan.error):
        hsdb.compile_database([rb"(a"], [0])
    assert not (tmp_path / hsdb.KIND).exists() or not list((tmp_path / hsdb.KIND).iterdir())


def test_an_unusable_or_disabled_cache_changes_no_answer(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    want = None
    for setting in (str(blocker), ""):
        monkeypatch.setenv("TRIAGE_CACHE_DIR", setting)
        got = _hits(hsdb.compile_database(EXPRS, [0, 0, 0]))
        want = want or got
        assert got == want and len(got) == 3
        assert usercache.read(hsdb.KIND, "x") is None
    assert blocker.read_text() == ""


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(usercache, "MAX_ENTRIES", 4)
    for i in range(10):
        usercache.write("things", f"k{i}", b"%d" % i)
        os.utime(tmp_path / "things" / f"k{i}", (i, i))  # written in this order
    left = sorted(p.name for p in Path(tmp_path / "things").iterdir())
    assert left == ["k6", "k7", "k8", "k9"]
    assert usercache.read("things", "k9") == b"9"


def test_a_folder_others_can_write_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    usercache.write("things", "k", b"kept")
    usercache.write("marks", "m")
    assert usercache.read("things", "k") == b"kept" and usercache.has("marks", "m")
    assert (tmp_path / "things").stat().st_mode & 0o777 == 0o700
    for kind in ("things", "marks"):
        (tmp_path / kind).chmod(0o777)  # anyone could have planted these entries
    assert usercache.read("things", "k") is None and not usercache.has("marks", "m")
    usercache.write("things", "k2", b"new")
    assert not (tmp_path / "things" / "k2").exists()


def test_the_default_folder_follows_xdg_and_ignores_a_relative_one(monkeypatch):
    monkeypatch.delenv("TRIAGE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", "/home/analyst")
    for xdg, want in (("/var/cache/me", "/var/cache/me"), ("", "/home/analyst/.cache")):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert usercache.folder("k") == Path(want) / "triage" / "k"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the spec: ignored
    assert usercache.folder("k") == Path("/home/analyst/.cache/triage/k")
