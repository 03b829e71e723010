"""A journal in one of journalctl's structured forms — JSON (`-o json`, `json-seq`, `json-sse`,
`json-pretty`), `-o export` and `-o verbose` — is read as the text `journalctl -o
short-iso-precise` prints: its kernel entries keep their level, printk time and wall-clock
time, each entry is the line of its number in the export, and nothing is dropped."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

import triage
from triage.model import SourceFile
from triage.sources import read_bytes, walk
from triage.sources.journal_formats import EXPORT, JSON, VERBOSE, form_of, is_journal_json

BOOT = "5d3f6a1e0c2b4a6f8e9d7c5b3a1f0e2d"
SEQNUM_ID = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
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
        "__CURSOR": (
            f"s={SEQNUM_ID};i={i + 1:x};b={BOOT};m={5_000_000 + i * 1000:x};"
            f"t={START + i * 1000:x};x={0x9F3C + i:x}"
        ),
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


def _entries() -> list[dict]:
    return [
        _entry(0, "Linux version 3.10.0-957.el7.x86_64 (mockbuild@x86-040) (gcc) #1 SMP"),
        _entry(1, [65, 99, 99, 101, 112, 116, 101, 100, 32, 0xFF], kernel=False),  # not UTF-8
        _entry(2, "first line\nsecond line", kernel=False),
        *(_entry(3 + j, line) for j, line in enumerate(OOPS)),
    ]


def _export(prefix: str = "") -> bytes:
    return b"".join(
        (prefix + json.dumps(e, separators=(",", ":")) + "\n").encode() for e in _entries()
    )


def _value(v: object) -> bytes:
    return bytes(v) if isinstance(v, list) else str(v).encode()


def _export_form(entries: list[dict]) -> bytes:
    """`journalctl -o export`: a value that is not printable UTF-8 without line ends as its
    field's name, its length (64 bits, little-endian) and its bytes."""
    out = []
    for e in entries:
        for k, v in e.items():
            value = _value(v)
            if b"\n" in value or not value.decode("utf-8", "replace").isprintable():
                out.append(k.encode() + b"\n" + len(value).to_bytes(8, "little") + value + b"\n")
            else:
                out.append(k.encode() + b"=" + value + b"\n")
        out.append(b"\n")
    return b"".join(out)


def _verbose_form(entries: list[dict]) -> bytes:
    """`journalctl --all -o verbose` in UTC: the time and the cursor, then the fields, each line
    more of a value indented to its `=`."""
    out = [b"-- Logs begin at Mon 2024-03-04 09:58:01 UTC, end at Mon 2024-03-04 10:05:00 UTC. --"]
    for e in entries:
        when = dt.datetime.fromtimestamp(int(e["__REALTIME_TIMESTAMP"]) / 1e6, dt.UTC)
        out.append(f"{when:%a %Y-%m-%d %H:%M:%S.%f} UTC [{e['__CURSOR']}]".encode())
        for k, v in e.items():
            if k.startswith("__"):
                continue
            lines = _value(v).split(b"\n")
            pad = b" " * (4 + len(k) + 1)
            out.append(b"    " + k.encode() + b"=" + lines[0])
            out.extend(pad + line for line in lines[1:])
    return b"\n".join(out) + b"\n"


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
    # a message's further line is a record of the entry's line, not a line of its own
    assert (
        text[2 * step]
        == b"2024-03-04T10:00:00.002000+00:00 web07 sshd[812]: first line\r second line"
    )
    assert text[3 * step].endswith(OOPS[0].encode())


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


def test_an_export_saved_as_utf16_reads_as_the_same_text(tmp_path: Path) -> None:
    """Unwrapping goes on while what it gives is converted text: UTF-16, then JSON (`Out-File`
    of `journalctl -o json` in PowerShell), gzip'ed or not."""
    want_path = tmp_path / "journal.json"
    want_path.write_bytes(_export())
    want = read_bytes(_only(want_path)).data
    utf16 = b"\xff\xfe" + _export().decode("utf-8", "surrogateescape").encode(
        "utf-16-le", "surrogatepass"
    )
    for name, data in (("u16.json", utf16), ("u16.json.gz", gzip.compress(utf16))):
        path = tmp_path / name
        path.write_bytes(data)
        src = _only(path)
        assert src.kind == "syslog-rfc3339"
        assert read_bytes(src).data == want


@pytest.mark.parametrize("form", [JSON, EXPORT, VERBOSE])
def test_the_crash_of_an_export_is_found_at_its_entry(tmp_path: Path, form: str) -> None:
    data = {JSON: _export(), EXPORT: _export_form(_entries())}.get(form)
    path = tmp_path / "journal.gz"
    path.write_bytes(gzip.compress(data or _verbose_form(_entries())))
    ds = triage.open_dataset(str(triage.ingest([str(path)], out=str(tmp_path / "ds")).out))
    (crash,) = ds.crashes.itertuples()
    assert (
        crash.title == "BUG: unable to handle kernel NULL pointer dereference in xfs_iflush_cluster"
    )
    lines = ds.lines.set_index("lineno")
    bug = lines.loc[4]  # the fourth entry, after the two-line message
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


def test_export_and_verbose_read_as_the_text_of_the_same_entries(tmp_path: Path) -> None:
    json_path, export_path, verbose_path = (tmp_path / n for n in ("j.json", "e", "v"))
    json_path.write_bytes(_export())
    export_path.write_bytes(_export_form(_entries()))
    verbose_path.write_bytes(_verbose_form(_entries()))
    want = read_bytes(_only(json_path)).data
    for path in (export_path, verbose_path):
        src = _only(path)
        assert (src.kind, src.members) == ("syslog-rfc3339", ("",))
        assert read_bytes(src).data == want  # verbose: without its `-- Logs begin at` line


