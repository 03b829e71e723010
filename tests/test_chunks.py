"""A huge log cut into chunks over a process pool gives the rows of one process (issue #8).

The log is built so that every kind of thing the windows carry sits right on a chunk boundary:
a report whose header ends one chunk, one whose header starts the next (its context is in the
chunk before), a banner whose early [0.000000] lines are in the chunk before, a clock restart
whose previous clocked line is in the chunk before, a SysRq task dump spanning several chunks,
a signature line, and the head and tail windows spanning more than one chunk.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage import pipeline
from triage.batch import chunks
from triage.limits import DEFAULT_LIMITS
from triage.model import LINES_SCHEMA, SourceFile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from synth import BANNER, NOISE  # noqa: E402
from synth import CRASH as LOCKUP  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_pipeline_large import OOPS  # noqa: E402

#: the chunk size the log is laid out for: events sit on multiples of it
CHUNK = 16384
XENBUS = "XENBUS: Timeout connecting to devices!"
SYSRQ = ["SysRq : Show State", "  task                PC         pid father"] + [
    f"kworker/{i:<3}     S c0612345     0  {100 + i}      2" for i in range(300)
]


class _Log:
    """Console lines written with exact control over where each one starts."""

    def __init__(self) -> None:
        self.rnd = random.Random(5)
        self.text = ""
        self.t = 0.0
        self.marks: list[int] = []  # the chunk boundaries events were laid on

    def line(self, message: str, clock: float | None = None) -> None:
        if clock is not None:
            self.t = clock
        self.text += f"[{self.t:12.6f}] {message}\n"

    def noise(self, count: int) -> None:
        for _ in range(count):
            self.t += self.rnd.random() * 0.05
            self.line(NOISE[self.rnd.randrange(len(NOISE))])

    def pad_to_boundary(self, before: list[str] | None = None) -> None:
        """Noise up to where the lines `before` end exactly at the next chunk boundary."""
        tail = sum(len(f"[{self.t:12.6f}] {m}\n") for m in before or [])
        boundary = -(-(len(self.text) + tail + 400) // CHUNK) * CHUNK
        while boundary - tail - len(self.text) > 200:
            self.noise(1)
        gap = boundary - tail - len(self.text) - len(f"[{self.t:12.6f}] \n")
        self.line("x" * gap)
        assert len(self.text) + tail == boundary
        self.marks.append(boundary)


def build_log(path: Path) -> tuple[Path, list[int]]:
    """The log, and the offsets of the chunk boundaries its events sit on.

    Events are further apart than their windows (a report's is 760 lines), so that what a
    chunk needs from its neighbours is not there by chance from some other window."""
    log = _Log()
    log.text = (
        "Xen virtual console successfully installed as xvc0\nBIOS-provided physical RAM map:\n"
    )
    log.line(BANNER, 0.0)
    log.noise(5)
    log.t = 100.0  # clocks past 10 s: the prefilter's low-clock anchor stops firing
    log.noise(300)
    # 1. a soft lockup whose header starts a chunk: its before-context is in the chunk before
    log.pad_to_boundary()
    for m in LOCKUP:
        log.line(m)
    log.noise(800)
    # 2. a signature's line ending a chunk: its after-context is in the next
    log.pad_to_boundary([XENBUS])
    log.line(XENBUS)
    log.noise(100)
    # 3. an oops whose header ends a chunk: its report is in the next
    log.pad_to_boundary(OOPS[:1])
    for m in OOPS:
        log.line(m)
    log.noise(800)
    # 4. a second boot: its [0.000000] early lines end one chunk, its banner starts the next
    early = ["Initializing cgroup subsys cpuset", "Initializing cgroup subsys cpu"]
    log.t = 0.0
    log.pad_to_boundary(early)
    for m in early:
        log.line(m)
    log.line(BANNER.replace("128.el5xen", "164.el5xen"))
    log.noise(5)
    log.t = 100.0
    log.noise(300)
    # 5. a clock restart without a banner starting a chunk, the clocked line before it ending
    # the one before
    log.pad_to_boundary()
    log.line("Restarting system.", 0.5)
    log.noise(5)
    log.t = 100.0
    log.noise(300)
    # 6. lines without a prefix starting a chunk: in a dmesg they continue the record before
    log.pad_to_boundary()
    log.text += "".join(f"    continued line {i}\n" for i in range(3))
    log.noise(20)
    # 7. a SysRq task dump from the last line of a chunk over several more
    log.pad_to_boundary(SYSRQ[:1])
    for m in SYSRQ:
        log.line(m)
    log.noise(200)
    path.write_text(log.text)
    return path, log.marks


def _src(path: Path, kind: str = "console") -> SourceFile:
    return SourceFile(
        disk_path=str(path), bundle=str(path), path=path.name, kind=kind, size=path.stat().st_size
    )


def _rows(res: pipeline.SourceResult) -> dict:
    """Everything a source contributes, spilled lines read back, spill files removed."""
    lines = res.lines
    files = res.spill_files()
    if files:
        lines = pa.concat_tables([pq.read_table(f) for f in files])
        assert lines.schema.equals(LINES_SCHEMA)
        for f in files:
            Path(f).unlink()
    return {
        "sha256": res.sha256,
        "size": res.source_row()["size"],
        "status": (res.status, res.error),
        "line_count": res.line_count,
        "boots": [b.__dict__ for b in res.boots],
        "crashes": [c.__dict__ for c in res.crashes],
        "findings": [f.__dict__ for f in res.findings],
        "facts": [f.__dict__ for f in res.facts],
        "errors": [e.__dict__ for e in res.errors],
        "lines": lines.to_pylist(),
    }


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    return build_log(tmp_path_factory.mktemp("chunks") / "console.log")


@pytest.fixture(scope="module")
def log(laid_out: tuple[Path, list[int]]) -> Path:
    return laid_out[0]


def test_the_log_puts_every_event_on_a_boundary(laid_out: tuple[Path, list[int]], sigset) -> None:
    """The layout the other tests rely on, read through the whole-file path."""
    log, marks = laid_out
    whole = pipeline.process_source(_src(log), [], sigset, "relevant", large_source_bytes=1 << 40)
    for size in (CHUNK, CHUNK // 4):
        cuts = {c.start for c in chunks.cut_chunks(str(log), log.stat().st_size, size)}
        assert set(marks) <= cuts
    assert len(whole.boots) == 3, "the banner boot and the clock-restart boot"
    titles = [c.title for c in whole.crashes]
    assert any("soft lockup" in t for t in titles) and any("paging" in t for t in titles)
    assert any(c.record == "sysrq" for c in whole.crashes)
    assert any(f.signature_id == "xen-pv/xenbus-timeout" for f in whole.findings)


@pytest.mark.parametrize("keep", ["relevant", "all"])
@pytest.mark.parametrize("size", [CHUNK, CHUNK // 4, 9973])
@pytest.mark.parametrize("kind", ["console", "dmesg"])
def test_chunked_rows_equal_one_process(
    log: Path, sigset, pool, keep: str, size: int, kind: str
) -> None:
    src = _src(log, kind)
    one = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, keep, jobs=2, executor=pool, chunk_bytes=size, large_source_bytes=1
    )
    assert many.status == "ok", many.error
    a, b = _rows(one), _rows(many)
    for key in a:
        assert a[key] == b[key], key
    assert len(a["boots"]) == 3 and len(a["crashes"]) >= 3 and a["findings"]
    if keep == "all":
        assert len(a["lines"]) == log.read_bytes().count(b"\n")


def test_own_pool_and_unknown_digest(log: Path, sigset) -> None:
    """Without an executor it starts its own pool; without a digest it hashes the file."""
    src = _src(log)
    one = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", jobs=2, chunk_bytes=3 * CHUNK, large_source_bytes=1
    )
    assert _rows(one) == _rows(many)


@pytest.mark.parametrize("kind", ["console", "syslog"])
def test_a_chunk_opening_with_a_long_line_of_carriage_returns(
    tmp_path: Path, sigset, pool, kind: str
) -> None:
    """A serial console's progress bar (`Loading vmlinuz... 42%\r` a few thousand times, one
    line of 100+ KiB) at a chunk's start: the chunk's parse told the separator from its own
    first 64 KiB, saw no newline, and cut the whole chunk at the carriage returns — about half
    the file's rows were lost at -j 2, silently. A chunk takes the file's separator."""
    if kind == "console":
        head = b"".join(
            b"[%12.6f] eth0: no IPv6 routers present\n" % (i / 100) for i in range(3000)
        )
        tail = b"".join(b"[%12.6f] EXT3 FS on xvda1\n" % (30 + i / 100) for i in range(3000))
    else:
        head = b"".join(
            b"Jun 15 09:%02d:%02d web07 kernel: eth0: up\n" % divmod(i % 3600, 60)
            for i in range(3000)
        )
        tail = b"".join(
            b"Jun 15 10:%02d:%02d web07 kernel: xvda1 ok\n" % divmod(i % 3600, 60)
            for i in range(3000)
        )
    bar = b"".join(b"Loading vmlinuz....... %d%%\r" % (i % 100) for i in range(4000)) + b"\n"
    log = tmp_path / "console.log"
    log.write_bytes(head + bar + tail)
    src = _src(log, kind)
    one = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", jobs=2, executor=pool, chunk_bytes=len(head), large_source_bytes=1
    )
    a, b = _rows(one), _rows(many)
    assert len(a["lines"]) >= 6000
    for key in a:
        assert a[key] == b[key], key


def test_byte_cap_inside_a_line(log: Path, sigset, pool) -> None:
    """A file cut by max_file_bytes mid-line: the same partial last line and error row."""
    limits = DEFAULT_LIMITS.override(max_file_bytes=5 * CHUNK + 17)
    src = _src(log)
    one = pipeline.process_source(src, [], sigset, "all", limits, large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", limits, executor=pool, chunk_bytes=CHUNK, large_source_bytes=1
    )
    a, b = _rows(one), _rows(many)
    assert a == b
    assert [e["error_class"] for e in a["errors"]] == ["limit-file-bytes"]


def test_over_long_lines_near_boundaries(tmp_path: Path, log: Path, sigset, pool) -> None:
    """Lines longer than the prefilter keeps are stored cut short, whichever chunk reads them."""
    limits = DEFAULT_LIMITS.override(max_line_bytes=500)  # lines over 2000 bytes are cut
    text = log.read_text().splitlines(keepends=True)
    for i in (40, 150, 151, 620, 900, 1500, 2600):
        text[i] = text[i][:-1] + " BUG: " + "y" * (2500 + i) + "\n"
    path = tmp_path / "long.log"
    path.write_text("".join(text))
    src = _src(path)
    for keep in ("relevant", "all"):
        one = pipeline.process_source(src, [], sigset, keep, limits, large_source_bytes=1)
        many = chunks.process_source_chunked(
            src, [], sigset, keep, limits, executor=pool, chunk_bytes=CHUNK, large_source_bytes=1
        )
        assert _rows(one) == _rows(many), keep


def _syslog(path: Path, seed: int, journal: bool = False) -> Path:
    """A syslog over a New Year: kernel lines among daemon lines (which the parse drops), and
    header-less lines after both (kept with a kernel line, dropped with a daemon's). Cut at
    many places, chunks start with such lines and in either year."""
    rnd = random.Random(seed)
    lines = ["-- Logs begin at Sun 2009-11-01 00:00:01 UTC. --"] if journal else []
    for month in ("Nov", "Dec", "Jan", "Feb"):
        for i in range(400):
            prog = rnd.choice(["kernel", "kernel", "sshd[812]", "crond[5]"])
            day, minute = 1 + i // 16, i % 60
            lines.append(
                f"{month} {day:2d} 10:{minute:02d}:00 web07 {prog}: {NOISE[i % len(NOISE)]}"
            )
            if rnd.random() < 0.15:
                lines.append(f"    a continued line {i} of {prog}")
            if journal and rnd.random() < 0.005:
                lines.append("-- Reboot --")
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (1_266_000_000, 1_266_000_000))  # February 2010: the year of the last line
    return path


@pytest.mark.parametrize("keep", ["relevant", "all"])
@pytest.mark.parametrize("size", [1000, 4096, 9973])
@pytest.mark.parametrize("kind", ["syslog", "journal"])
def test_year_less_formats_with_kept_programs_are_chunked_with_the_same_rows(
    tmp_path: Path, sigset, pool, monkeypatch, keep: str, size: int, kind: str
) -> None:
    """Kept programs and years depend on the lines before a chunk: each chunk is parsed from a
    guess of that state and again when the guess was wrong, and the rows are those of one
    process."""
    settled: list[int] = []
    real_settle = chunks._settle

    def settle(cuts, start):
        again = real_settle(cuts, start)
        settled.append(sum(a is not None for a in again))
        return again

    monkeypatch.setattr(chunks, "_settle", settle)
    src = _src(_syslog(tmp_path / "messages", size, journal=kind == "journal"), kind)
    src = SourceFile(**{**src.__dict__, "mtime": 1_266_000_000.0})
    one = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, keep, executor=pool, chunk_bytes=size, large_source_bytes=1
    )
    a, b = _rows(one), _rows(many)
    assert a == b
    if keep == "all":
        assert len(many.spill_files()) > 10
        years = {r["timestamp"].year for r in a["lines"] if r["timestamp"]}
        assert years == {2009, 2010}
        assert any(r["text"].startswith("    a continued") for r in a["lines"])
        assert settled and settled[0] > 0, "some chunk started after a kept line, and was redone"
        assert settled[0] < len(many.spill_files()) / 2, "most guesses stand"


@pytest.mark.parametrize("keep", ["relevant", "all"])
def test_a_syslog_says_the_lines_it_read_whichever_way_it_is_read(
    tmp_path: Path, sigset, pool, keep: str
) -> None:
    """`line_count` is the lines read, of which a syslog keeps only some as rows: the same
    whole, packed with other small files, streamed, or in chunks (the streamed `scan` said the
    lines read and the others the rows)."""
    path = _syslog(tmp_path / "messages", 2)
    physical = path.read_bytes().count(b"\n")
    src = _src(path, "syslog")
    other = _src(_syslog(tmp_path / "messages.1", 3), "syslog")
    whole = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40)
    packed = pipeline.process_sources([(src, [], ""), (other, [], "")], sigset, keep)[0]
    streamed = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1)
    chunked = chunks.process_source_chunked(
        src, [], sigset, keep, executor=pool, chunk_bytes=4096, large_source_bytes=1
    )
    counts = [r.line_count for r in (whole, packed, streamed, chunked)]
    assert counts == [physical] * 4
    rows = _rows(whole)["lines"]
    assert len(rows) < physical, "the daemons' lines are read, not kept"
    for r in (packed, streamed, chunked):
        _rows(r)  # reads back, and removes, their spilled line files


def test_settling_the_state_each_chunk_starts_in() -> None:
    """`_settle` from what each chunk's parse says: a chunk after a New Year its guess did not
    see is parsed again, as is one starting with lines whose fate its guess decided wrongly."""
    from triage.parsers.engine import Carry, Cut

    start = Carry(2009)
    cuts = [
        # Nov to Dec, ends with a kernel line kept
        Cut(start, Carry(2009, 12, True), first_month=11, decided=True),
        # guessed 2009, starts in January: after the December before it, that is 2010
        Cut(Carry(2009), Carry(2009, 1, True), first_month=1, decided=True),
        # guessed 2010 and not kept; starts with a continued line whose line before was kept
        Cut(Carry(2010), Carry(2010, 2, False), first_month=1, state_used=True, decided=True),
        # no time and no line that decides: passes the state through; guessed right
        Cut(Carry(2010), Carry(2010, 0, None), year_before=True),
    ]
    again = chunks._settle(cuts, start)
    assert again[0] is None
    assert again[1] == Carry(2009, 12, True)
    assert again[2] == Carry(2010, 1, True)
    assert again[3] is None


def test_a_large_syslog_read_as_a_stream_gets_the_years_it_gets_whole(tmp_path: Path, sigset):
    """The years of a syslog too large to hold end in its file's year, as a small one's do
    (the stream used to count them up from that year instead)."""
    src = _src(_syslog(tmp_path / "messages", 1), "syslog")
    src = SourceFile(**{**src.__dict__, "mtime": 1_266_000_000.0})
    whole = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1 << 40)
    streamed = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    a, b = _rows(whole)["lines"], _rows(streamed)["lines"]
    assert [r["timestamp"] for r in a] == [r["timestamp"] for r in b]
    years = [r["timestamp"].year for r in a if r["timestamp"]]
    assert years[0] == 2009 and years[-1] == 2010


def test_chunks_are_cut_after_newlines(log: Path) -> None:
    data = log.read_bytes()
    cut = chunks.cut_chunks(str(log), len(data), 1000)
    assert cut[0].start == 0 and cut[-1].stop == len(data)
    assert [c.start for c in cut[1:]] == [c.stop for c in cut[:-1]]
    assert all(data[c.start - 1 : c.start] == b"\n" for c in cut[1:])
    assert cut[0].head and cut[-1].tail and not any(c.head or c.tail for c in cut[1:-1])


def test_dmesg_whose_first_prefix_comes_late(tmp_path: Path, sigset, pool) -> None:
    """Chunks before a dmesg's first prefixed line start fresh; those after it continue it."""
    rnd = random.Random(9)
    lines = [f"early console text {i}" for i in range(150)]
    for i in range(1500):
        lines.append(f"[{100 + i * 0.01:12.6f}] {NOISE[rnd.randrange(len(NOISE))]}")
        if rnd.random() < 0.2:
            lines.append(f"    a continued record line {i}")
    path = tmp_path / "dmesg.txt"
    path.write_text("\n".join(lines) + "\n")
    src = _src(path, "dmesg")
    one = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", executor=pool, chunk_bytes=1000, large_source_bytes=1
    )
    assert len(many.spill_files()) > 50
    assert _rows(one) == _rows(many)


