"""Crash and SysRq extraction skip their header pass when no header literal occurs: same rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from helpers_logs import parsed_logs

from triage.crashes import sysrq
from triage.crashes.extract import PREFILTER, candidate_rows


def _tables() -> list[pa.Table]:
    return [lines for _, lines in parsed_logs()]


def _rows(text: pa.ChunkedArray, pattern: str) -> list[int]:
    mask = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()


def test_candidate_and_sysrq_rows_equal_full_passes() -> None:
    tables = _tables()
    for lines in tables:
        text = lines.column("text")
        assert candidate_rows(lines).tolist() == _rows(text, PREFILTER)
        got = sysrq._sysrq_rows(text)
        assert got is not None and got.tolist() == _rows(text, sysrq._SYSRQ_ANCHOR)
    quiet = [t for t in tables if t.num_rows and not len(candidate_rows(t))]
    assert quiet  # the shortcut had sources to skip


def test_non_ascii_text_keeps_the_caseless_sysrq_pass() -> None:
    text = pa.chunked_array([pa.array(["\u017fysrq : Show Regs", "SYSRQ : HELP", "plain"])])
    assert sysrq._sysrq_rows(text).tolist() == _rows(text, sysrq._SYSRQ_ANCHOR)
