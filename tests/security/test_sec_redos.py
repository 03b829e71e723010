"""ReDoS: a user signature with a catastrophic regex runs under the per-match time limit.

`(a+)+$` itself is defused by the engines (RE2 prefilter, the `regex` module's own guards): the
run stays fast. `((a|aa)+)+(?!b)$` is not RE2 (lookahead) and does make `regex` backtrack
exponentially: the signature is disabled with an errors row naming it, the run does not hang,
the other signatures still produce their findings. `triage signatures lint` warns about both.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from security_helpers import ROOT, XFS_OOPS

import triage
from triage.limits import DEFAULT_LIMITS

CLASSIC = "(a+)+$"
EVIL = "((a|aa)+)+(?!b)$"
SIGNATURE = """\
id: local/redos
title: A signature whose pattern backtracks catastrophically
kind: panic
status: experimental
log_shape: source
references:
  - {type: document, id: "security test"}
applies_to:
  distros: [rhel, centos]
  releases:
    - {min: "5.0", max: "5.9"}
evidence:
  any:
    - name: evil
      reason: catastrophic backtracking
      line:
        pattern: '{pattern}'
confidence:
  rules:
    - level: high
      when: [evil]
      reason: never
  default: low
fix: nothing
tests:
  match:
    - {path: samples/signatures/xfs-panic/pos-console-rhel5.log}
  no_match:
    - {path: samples/signatures/xfs-panic/neg-rhel54-xfs.log}
"""


@pytest.fixture
def sigdir(tmp_path: Path) -> Path:
    d = tmp_path / "sigs"
    (d / "local").mkdir(parents=True)
    (d / "local" / "redos.yaml").write_text(SIGNATURE.replace("{pattern}", EVIL))
    (d / "local" / "classic.yaml").write_text(
        SIGNATURE.replace("{pattern}", CLASSIC).replace("local/redos", "local/classic")
    )
    return d


def _log(tmp_path: Path) -> Path:
    # the real oops, then lines that make (a+)+$ try 2**n ways before failing
    evil = b"".join(b"a" * n + b"!\n" for n in (28, 32, 36))
    p = tmp_path / "in" / "console.log"
    p.parent.mkdir()
    p.write_bytes(XFS_OOPS + evil)
    return p


@pytest.mark.timeout(60)
def test_catastrophic_regex_is_disabled_and_the_run_goes_on(tmp_path: Path, sigdir: Path) -> None:
    log = _log(tmp_path)
    t0 = time.monotonic()
    summary = triage.scan(
        [str(log)],
        out=str(tmp_path / "ds"),
        signatures=[str(sigdir)],
        limits=DEFAULT_LIMITS.override(regex_timeout=0.2),
    )
    assert time.monotonic() - t0 < 30
    ds = summary.dataset
    errs = ds.errors
    timeouts = errs[errs["error_class"].astype(str) == "regex-timeout"]
    assert len(timeouts) == 1, errs[["error_class", "message"]]
    msg = str(timeouts["message"].iloc[0])
    assert "local/redos" in msg and "redos.yaml" in msg and "disabled" in msg
    ids = set(ds.findings["signature_id"].astype(str))
    assert "xen-rhel/xfs-panic" in ids and "local/redos" not in ids
    # (a+)+$ ran to completion on every line without tripping the limit
    assert "local/classic" not in " ".join(errs["message"].astype(str))


@pytest.mark.timeout(120)
def test_cli_scan_and_lint(tmp_path: Path, sigdir: Path) -> None:
    log = _log(tmp_path)
    cmd = [sys.executable, "-m", "triage.cli"]
    scan = subprocess.run(
        [
            *cmd,
            "scan",
            str(log),
            "--signatures",
            str(sigdir),
            "--limit",
            "regex_timeout=0.2",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    assert scan.returncode == 1, scan.stderr  # findings, not a usage or fatal error
    assert "local/redos" in scan.stderr and "disabled" in scan.stderr  # the one-line warning
    assert "xen-rhel/xfs-panic" in scan.stdout
    lint = subprocess.run(
        [*cmd, "signatures", "lint", "--signatures", str(sigdir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    warnings = [line for line in lint.stdout.splitlines() if "warning" in line]
    for pattern in (EVIL, CLASSIC):
        assert any("nested quantifier" in w and pattern in w for w in warnings), lint.stdout
