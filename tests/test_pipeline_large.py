"""The large-source path (prefilter windows) gives the same answers as reading the source whole."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from triage import pipeline
from triage.model import SourceFile
from triage.pipeline import anchors, windows
from triage.prefilter import hyperscan_available

ROOT = Path(__file__).resolve().parent.parent
# the benchmark generator's realistic RHEL 5 Xen guest lines and its planted soft lockup
sys.path.insert(0, str(ROOT / "bench"))
from synth import BANNER, NOISE  # noqa: E402
from synth import CRASH as LOCKUP  # noqa: E402

OOPS = [
    "Unable to handle kernel paging request at virtual address f7c3a000",
    " printing eip:",
    "c04e5b6f",
    "*pde = 00000000",
    "Oops: 0002 [#1]",
    "SMP ",
    "Modules linked in: xennet xenblk",
    "CPU:    0",
    "EIP:    0061:[<c04e5b6f>]    Not tainted VLI",
    "EFLAGS: 00010246   (2.6.18-128.el5xen #1) ",
    "EIP is at network_connect+0x1f/0x300 [xennet]",
    "Call Trace:",
    " [<c0549d6e>] backend_changed+0x1a0/0x1c0",
    " [<c0548c1e>] xenbus_probe+0x1e/0x40",
    "Code: 8b 45 08 89 04 24 e8 fc ff ff ff 85 c0",
    "EIP: [<c04e5b6f>] network_connect+0x1f/0x300 [xennet] SS:ESP 0069:ed4cbf28",
    " <0>Kernel panic - not syncing: Fatal exception",
]


def make_log(path: Path, size: int, seed: int = 3) -> Path:
    rnd = random.Random(seed)
    out: list[str] = []
    t = 0.0
    total = 0
    events = ["lockup", "oops", "xenbus", "boot", "sysrq", "lockup"]
    every = size // (len(events) + 1)
    next_event = every
    out.append(f"[    0.000000] {BANNER}")
    while total < size:
        t += rnd.random() * 0.05
        line = f"[{t:12.6f}] {NOISE[rnd.randrange(len(NOISE))]}"
        out.append(line)
        total += len(line) + 1
        if total >= next_event and events:
            ev = events.pop(0)
            next_event += every
            if ev == "lockup":
                out.extend(f"[{t:12.6f}] {x}" for x in LOCKUP)
            elif ev == "oops":
                out.extend(f"[{t:12.6f}] {x}" for x in OOPS)
            elif ev == "xenbus":
                out.append(f"[{t:12.6f}] XENBUS: Timeout connecting to devices!")
            elif ev == "sysrq":
                out.append(f"[{t:12.6f}] SysRq : Show Regs")
                out.extend(f"[{t:12.6f}] {x}" for x in LOCKUP[2:])
            elif ev == "boot":
                t = 0.0
                out.append(f"[    0.000000] {BANNER}")
    path.write_text("\n".join(out) + "\n")
    return path


def _src(path: Path) -> SourceFile:
    return SourceFile(
        disk_path=str(path),
        bundle=str(path),
        path=path.name,
        kind="console",
        size=path.stat().st_size,
    )


def _summary(res: pipeline.SourceResult) -> dict:
    return {
        "sha256": res.sha256,
        "status": res.status,
        "boots": [b.__dict__ for b in res.boots],
        "crashes": [c.__dict__ for c in res.crashes],
        "findings": [f.__dict__ for f in res.findings],
        "lines": res.lines.select(["lineno", "offset", "text", "boot_id"]).to_pylist(),
    }


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_log(tmp_path_factory.mktemp("large") / "console.log", 5 << 20)


def test_large_path_equals_in_memory(big_log: Path, sigset) -> None:
    src = _src(big_log)
    whole = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1 << 40)
    sparse = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1)
    assert whole.status == "ok" and sparse.status == "ok"
    assert len(whole.crashes) >= 3 and len(whole.boots) == 2 and whole.findings
    a, b = _summary(whole), _summary(sparse)
    for key in a:
        assert a[key] == b[key], key
    assert sparse.line_count == whole.line_count


def test_large_path_small_blocks(big_log: Path, sigset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows spanning block boundaries are cut out the same."""
    monkeypatch.setattr(windows, "STREAM_BLOCK", 64 * 1024 + 7)
    src = _src(big_log)
    whole = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1 << 40)
    sparse = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1)
    assert _summary(whole) == _summary(sparse)


