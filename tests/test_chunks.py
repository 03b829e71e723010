"""A huge log cut into chunks over a process pool gives the rows of one process (issue #8).

The log is built so that every kind of thing the windows carry sits right on a chunk boundary:
a report whose header ends one chunk, one whose header starts the next (its context is in the
chunk before), a banner whose early [0.000000] lines are in the chunk before, a clock restart
whose previous clocked line is in the chunk before, a SysRq task dump spanning several chunks,
a signature line, and the head and tail windows spanning more than one chunk.
"""

from __future__ import annotations

import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage import match, pipeline
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


@pytest.fixture(scope="module")
def sigset():
    return match.load_signatures()


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(max_workers=2) as executor:
        yield executor


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


def test_stateful_formats_go_whole(tmp_path: Path, sigset, pool) -> None:
    """A syslog's parse depends on the lines before (kept programs, years): not chunked."""
    lines = [f"Jun 15 10:00:{i % 60:02d} web07 kernel: {NOISE[i % len(NOISE)]}" for i in range(800)]
    path = tmp_path / "messages"
    path.write_text("\n".join(lines) + "\n")
    src = _src(path, "syslog")
    one = pipeline.process_source(src, [], sigset, "all", large_source_bytes=1)
    many = chunks.process_source_chunked(
        src, [], sigset, "all", executor=pool, chunk_bytes=CHUNK, large_source_bytes=1
    )
    assert len(many.spill_files()) == 1, "one process read it"
    assert _rows(one) == _rows(many)


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
