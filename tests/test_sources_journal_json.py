"""A journal exported as JSON (`journalctl -o json`, `json-seq`, `json-sse`, `json-pretty`) is
read as the text `journalctl -o short-iso-precise` prints: its kernel entries keep their level,
printk time and wall-clock time, each entry is the line of its number in the export, and
nothing is dropped."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

import triage
from triage.model import SourceFile
from triage.sources import read_bytes, walk
from triage.sources.journal_json import is_journal_json

BOOT = "5d3f6a1e0c2b4a6f8e9d7c5b3a1f0e2d"
START = 1709546400_000000  # 2024-03-04 10:00:00 UTC, in microseconds
OOPS = [
    "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
    "IP: [<ffffffffa01b2c3d>] xfs_iflush_cluster+0x1ad/0x4a0 [xfs]",
    "Oops: 0000 [#1] SMP",
    "CPU: 1 PID: 512 Comm: xfsaild/dm-2 Not tainted 3.10.0-957.el7.x86_64 #1",
    "Call Trace:",
    " [<ffffffffa01b5a8e>] xfs_iflush+0x13e/0x230 [xfs]",
    " [<ffffffff810b1ef1>] kthread+0xd1/0xe0",
    "---[ end trace 1a2b3c4d5e6f7a8b ]---",
]


def _entry(i: int, message: object, kernel: bool = True, **more: str) -> dict:
    e = {
        "__CURSOR": f"s=0b1c;i={i:x};b={BOOT};m={i:x};t=0;x=0",
        "__REALTIME_TIMESTAMP": str(START + i * 1000),
        "__MONOTONIC_TIMESTAMP": str(5_000_000 + i * 1000),
        "_BOOT_ID": BOOT,
        "_HOSTNAME": "web07",
        "MESSAGE": message,
    }
    if kernel:
        e |= {
            "_TRANSPORT": "kernel",
            "SYSLOG_IDENTIFIER": "kernel",
            "PRIORITY": "4",
            "_SOURCE_MONOTONIC_TIMESTAMP": str(523_456_789 + i),
        }
    else:
        e |= {"_TRANSPORT": "syslog", "SYSLOG_IDENTIFIER": "sshd", "_PID": "812", "PRIORITY": "6"}
    return e | more


def _export(prefix: str = "") -> bytes:
    entries = [
        _entry(0, "Linux version 3.10.0-957.el7.x86_64 (mockbuild@x86-040) (gcc) #1 SMP"),
        _entry(1, [65, 99, 99, 101, 112, 116, 101, 100, 32, 0xFF], kernel=False),  # not UTF-8
        _entry(2, "first line\nsecond line", kernel=False),
        *(_entry(3 + j, line) for j, line in enumerate(OOPS)),
    ]
    return b"".join(
        (prefix + json.dumps(e, separators=(",", ":")) + "\n").encode() for e in entries
    )


def _only(path: Path) -> SourceFile:
    (src,) = [s for s in walk([str(path)]) if isinstance(s, SourceFile)]
    return src


@pytest.mark.parametrize("form, prefix", [("json", ""), ("json-seq", "\x1e"), ("json-sse", "")])
def test_an_export_reads_as_the_text_journalctl_prints(
    tmp_path: Path, form: str, prefix: str
) -> None:
    data = _export(prefix)
    if form == "json-sse":  # `data: ` before each entry, an empty line after
        data = b"".join(b"data: " + line + b"\n\n" for line in data.splitlines())
    path = tmp_path / "journal.json"
    path.write_bytes(data)
    src = _only(path)
    assert (src.kind, src.members) == ("syslog-rfc3339", ("",))
    text = read_bytes(src).data.split(b"\n")
    step = 2 if form == "json-sse" else 1
    assert text[0] == (
        b"2024-03-04T10:00:00.000000+00:00 web07 kernel: <4>[  523.456789] "
        b"Linux version 3.10.0-957.el7.x86_64 (mockbuild@x86-040) (gcc) #1 SMP"
    )
    assert text[step] == b"2024-03-04T10:00:00.001000+00:00 web07 sshd[812]: Accepted \xff"
    assert text[2 * step : 2 * step + 2] == [
        b"2024-03-04T10:00:00.002000+00:00 web07 sshd[812]: first line",
        b" second line",
    ]


def test_a_pretty_export_reads_as_one_line_per_entry(tmp_path: Path) -> None:
    """`-o json-pretty` spreads an entry over lines; it reads as the same text, an entry a line,
    and an entry cut off at the end passes as it is."""
    entries = [json.loads(line) for line in _export().splitlines()]
    pretty = b"".join(
        (json.dumps(e, indent="\t", separators=(",", " : ")) + "\n").encode() for e in entries
    )
    compact = tmp_path / "compact.json"
    compact.write_bytes(_export())
    path = tmp_path / "pretty.json"
    path.write_bytes(pretty)
    assert read_bytes(_only(path)).data == read_bytes(_only(compact)).data
    cut = pretty[: pretty.rindex(b'"MESSAGE"')]
    path.write_bytes(cut)
    text = read_bytes(_only(path)).data
    assert text.startswith(read_bytes(_only(compact)).data.rsplit(b"\n", 2)[0])
    assert text.endswith(cut[cut.rindex(b"\n{") + 1 :])


def test_the_crash_of_an_export_is_found_at_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "journal.json.gz"
    path.write_bytes(gzip.compress(_export()))
    ds = triage.open_dataset(str(triage.ingest([str(path)], out=str(tmp_path / "ds")).out))
    (crash,) = ds.crashes.itertuples()
    assert (
        crash.title == "BUG: unable to handle kernel NULL pointer dereference in xfs_iflush_cluster"
    )
    lines = ds.lines.set_index("lineno")
    bug = lines.loc[5]  # the fourth entry, one line on from the two-line message
    assert bug["text"].startswith("BUG: unable to handle kernel NULL pointer")
    assert bug["mono"] == pytest.approx(523.456792) and bug["level"] == 4
    assert bug["timestamp"] == dt.datetime(2024, 3, 4, 10, 0, 0, 3000)
    assert list(ds.boots["release"]) == ["3.10.0-957.el7.x86_64"]


def test_a_damaged_or_cut_export_loses_nothing(tmp_path: Path) -> None:
    whole = _export()
    damaged = whole.replace(b'"MESSAGE":"Oops', b'"MESSAGE":Oops', 1)  # not JSON any more
    path = tmp_path / "journal.json"
    path.write_bytes(damaged[:-40])  # and cut inside the last entry
    text = read_bytes(_only(path)).data.split(b"\n")
    assert any(line.startswith(b'{"__CURSOR"') and b'"MESSAGE":Oops' in line for line in text)
    assert text[-1] == damaged[:-40].split(b"\n")[-1]  # the cut entry, as it was


def test_only_a_journal_export_is_read_as_one() -> None:
    assert is_journal_json(_export())
    assert is_journal_json(b"\x1e" + _export())
    assert not is_journal_json(b'{"name": "web07", "__REALTIME_TIMESTAMP": 1}\n')
    assert not is_journal_json(b"Mar  4 10:00:00 web07 kernel: __REALTIME_TIMESTAMP\n")
