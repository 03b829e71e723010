"""`relevant_lines`: banners, crash reports and evidence with their context, and nothing else —
whatever the line numbers of a sparse table (a huge log keeps a few windows of lines)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import pipeline
from triage.model import LINES_SCHEMA, Boot, Crash, SourceFile
from triage.pipeline import anchors

span = st.tuples(st.integers(1, 5_000_000), st.integers(0, 40))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 5_000_000), min_size=1, max_size=300, unique=True),
    st.lists(span, max_size=6),
    st.lists(st.integers(1, 5_000_000), max_size=3),
)
def test_rows_kept_are_those_within_context_of_a_span(
    linenos: list[int], crashes: list[tuple[int, int]], banners: list[int]
) -> None:
    linenos.sort()
    lines = LINES_SCHEMA.empty_table().to_pylist()
    rows = [{name: None for name in LINES_SCHEMA.names} | {"lineno": n} for n in linenos]
    table = pa.Table.from_pylist(lines + rows, schema=LINES_SCHEMA)
    result = pipeline.SourceResult(source=SourceFile(disk_path="/x.log"))
    result.boots = [Boot(f"b{i}", "", i, b, b) for i, b in enumerate(banners)]
    result.crashes = [Crash(f"c{i}", "", "", a, a + k) for i, (a, k) in enumerate(crashes)]
    n = max(linenos)
    ranges = [(b, b) for b in banners] + [(a, a + k) for a, k in crashes]
    ctx = anchors.CONTEXT_LINES
    want = [
        ln for ln in linenos if any(max(1, a - ctx) <= ln <= min(n, b + ctx) for a, b in ranges)
    ]
    got = anchors.relevant_lines(table, result).column("lineno").to_pylist()
    assert got == want
