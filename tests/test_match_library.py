"""Loading, validating, linting and listing signature files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from triage.limits import DEFAULT_LIMITS
from triage.match import (
    SignatureError,
    lint,
    lint_exit_status,
    list_signatures,
    load_signatures,
    show,
)
from triage.match.regexes import PatternTimeout, risky_constructs, search

EXPECTED_XEN_RHEL = {
    "xen-rhel/rcu-tickless-hang",
    "xen-rhel/migration-lowmem-crash",
    "xen-rhel/xenstore-activity-hang",
    "xen-rhel/xenbus-suspend-mutex",
    "xen-rhel/rhel47-64gib-boot",
    "xen-rhel/host-64gib-crash",
    "xen-rhel/spurious-page-fault",
    "xen-rhel/xfs-panic",
    "xen-rhel/netfront-deadlock",
}

MINIMAL = """\
id: {id}
title: A user rule for testing
kind: crash
status: experimental
references: [{{type: kb, id: KB-1}}]
applies_to: {{distros: [any]}}
evidence: {{line: {{pattern: '{pattern}'}}}}
confidence: {{rules: [], default: low}}
fix: Update the kernel.
tests:
  match: [{{text: "boom"}}]
  no_match: [{{text: "calm"}}]
"""


def _user_sig(
    tmp_path: Path, family: str, name: str, pattern: str = "boom", sig_id: str | None = None
) -> Path:
    d = tmp_path / family
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{name}.yaml"
    p.write_text(MINIMAL.format(id=sig_id or f"{family}/{name}", pattern=pattern), encoding="utf-8")
    return p


def test_builtin_library_has_every_documented_issue():
    ids = set(load_signatures().ids)
    assert ids >= EXPECTED_XEN_RHEL
    assert any(i.startswith("xen-pv/") for i in ids)


def test_builtin_library_lints_clean():
    problems = lint()
    assert lint_exit_status(problems) == 0, "\n".join(map(str, problems))


def test_user_dir_adds_and_digest_changes(tmp_path):
    base = load_signatures()
    _user_sig(tmp_path, "local", "boom")
    both = load_signatures([str(tmp_path)])
    assert "local/boom" in both.ids and len(both) == len(base) + 1
    assert both.digest != base.digest
    assert load_signatures([str(tmp_path)]).digest == both.digest


def test_invalid_user_file_is_one_line_error(tmp_path):
    p = _user_sig(tmp_path, "local", "bad")
    p.write_text(p.read_text().replace("kind: crash", "kind: explosion"))
    with pytest.raises(SignatureError) as exc:
        load_signatures([str(tmp_path)])
    msg = str(exc.value)
    assert str(p) in msg and "kind" in msg and "\n" not in msg


def test_id_must_match_place_and_regex_must_compile(tmp_path):
    _user_sig(tmp_path, "local", "one", sig_id="local/other")
    with pytest.raises(SignatureError, match="does not match its place"):
        load_signatures([str(tmp_path)])
    (tmp_path / "local" / "one.yaml").unlink()
    _user_sig(tmp_path, "local", "two", pattern="(unclosed")
    with pytest.raises(SignatureError, match="does not compile"):
        load_signatures([str(tmp_path)])


def test_lint_flags_duplicates_missing_tests_and_risky_regex(tmp_path):
    _user_sig(tmp_path / "a", "local", "dup")
    _user_sig(tmp_path / "b", "local", "dup")
    risky = _user_sig(tmp_path / "c", "local", "risky", pattern="(a+)+b")
    risky.write_text(risky.read_text().replace('  no_match: [{text: "calm"}]\n', ""))
    problems = lint([str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c")])
    text = "\n".join(map(str, problems))
    assert "duplicate id 'local/dup'" in text
    assert "nested quantifier" in text
    assert "no_match" in text
    assert lint_exit_status(problems) == 1


def test_risky_constructs_and_timeout():
    assert risky_constructs("(a+)+") and risky_constructs(r"(\w*)*x")
    assert not risky_constructs(r"XENBUS: Timeout connecting to devices")
    start = time.monotonic()
    with pytest.raises(PatternTimeout):
        search(r"(a|aa)+$", "a" * 40 + "b", timeout=0.2)
    assert time.monotonic() - start < 5


def test_list_and_show():
    sigset = load_signatures()
    rows = {r["id"]: r for r in list_signatures(sigset)}
    row = rows["xen-rhel/host-64gib-crash"]
    assert "EXT-30" in row["references"] and "RHBZ#448115" in row["references"]
    assert "4.7–4.8" in row["affected"] and row["fix"]
    doc = show(sigset, "xen-rhel/xfs-panic")
    assert doc["id"] == "xen-rhel/xfs-panic" and doc["_path"].endswith("xfs-panic.yaml")
    with pytest.raises(KeyError):
        show(sigset, "xen-rhel/nope")


def test_limits_carry_into_the_set():
    sigset = load_signatures(limits=DEFAULT_LIMITS.override(regex_timeout=0.5))
    assert sigset.limits.regex_timeout == 0.5


def test_a_file_that_passed_the_schema_is_not_validated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    path = _user_sig(tmp_path / "sigs", "local", "boom")
    load_signatures([str(tmp_path / "sigs")])
    marks = tmp_path / "cache" / "valid-signatures"
    first = set(marks.iterdir())
    assert len(first) == len(load_signatures().signatures) + 1  # the library and the user file
    # a fresh process with every file marked never loads the validator
    code = (
        "import sys; from triage.match import load_signatures; "
        f"s = load_signatures([{str(tmp_path / 'sigs')!r}]); "
        "print(len(s.signatures), 'jsonschema' in sys.modules)"
    )
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(first)), "False"]
    # an edit is a new text: validated, and a schema problem is reported again on every load
    path.write_text(path.read_text().replace("status: experimental", "status: bogus"))
    for _ in range(2):
        with pytest.raises(SignatureError, match="status"):
            load_signatures([str(tmp_path / "sigs")])
    assert set(marks.iterdir()) == first


def test_an_unwritable_or_disabled_cache_still_validates(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    _user_sig(tmp_path / "sigs", "local", "boom")
    for setting in (str(blocker), ""):
        monkeypatch.setenv("TRIAGE_CACHE_DIR", setting)
        assert "local/boom" in load_signatures([str(tmp_path / "sigs")]).ids
    bad = _user_sig(tmp_path / "sigs", "local", "bad")
    bad.write_text(bad.read_text().replace("kind: crash", "kind: nonsense"))
    with pytest.raises(SignatureError, match="kind"):
        load_signatures([str(tmp_path / "sigs")])
