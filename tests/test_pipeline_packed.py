"""Small sources parsed together give each source exactly the rows it gets alone.

`pipeline.process_sources` parses small logs of one format in shared engine calls
(`parsers/packed.py`) and `batch.worker` processes the sources of a whole pack in one such call. The
files here are chosen so that what depends on the file would leak across a file boundary if it
were computed over the concatenation: syslog years (rotation dates, mtimes, a Dec→Jan wrap at
the end of one file and a January start of the next), header-less lines at the start of a file
after a file ending with a kept line, CRLF and CR-only line ends, a last line without its
terminator, over-long lines, control bytes and invalid UTF-8, empty files, crash reports and
banners (boots, crashes, findings), and a source too large to be packed.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from helpers_dataset import dataset_rows

import triage
from triage import match, parsers, pipeline, sources
from triage.batch import units as units_mod
from triage.batch.sigset import load_signature_set
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import SourceFile
from triage.parsers import literals

ROOT = Path(__file__).resolve().parents[1]
SIGNATURES = ROOT / "samples" / "signatures"
JUN_2009 = 1245061265


def _syslog(month: str, host: str, texts: list[str], tag: str = "kernel") -> bytes:
    return b"".join(
        f"{month} {i % 28 + 1:2d} 10:00:{i % 60:02d} {host} {tag}: {t}\n".encode()
        for i, t in enumerate(texts)
    )


def _write(root: Path, name: str, data: bytes, mtime: float | None = JUN_2009) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _mixed(root: Path) -> Path:
    """Small logs of every shape whose rows depend on their own file."""
    dec = b"".join(
        f"Dec 31 23:59:{s:02d} web01 kernel: eth0: link up {s}\n".encode() for s in range(50, 60)
    )
    # a New Year inside the file, the year from the rotation date
    _write(root, "a/messages-20240103", dec + _syslog("Jan", "web01", ["after midnight"] * 3))
    # one file ends in December with a kept line, the next starts in January (after header-less
    # lines) and ends there, the next starts in December again: no file's months are another's
    _write(root, "f/1.log", dec)
    _write(root, "f/2.log", b"  header-less head\n\tmore of it\n" + _syslog("Jan", "w", ["1st"]))
    _write(root, "f/3.log", dec)
    _write(
        root,
        "b/messages",
        b"  continued from a rotated file\n"
        + _syslog("Jun", "web07", ["BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]"])
        + b"  header-less continuation of a kernel line\n"
        + _syslog("Jun", "web07", ["(root) CMD (run-parts)"], tag="crond[99]")
        + b"  continuation of a dropped line\nJun 15 10:00:02 web07 -- MARK --\n"
        + b"Jun 15 10:00:03 web07 kernel: <4>[  12.345678] printk time inside\n",
    )
    _write(
        root, "b/messages.1", _syslog("Feb", "h1", ["crlf one", "crlf two"]).replace(b"\n", b"\r\n")
    )
    _write(
        root, "b/messages.2", b"Feb 29 10:00:02 h1 kernel: not a leap year\r\r\n", mtime=1300000000
    )
    long_line = b"Mar  1 10:00:01 h2 kernel: " + b"x" * 70_000 + "é".encode() * 10 + b"\n"
    _write(
        root,
        "b/syslog",
        _syslog("Mar", "h2", ["short"]) + long_line + b"Mar  1 10:00:03 h2 kernel: no newline",
    )
    _write(root, "c/dmesg.0", b"[    1.000000] ends with a header line\n")
    _write(
        root,
        "c/dmesg.1",
        b"  starts header-less\n[    0.000000] Linux version 2.6.32-431.el6.x86_64 (mockbuild@"
        b"x86-023.build.eng.bos.redhat.com) (gcc version 4.4.7) #1 SMP\n"
        b"[   12.000000] BUG: unable to handle kernel NULL pointer dereference at 0000000000000004\n"
        b"[   12.000001] IP: [<ffffffffa0123456>] network_connect+0x118/0x2f0 [xennet]\n"
        b"[    0.100000] clock restarted\n",
    )
    _write(
        root,
        "c/dmesg.2",
        b"[    5.0] \x00\x1b[31mred\x1b[0m control\n[    6.0] caf\xc3\xa9 bad \xff\n",
    )
    _write(
        root,
        "c/console-cr.log",
        b"Linux version 2.6.9-78.ELxenU (brewbuilder@x) (gcc) #1 SMP\rFreeing unused memory\r",
    )
    _write(root, "c/empty.log", b"")
    _write(root, "c/newline.log", b"\n")
    _write(root, "c/guest-vm1.log", (ROOT / "samples" / "rhel47-xenU-console.log").read_bytes())
    _write(root, "d/kern.log.gz", gzip.compress(_syslog("Jul", "z", ["from a gzip file"] * 5)))
    big = _syslog("Aug", "big", [f"line {i} of a source too large to pack" for i in range(24_000)])
    assert len(big) > parsers.PACKED_SOURCE_BYTES
    _write(root, "d/big.log", big)
    for i, case in enumerate(sorted(SIGNATURES.iterdir())[:6]):
        for f in sorted(case.iterdir()):
            _write(root, f"e/{case.name}-{f.name}", f.read_bytes(), mtime=JUN_2009 + i)
    return root


def _walked(root: Path, limits: Limits) -> list[SourceFile]:
    return [s for s in sources.walk([str(root)], limits) if isinstance(s, SourceFile)]


def _records(res: pipeline.SourceResult) -> dict[str, object]:
    return {
        "row": res.source_row(),
        "lines": res.lines.to_pylist(),
        "boots": res.boots,
        "crashes": res.crashes,
        "facts": res.facts,
        "findings": res.findings,
        "errors": res.errors,
    }


def _holding_signature(root: Path) -> Path:
    """A signature folder whose one signature holds on any source without a given line: its
    evidence holds on a blank unit, so that no source can be settled without evaluating it."""
    text = (ROOT / "signatures" / "xen-rhel" / "xfs-panic.yaml").read_text()
    head, rest = text.split("evidence:", 1)
    rest = rest[rest.index("confidence:") :]
    rest = rest[: rest.index("tests:")].replace(
        "  rules:\n    - level: high\n      when: [xfs_error_then_panic]\n", "  rules:\n"
    )
    rest = rest.replace(
        "      reason: XFS internal error or forced shutdown followed by a panic, on an "
        "affected kernel\n",
        "",
    ).replace("  rules:\n", "  rules: []\n")
    doc = (
        head.replace("id: xen-rhel/xfs-panic", "id: mine/without-a-line")
        + "evidence:\n  not:\n    line: {pattern: 'a line no log prints'}\n"
        + rest
        + "tests:\n  match:\n    - {path: samples/signatures/xfs-panic/pos-console-rhel5.log}\n"
        + "  no_match:\n    - {path: samples/signatures/xfs-panic/neg-rhel54-xfs.log}\n"
    )
    folder = root / "sigs" / "mine"
    folder.mkdir(parents=True)
    (folder / "without-a-line.yaml").write_text(doc)
    return root / "sigs"


@pytest.mark.parametrize("max_line_bytes", [DEFAULT_LIMITS.max_line_bytes, 100])
@pytest.mark.parametrize("keep", ["all", "relevant"])
@pytest.mark.parametrize("holding", [False, True])
def test_sources_processed_together_match_each_alone(
    tmp_path: Path, keep: str, max_line_bytes: int, holding: bool
) -> None:
    limits = Limits(max_line_bytes=max_line_bytes)
    root = _mixed(tmp_path / "logs")
    srcs = _walked(root, limits)
    sigset = load_signature_set([str(_holding_signature(tmp_path))] if holding else [], limits)
    together = pipeline.process_sources([(s, [], "") for s in srcs], sigset, keep, limits)
    alone = [pipeline.process_source(s, [], sigset, keep, limits) for s in srcs]
    assert len(together) == len(alone) == len(srcs)
    for a, b in zip(together, alone, strict=True):
        assert _records(a) == _records(b), a.source.display
    # the cases the files were made for did come up
    lines = {Path(r.source.disk_path).relative_to(root).as_posix(): r.lines for r in alone}
    assert sum(r.line_count for r in alone) > 24_000
    assert any(e.error_class == "limit-line-bytes" for r in alone for e in r.errors)
    assert any(r.crashes for r in alone) and any(r.findings for r in alone)
    held = sum(any(f.signature_id == "mine/without-a-line" for f in r.findings) for r in alone)
    assert held > 10 if holding else held == 0
    if keep == "all":
        years = lines["a/messages-20240103"].column("timestamp").to_pylist()
        assert (years[0].year, years[-1].year) == (2023, 2024)
        assert lines["f/2.log"].num_rows == 1  # its header-less head is dropped
        # written in June 2009: its January is 2009's, its December 2008's
        for name, year in (("f/1.log", 2008), ("f/2.log", 2009), ("f/3.log", 2008)):
            assert {t.year for t in lines[name].column("timestamp").to_pylist()} == {year}
        assert lines["c/dmesg.1"].column("flags").to_pylist()[0] == 0  # not a continuation


def test_small_logs_of_one_group_hold_their_rows_in_one_table(tmp_path: Path) -> None:
    """Each Arrow table costs ~7 KB of column objects: the tiny logs of one unit are held as
    one table per run of neighbours, never across units, with the same rows in order."""
    root = tmp_path / "many"
    for i in range(3000):
        (root / f"h{i:04d}").mkdir(parents=True)
        line = f"Jun 15 10:21:{i % 60:02d} web{i % 7} kernel: EXT3 FS on xvda1, internal journal\n"
        (root / f"h{i:04d}" / "messages").write_text(line * 3)
    srcs = sorted(_walked(root, DEFAULT_LIMITS), key=lambda s: s.path)
    jobs = [(s, [], "") for s in srcs]
    groups = [0] * 1000 + [1] * 2000
    held = pipeline.process_sources(jobs, None, "all", DEFAULT_LIMITS, groups=groups)
    alone = pipeline.process_sources(jobs, None, "all", DEFAULT_LIMITS)
    assert sum(r.lines.num_rows > 0 for r in alone) == 3000
    tables = [k for k, r in enumerate(held) if r.lines.num_rows]
    assert len(tables) <= 4  # a run per batch of pending logs, per group
    for unit in (range(0, 1000), range(1000, 3000)):
        mine = [held[k].lines for k in unit]
        want = [alone[k].lines for k in unit]
        assert pa.concat_tables(mine).equals(pa.concat_tables(want))
    # the per-source counts stay the sources' own
    assert [r.line_count for r in held] == [r.line_count for r in alone]


def test_parse_many_gives_each_source_its_own_parse(tmp_path: Path) -> None:
    srcs = _walked(_mixed(tmp_path / "logs"), DEFAULT_LIMITS)
    items = [(s, sources.read_bytes(s, DEFAULT_LIMITS).data) for s in srcs]
    many = parsers.parse_many(items)
    for (src, data), got in zip(items, many, strict=True):
        want = parsers.parse(src, data)
        assert got.lines.equals(want.lines), src.display
        assert (got.errors, got.partial) == (want.errors, want.partial), src.display


def test_a_pack_of_files_has_the_rows_of_its_files_each_in_its_own_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = _mixed(tmp_path / "logs")
    together = str(tmp_path / "together")
    summary = triage.ingest([str(logs)], out=together)
    assert summary.processed == summary.units > 20
    assert len(triage.open_dataset(together).manifest["parts"]) < summary.units
    monkeypatch.setattr(units_mod, "PACK_UNITS", 1)  # one unit per pack, parsed alone
    alone = str(tmp_path / "alone")
    triage.ingest([str(logs)], out=alone)
    assert len(triage.open_dataset(alone).manifest["parts"]) == summary.units
    got, want = dataset_rows(together), dataset_rows(alone)
    for name, df in got.items():
        pd.testing.assert_frame_equal(df, want[name], obj=name)
    assert len(got["lines"]) > 24_000 and len(got["findings"]) > 0


def test_gates_and_matches_inside_a_shared_region_are_those_of_each_column(
    tmp_path: Path,
) -> None:
    """A region answers for its columns (literals absent from all of them, a pattern run over
    all of them at once) exactly as each column would answer alone."""
    root = tmp_path / "logs"
    for i in range(12):  # most columns ask for the common pattern, a few hold the rare one
        texts = [f"eth{i}: link up", "Disabled Privacy Extensions"]
        if i % 5 == 0:
            texts.append("BUG: soft lockup - CPU#0 stuck for 10s! [x:1]")
        _write(root, f"host{i:02d}.log", _syslog("Jun", f"h{i}", texts))
    srcs = _walked(root, DEFAULT_LIMITS)
    parsed = parsers.parse_many([(s, sources.read_bytes(s, DEFAULT_LIMITS).data) for s in srcs])
    columns = [p.lines.column("text") for p in parsed]
    sigset = load_signature_set([], DEFAULT_LIMITS)
    patterns = sorted(set(match.anchor_patterns(sigset)))
    patterns += [r"^\w+\s", r"eth\d+: link", r"soft lockup", r"Disabled \w+"]  # the 1st: no literal
    # the second gate's literal is in no column: the region answers for all of them
    gates = [literals.gate_for(tuple(patterns)), literals.gate_for((r"^\w+\s", "Kernel panic"))]
    alone = [
        (
            [g.possible(c) for g in gates],
            [pc.match_substring_regex(c, p).to_pylist() for p in patterns[-3:]],
        )
        for c in columns
    ]
    with literals.shared_region(columns):
        shared = []
        for _ in range(2):  # the second round is served by the region's passes
            shared = [
                (
                    [g.possible(c) for g in gates],
                    [literals.region_matches(c, p) for p in patterns[-3:]],
                )
                for c in columns
            ]
    assert any(m is not None for _, ms in shared for m in ms)
    for (want_gate, want_masks), (got_gate, got_masks) in zip(alone, shared, strict=True):
        assert got_gate == want_gate
        for want, got in zip(want_masks, got_masks, strict=True):
            assert got is None or got.tolist() == [bool(x) for x in want]


def test_a_column_is_quiet_when_no_row_matches_any_pattern_and_that_can_be_told(
    tmp_path: Path,
) -> None:
    """`quiet_columns` says which columns of a region no pattern matches in any row, as each
    column's own RE2 passes would; a column it cannot tell about (a look-behind that may
    match, no region) is not called quiet."""
    root = tmp_path / "logs"
    for i in range(8):
        texts = [f"eth{i}: link up", "Disabled Privacy Extensions"]
        if i % 3 == 0:
            texts.append(f"BUG: soft lockup - CPU#{i} stuck for 10s! [x:1]")
        _write(root, f"host{i:02d}.log", _syslog("Jun", f"h{i}", texts))
    srcs = _walked(root, DEFAULT_LIMITS)
    parsed = parsers.parse_many([(s, sources.read_bytes(s, DEFAULT_LIMITS).data) for s in srcs])
    columns = [p.lines.column("text") for p in parsed]
    patterns = [r"soft lockup - CPU#\d+", r"Kernel panic", r"^\w+ stuck"]

    def alone(column: pa.ChunkedArray) -> bool:
        return not any(any(pc.match_substring_regex(column, p).to_pylist()) for p in patterns)

    want = [alone(c) for c in columns]
    assert want.count(True) == 5 and want.count(False) == 3
    assert literals.quiet_columns(columns, patterns) == [False] * 8  # outside a region
    with literals.shared_region(columns):
        assert literals.quiet_columns(columns, patterns) == want
        assert literals.quiet_columns(columns, [*patterns, r"(?<=eth)\d"]) == [False] * 8


def test_the_last_dated_line_found_from_the_end_is_the_last_one_found_from_the_start() -> None:
    """`sampled_wraps` reads the month of a file's last dated line from its end."""
    import random

    from triage.parsers import timestamps, years

    def from_start(tail: bytes) -> tuple[int, int] | None:
        found = list(years._BSD_AT_LINE.finditer(tail))
        month = timestamps.month_of(found[-1].group(1)) if found else 0
        return (month, int(found[-1].group(2))) if month else None

    rnd = random.Random(3)
    pieces = [
        b"\n",
        b"\n\n",
        b"x",
        b" ",
        b"\r\n",
        b"Jan  1 10:",
        b"Dec 31 23:",
        b"Feb 3 1:",
        b"Abc 12 10:",
    ]
    for _ in range(5000):
        tail = b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(0, 16)))
        assert years.last_bsd_day(tail) == from_start(tail), tail


def test_years_of_rows_of_many_files_are_those_each_file_gets_alone() -> None:
    import random

    import numpy as np

    from triage.parsers import timestamps

    rnd = random.Random(7)
    for _ in range(300):
        sizes = [rnd.randrange(0, 12) for _ in range(rnd.randrange(1, 6))]
        months = [np.array([rnd.choice([1, 2, 6, 11, 12]) for _ in range(k)]) for k in sizes]
        valid = [np.array([rnd.random() < 0.7 for _ in range(k)], dtype=bool) for k in sizes]
        first = np.array([rnd.choice([2009, 2023]) - rnd.randrange(0, 2) for _ in sizes])
        seg = np.repeat(np.arange(len(sizes)), sizes)
        got = timestamps.segment_years(
            np.concatenate(months).astype(np.int64), np.concatenate(valid), seg, first
        )
        want = [
            timestamps.SyslogYears(int(y), 0).assign(m.astype(np.int64), v)
            for y, m, v in zip(first, months, valid, strict=True)
        ]
        assert got.tolist() == np.concatenate([np.zeros(0, np.int64), *want]).tolist()
