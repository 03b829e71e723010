"""The spill writer takes the text as views into the parsed blocks, and its file reads back as
the rows of the plain parse (LINES_SCHEMA, same values)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage.limits import Limits
from triage.model import LINES_SCHEMA, SourceFile
from triage.parsers import FORMATS
from triage.parsers.engine import LINES_VIEW_SCHEMA, iter_format
from triage.pipeline import spill

#: clean lines, and lines for the slow path (control bytes, invalid UTF-8, a lone CR), whose
#: cleaned text lives in a second buffer of the block
LINES = [
    b"[    0.000000] Linux version 2.6.18-128.el5xen (mockbuild@x) #1 SMP",
    b"[    1.500000] short",
    b"[123456.000001] a much longer message than twelve bytes, not inlined in its view",
    b"no prefix at all",
    b"[    2.000000] bell \x07 and escape \x1b[1m",
    b"[    3.000000] caf\xc3\xa9 and \xff broken",
    b"[    4.000000] lone\rcarriage return",
    b"",
    b"\t[    5.000000] tab first",
]


def _log(n: int = 3000) -> bytes:
    return b"\n".join(LINES[i % len(LINES)] + b" %d" % i for i in range(n)) + b"\n"


@pytest.mark.parametrize("kind", ["console", "dmesg", "syslog"])
def test_text_views_hold_the_plain_rows(kind: str) -> None:
    data = _log()
    src = SourceFile(disk_path="", path="m", kind=kind, year_hint=2012)
    plain = list(iter_format(FORMATS[kind], data, Limits(), "s", src, block_bytes=4096))
    views = list(
        iter_format(FORMATS[kind], data, Limits(), "s", src, block_bytes=4096, text_view=True)
    )
    assert all(t.schema.equals(LINES_VIEW_SCHEMA) for t in views)
    assert pa.concat_tables(views).cast(LINES_SCHEMA).equals(pa.concat_tables(plain))


def test_spilled_file_reads_back_as_the_plain_rows(tmp_path: Path) -> None:
    data = _log()
    path = tmp_path / "console.log"
    path.write_bytes(data)
    src = SourceFile(disk_path=str(path), path="console.log", kind="console", size=len(data))
    limits = Limits()
    spilled, rows = spill.spill_lines(
        src, io.BytesIO(data), 1, 0, [1], [src.source_id + ":0"], limits, workers=1
    )
    try:
        got = pq.read_table(spilled)
    finally:
        Path(spilled).unlink()
    assert got.schema.equals(LINES_SCHEMA)
    want = pa.concat_tables(list(iter_format(FORMATS["console"], data, limits, src.source_id, src)))
    assert rows == want.num_rows == got.num_rows
    assert got.drop_columns(["boot_id"]).equals(want.drop_columns(["boot_id"]))
    assert set(got.column("boot_id").to_pylist()) == {src.source_id + ":0"}
