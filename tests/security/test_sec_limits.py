"""Limits: documented defaults in triage/limits.py, overridable with `--limit KEY=VALUE`; each
breach is an errors row, and the rest of the input is still processed."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
from helpers_sources import DMESG_HEAD, SYSLOG, tar_bytes, write
from typer.testing import CliRunner

import triage
from triage import limits as limits_module
from triage.cli import app
from triage.limits import DEFAULT_LIMITS, Limits


def test_every_limit_has_a_documented_default() -> None:
    src = inspect.getsource(Limits)
    for f in dataclasses.fields(Limits):
        line = next(x for x in src.splitlines() if x.strip().startswith(f"{f.name}:"))
        assert "#" in line or f.name in {"max_seconds_per_file"}, f"{f.name}: no comment"
        assert getattr(DEFAULT_LIMITS, f.name) == f.default
    assert "--limit KEY=VALUE" in inspect.getsource(limits_module)


def test_unknown_or_bad_limit_is_a_one_line_usage_error(tmp_path: Path) -> None:
    log = write(tmp_path / "a.log", DMESG_HEAD)
    runner = CliRunner()
    for bad in ("max_bananas=3", "max_members", "max_members=lots"):
        res = runner.invoke(app, ["scan", str(log), "--limit", bad])
        assert res.exit_code == 2, (bad, res.output)
        assert "Traceback" not in res.output


def _cases(d: Path) -> dict[str, tuple[str, Path, str]]:
    """limit -> (override, input, the error class its breach gives)."""
    long_line = DMESG_HEAD + b"[    1.000000] " + b"A" * 5000 + b"\n"
    nested = tar_bytes({"x.tar": tar_bytes({"y.tar": tar_bytes({"m.log": SYSLOG})})})
    return {
        "max_line_bytes": (
            "max_line_bytes=1000",
            write(d / "a/long.log", long_line),
            "limit-line-bytes",
        ),
        "max_file_bytes": (
            "max_file_bytes=1000",
            write(d / "b/big.log", DMESG_HEAD * 100),
            "limit-file-bytes",
        ),
        "max_members": (
            "max_members=5",
            write(d / "c/many.tar", tar_bytes({f"f{i:02}.log": SYSLOG for i in range(20)})),
            "too-many-members",
        ),
        "max_total_bytes": (
            "max_total_bytes=20000",
            write(
                d / "d/total.tar.gz",
                tar_bytes({f"f{i:02}.log": SYSLOG * 20 for i in range(20)}, compression="gz"),
            ),
            "limit-total-bytes",
        ),
        "max_depth": ("max_depth=1", write(d / "e/nest.tar", nested), "max-depth"),
        "max_ratio": (
            "max_ratio=3",
            write(d / "f/messages.gz", __import__("gzip").compress(SYSLOG * 2000)),
            "decompression-bomb",
        ),
    }


@pytest.mark.parametrize(
    "key",
    [
        "max_line_bytes",
        "max_file_bytes",
        "max_members",
        "max_total_bytes",
        "max_depth",
        "max_ratio",
    ],
)
def test_each_breach_is_an_errors_row_and_the_rest_is_kept(tmp_path: Path, key: str) -> None:
    override, path, error_class = _cases(tmp_path / "in")[key]
    good = write(tmp_path / "in" / "good" / "dmesg.txt", DMESG_HEAD)
    out = tmp_path / "ds"
    extra = ["--limit", "ratio_floor_bytes=1000"] if key == "max_ratio" else []
    res = CliRunner().invoke(
        app,
        [
            "scan",
            str(path),
            str(good),
            "--out",
            str(out),
            "--limit",
            override,
            *extra,
            "--fail-on",
            "never",
        ],
    )
    assert res.exit_code == 0, (res.output, res.exception)
    ds = triage.open_dataset(str(out))
    classes = set(ds.errors["error_class"].astype(str))
    assert error_class in classes, ds.errors[["error_class", "message"]]
    assert any(str(s).endswith("dmesg.txt") for s in ds.sources["display"])  # nothing else lost
    # without the override the same input is clean
    out2 = tmp_path / "ds2"
    CliRunner().invoke(app, ["scan", str(path), "--out", str(out2), "--fail-on", "never"])
    assert error_class not in set(triage.open_dataset(str(out2)).errors["error_class"].astype(str))


def test_max_seconds_per_file_is_checked_between_blocks(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from triage.parsers import blocks

    monkeypatch.setattr(blocks, "MAX_LINES_PER_BLOCK", 50)  # many small blocks
    log = write(tmp_path / "dmesg.txt", DMESG_HEAD * 100)
    lim = DEFAULT_LIMITS.override(max_seconds_per_file=0.0)
    ds = triage.scan([str(log)], out=str(tmp_path / "ds"), keep="all", limits=lim).dataset
    errs = ds.errors
    assert "limit-seconds" in set(errs["error_class"].astype(str)), errs
    assert 0 < len(ds.lines) < DMESG_HEAD.count(b"\n") * 100  # what was parsed is kept
    # a file parsed within the time has no such row
    ds = triage.scan([str(log)], out=str(tmp_path / "ds2"), keep="all").dataset
    assert "limit-seconds" not in set(ds.errors["error_class"].astype(str))