def test_sample_console_equal(sigset) -> None:
    path = ROOT / "samples" / "rhel47-xenU-console.log"
    src = _src(path)
    whole = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1 << 40)
    sparse = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1)
    assert _summary(whole) == _summary(sparse)


def test_anchor_patterns_cover_every_stage(sigset) -> None:
    pats = anchors.anchor_patterns(sigset)
    assert anchors.MATCH_EVERYTHING not in pats
    joined = "\n".join(pats)
    for needle in ("Linux version", "Boot ", "sysrq", "Kernel panic", "XENBUS: Timeout"):
        assert needle in joined


@pytest.mark.parametrize(
    ("pattern", "line", "hit"),
    [
        (r"^Linux version \d", b"[    0.000000] Linux version 2.6.18", True),
        (r"(?i)sysrq : show", b"<6>SYSRQ : Show Regs", True),
        (r"foo(?=bar)", b"foobaz", True),  # look-arounds dropped: wider, never narrower
        (r"(a)x\1", b"axa", True),
        (r"[^$]x$", b"ax trailing", True),
        (r"^grubdom>$", b"nothing", False),
    ],
)
def test_to_byte_regex_widens(pattern: str, line: bytes, hit: bool) -> None:
    import regex

    out = anchors.to_byte_regex(pattern)
    assert out is not None
    assert bool(regex.search(out.encode(), line)) is hit


def test_untranslatable_pattern_is_conservative() -> None:
    assert anchors.to_byte_regex("(unbalanced") is None


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_both_engines_keep_the_same_windows(big_log: Path, sigset, monkeypatch) -> None:
    from triage import prefilter

    src = _src(big_log)
    hs = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1)
    monkeypatch.setattr(prefilter, "hyperscan_available", lambda: False)
    monkeypatch.setattr(anchors, "_PREFILTERS", {})
    rx = pipeline.process_source(src, [], sigset, "relevant", large_source_bytes=1)
    assert _summary(hs) == _summary(rx)


def test_one_pattern_hyperscan_refuses_spoils_no_other_anchor() -> None:
    from triage.prefilter import hyperscan_available

    if not hyperscan_available():
        pytest.skip("hyperscan is not installed: the regex engine takes every pattern")
    good = [r"^Linux version \d", r"Kernel panic - not syncing", r"(?i)\bsysrq\s*:"]
    refused = r"XENBUS x{1,50000}y"  # a bounded repeat too large for Hyperscan
    anchors.vouch_for([*good, refused])  # the set fails as a whole: checked one by one
    assert anchors.to_byte_regex(refused) is None
    assert all(anchors.to_byte_regex(p) for p in good)