def test_a_binary_value_whose_length_holds_a_line_end_is_read_whole(tmp_path: Path) -> None:
    """Ten bytes of value: the length's first byte is the line end byte."""
    entries = _entries()
    entries[2]["MESSAGE"] = "first\nline"  # 10 bytes
    path = tmp_path / "journal.export"
    path.write_bytes(_export_form(entries))
    text = read_bytes(_only(path)).data.split(b"\n")
    assert text[2:4] == [
        b"2024-03-04T10:00:00.002000+00:00 web07 sshd[812]: first\r line",
        b"2024-03-04T10:00:00.003000+00:00 web07 kernel: <4>[  523.456792] " + OOPS[0].encode(),
    ]


def test_a_cut_or_damaged_export_or_verbose_dump_loses_nothing(tmp_path: Path) -> None:
    export = _export_form(_entries())
    cut = export[: export.rindex(b"MESSAGE\n") + 12]  # inside the length of a binary value
    path = tmp_path / "journal.export"
    path.write_bytes(cut)
    text = read_bytes(_only(path)).data
    assert text.endswith(cut[cut.rindex(b"\n\n__CURSOR=") + 2 :])  # the cut entry, as it was
    verbose = _verbose_form(_entries()).replace(b"    _HOSTNAME=web07\n", b"garbage\n", 3)
    path = tmp_path / "journal.verbose"
    path.write_bytes(verbose)
    text = read_bytes(_only(path)).data.split(b"\n")
    # the three entries end at the line that is not theirs; their further fields pass as lines
    assert text.count(b"garbage") == 3
    assert sum(t.startswith(b"2024-03-04T") for t in text) == len(_entries())
    assert text.count(b"    MESSAGE=" + _entries()[0]["MESSAGE"].encode()) == 1


def test_only_a_journal_export_is_read_as_one() -> None:
    assert form_of(_export()) == JSON
    assert form_of(_export_form(_entries())) == EXPORT
    assert form_of(_verbose_form(_entries())) == VERBOSE
    assert form_of(_verbose_form(_entries()).split(b"\n", 1)[1]) == VERBOSE
    assert form_of(b"__CURSOR=s=1\nMESSAGE=hello\n") is None  # no time: not journalctl's
    assert form_of(b"Mar  4 10:00:00 web07 kernel: __CURSOR=s=1\n__REALTIME_TIMESTAMP=1\n") is None
    assert (
        form_of(b"-- Logs begin at Mon 2024-03-04 09:58:01 UTC. --\nMar  4 10:00:00 h k: x\n")
        is None
    )
    assert is_journal_json(_export())
    assert is_journal_json(b"\x1e" + _export())
    assert not is_journal_json(b'{"name": "web07", "__REALTIME_TIMESTAMP": 1}\n')
    assert not is_journal_json(b"Mar  4 10:00:00 web07 kernel: __REALTIME_TIMESTAMP\n")


def _pretty(entries: list[dict]) -> bytes:
    """`journalctl -o json-pretty`: each entry over lines, from `{` to `}`."""
    return b"".join(
        (json.dumps(e, indent="\t", separators=(",", " : ")) + "\n").encode() for e in entries
    )


#: each structured form, as journalctl writes the entries
FORMS = {
    "json": lambda es: b"".join(json.dumps(e).encode() + b"\n" for e in es),
    "json-seq": lambda es: b"".join(b"\x1e" + json.dumps(e).encode() + b"\n" for e in es),
    "json-pretty": _pretty,
    "export": _export_form,
    "verbose": _verbose_form,
}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_multi_line_message_moves_no_later_entry(tmp_path: Path, form: str) -> None:
    """A Java stack trace of three lines, then the OOM kill of its process: each entry is the
    line of its number (in a JSON export, the file's line), the trace's further lines records
    of that line, whose kernel message keeps its lines as rows of that number."""
    trace = 'Exception in thread "main" java.lang.OutOfMemoryError\n\tat Foo.bar(Foo.java:10)'
    entries = [
        _entry(0, "e1000: eth0 NIC Link is Up"),
        _entry(1, trace + "\n\tat Foo.main(Foo.java:3)", kernel=False),
        _entry(2, "Out of memory: Killed process 812 (java)\nKilled process 812 (java) anon-rss"),
        _entry(3, "oom_reaper: reaped process 812 (java)"),
    ]
    path = tmp_path / "journal"
    path.write_bytes(FORMS[form](entries))
    ds = triage.open_dataset(str(triage.ingest([str(path)], out=str(tmp_path / "ds")).out))
    rows = ds.sql("SELECT lineno, text FROM lines")
    assert sorted(rows.itertuples(index=False, name=None)) == [
        (1, "e1000: eth0 NIC Link is Up"),
        (3, " Killed process 812 (java) anon-rss"),  # indented, as journalctl prints it
        (3, "Out of memory: Killed process 812 (java)"),
        (4, "oom_reaper: reaped process 812 (java)"),
    ]
    assert list(ds.sources["line_count"]) == [4]
    if form.startswith("json") and form != "json-pretty":  # one entry a line: the file's
        lines = path.read_bytes().split(b"\n")
        assert b"Out of memory" in lines[2] and b"oom_reaper" in lines[3]
    (crash,) = ds.crashes.itertuples()
    assert crash.first_line == 3