def test_dmesg_without_a_prefix_in_its_head_goes_whole(tmp_path: Path, sigset, pool) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("".join(f"plain text line {i}\n" for i in range(3000)))
    src = _src(path, "dmesg")
    one = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", executor=pool, chunk_bytes=4096, large_source_bytes=1
    )
    assert len(many.spill_files()) == 1, "one process read it"
    assert _rows(one) == _rows(many)


def test_month_samples_of_a_stream_are_those_of_the_bytes_whole() -> None:
    """A compressed log's New Years are sampled from its bytes as pass 1 reads them, in pieces
    of any size, at the places `sampled_wraps` reads a log held whole."""
    from triage.parsers.years import MonthSamples, sampled_wraps

    rnd = random.Random(4)
    months = ["Oct", "Nov", "Dec", "Jan", "Feb", "Mar"]
    lines = [
        f"{months[i * len(months) // 40000]} {1 + i % 28:2d} 10:00:00 h kernel: {'y' * (i % 90)}"
        for i in range(40000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    for step in (1 << 20, 1 << 16, 4099):
        samples = MonthSamples(step)
        at = 0
        while at < len(data):
            piece = rnd.randrange(1, 200_000)
            samples.feed(at, data[at : at + piece])
            at += piece
        assert samples.wraps() == sampled_wraps(data, step)
    assert sampled_wraps(data, 1 << 16) == 1


def test_a_compressed_syslog_over_a_new_year_streamed_gets_the_years_it_gets_whole(
    tmp_path: Path, sigset, monkeypatch
) -> None:
    """A gzip-compressed syslog too large to hold is streamed: its times end in its year, as
    the plain file's read whole do (they were counted up from that year, a year late)."""
    import gzip

    from triage import sources
    from triage.limits import DEFAULT_LIMITS

    plain = _syslog(tmp_path / "messages-20100215", 5)
    packed = tmp_path / "messages-20100215.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    os.utime(packed, (1_266_000_000, 1_266_000_000))
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 4096)
    (gz,) = [s for s in sources.walk([str(packed)], DEFAULT_LIMITS) if isinstance(s, SourceFile)]
    src = SourceFile(**{**_src(plain, "syslog").__dict__, "mtime": 1_266_000_000.0})
    gz = SourceFile(**{**gz.__dict__, "kind": "syslog", "year_hint": None, "year_from": ""})
    for keep in ("relevant", "all"):
        whole = _rows(pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40))
        res = pipeline.process_source(gz, [], sigset, keep)
        assert res.spill_files() or keep == "relevant"
        streamed = _rows(res)
        cols = ("lineno", "timestamp", "text")
        assert [[r[c] for c in cols] for r in streamed["lines"]] == [
            [r[c] for c in cols] for r in whole["lines"]
        ]
        if keep == "all":
            years = {r["timestamp"].year for r in streamed["lines"] if r["timestamp"]}
            assert years == {2009, 2010}