def test_a_compressed_log_of_unknown_size_is_streamed_once_it_is_large(
    tmp_path: Path, big_log: Path, sigset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single-file .gz has no size until it is read: it used to be read whole however large
    it was (a 500 MB log in 60 MB of gzip took 3 GB). Now what holds more than the large-source
    threshold is streamed, with the rows of the plain file, and a small one is still read
    whole with the other small logs."""
    import gzip

    from triage import sources
    from triage.limits import DEFAULT_LIMITS

    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    packed = tmp_path / "console.log.gz"
    packed.write_bytes(gzip.compress(big_log.read_bytes(), 1))
    small = tmp_path / "small.log.gz"
    small.write_bytes(gzip.compress(b"".join(big_log.read_bytes().splitlines(True)[:200])))
    found = {
        s.disk_path: s
        for s in sources.walk([str(packed), str(small)], DEFAULT_LIMITS)
        if isinstance(s, SourceFile)
    }
    gz, little = found[str(packed)], found[str(small)]
    assert gz.size < 0 and little.size < 0, "sizes unknown until read"
    plain = pipeline.process_source(_src(big_log), [], sigset, "all", large_source_bytes=1 << 40)
    big_res, small_res = pipeline.process_sources([(gz, [], ""), (little, [], "")], sigset, "all")
    assert big_res.lines_spill and not small_res.lines_spill
    assert small_res.lines.num_rows == 200
    spilled = pq.read_table(big_res.lines_spill)
    for f in big_res.spill_files():
        Path(f).unlink()
    cols = ["lineno", "offset", "text"]
    assert spilled.select(cols).to_pylist() == plain.lines.select(cols).to_pylist()
    assert big_res.line_count == plain.line_count
    assert [c.title for c in big_res.crashes] == [c.title for c in plain.crashes]
    assert big_res.sha256 == plain.sha256


def _packed(fmt: str, data: bytes) -> bytes:
    import bz2
    import gzip
    import lzma

    import zstandard

    return {
        "gzip": lambda: gzip.compress(data, 1),
        "xz": lambda: lzma.compress(data, preset=0),
        "bzip2": lambda: bz2.compress(data, 1),
        "zstd": lambda: zstandard.ZstdCompressor(level=1).compress(data),
    }[fmt]()


@pytest.mark.parametrize("fmt", ["gzip", "zstd", "xz", "bzip2"])
@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_a_large_compressed_log_is_spooled_only_for_a_second_pass_of_a_slow_codec(
    tmp_path: Path, big_log: Path, sigset, monkeypatch: pytest.MonkeyPatch, fmt: str, keep: str
) -> None:
    """A scan reads a large compressed log once, as it inflates; an ingest reads it twice, and
    inflates gzip (with ISA-L) and zstd again rather than write it to a temporary file and
    read it back (2.2 s a GB on this disk). xz and bzip2 inflate slower than that: spooled.
    The rows are those of the plain file either way."""
    import tempfile

    from triage import sources
    from triage.sources import decompress

    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    packed = tmp_path / f"console.log.{fmt}"
    packed.write_bytes(_packed(fmt, big_log.read_bytes()))
    (src,) = [s for s in sources.walk([str(packed)]) if isinstance(s, SourceFile)]
    spools: list[object] = []
    real = tempfile.SpooledTemporaryFile

    def counted(*args, **kwargs):
        spools.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", counted)
    plain = pipeline.process_source(_src(big_log), [], sigset, keep, large_source_bytes=1 << 40)
    res = pipeline.process_source(src, [], sigset, keep)
    fast = fmt in decompress.FAST_INFLATE
    assert len(spools) == (1 if keep == "all" and not fast else 0)
    assert res.status == plain.status == "ok" and not res.errors
    assert [c.title for c in res.crashes] == [c.title for c in plain.crashes]
    assert [f.signature_id for f in res.findings] == [f.signature_id for f in plain.findings]
    assert res.sha256 == plain.sha256 and res.line_count == plain.line_count
    cols = ["lineno", "offset", "text"]
    if keep == "all":
        spilled = pq.read_table(res.lines_spill)
        for f in res.spill_files():
            Path(f).unlink()
        assert spilled.select(cols).to_pylist() == plain.lines.select(cols).to_pylist()
    else:
        assert not res.lines_spill
        assert res.lines.select(cols).to_pylist() == plain.lines.select(cols).to_pylist()


@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_a_cut_compressed_log_read_as_it_inflates_keeps_its_error_row(
    tmp_path: Path, big_log: Path, sigset, monkeypatch: pytest.MonkeyPatch, keep: str
) -> None:
    """The damage of a compressed log read without a spool is found as the pass reaches it:
    the same error row and the same rows as when it was spooled first."""
    import gzip

    from triage import sources

    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    whole = gzip.compress(big_log.read_bytes(), 1)
    packed = tmp_path / "console.log.gz"
    packed.write_bytes(whole[: len(whole) * 2 // 3])
    (src,) = [s for s in sources.walk([str(packed)]) if isinstance(s, SourceFile)]

    def run() -> dict:
        res = pipeline.process_source(src, [], sigset, keep)
        out = _summary(res) | {"errors": [(e.error_class, e.message) for e in res.errors]}
        if res.lines_spill:
            out["lines"] = pq.read_table(res.lines_spill).select(["lineno", "text"]).to_pylist()
            for f in res.spill_files():
                Path(f).unlink()
        return out

    streamed = run()
    monkeypatch.setattr(sources, "inflates_fast", lambda src: False)
    if keep == "relevant":  # a scan spools nothing now: make it, as before, spool first
        real = sources.open_binary
        monkeypatch.setattr(sources, "open_binary", lambda *a, once=False, **k: real(*a, **k))
    spooled = run()
    assert [c for c, _ in streamed["errors"]] == ["truncated-gzip"]
    assert streamed["status"] == "partial"
    assert streamed == spooled
