"""A journal in one of journalctl's structured forms, read as the text
`journalctl -o short-iso-precise` prints from the same entries:

- JSON (`-o json`, `json-seq`, `json-sse`, `json-pretty`): what support teams ask for when they
  want every field;
- export (`-o export`): `FIELD=value` lines, an entry ending at a blank line, a value that is not
  printable UTF-8 (a multi-line message) as the field's name, its length and its bytes;
- verbose (`-o verbose`): a line of time and cursor, then the fields indented, each line more
  of a value indented to its `=`; sosreport collects it (`journalctl_…_-o_verbose`).

The kernel's entries are in each all the same. Each entry becomes one line, so the line number
of a one-line entry is the export's, and of an entry that spans lines the entry's number:
`2024-03-04T10:00:00.123456+00:00 host tag[pid]: message`, a multi-line message's further
lines after lone CRs (`MESSAGE_LINE`: records of the entry's line), the time from
`__REALTIME_TIMESTAMP` (in verbose, the cursor's `t=`) in UTC. A kernel entry keeps its level
and printk time the way klogd wrote them into syslog (`kernel: <4>[   12.345678] message`), so
the RFC 3339 syslog parser reads both. A line that is not an entry (damaged, cut) passes as
it is; nothing is dropped but the `-- Logs begin at … --` and `-- Boot … --` lines a verbose
dump may have, which would make its text read as journalctl's short form, whose kernel lines
have no printk time (every entry has its own date; boots are found from the kernel's lines).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Protocol

JSON = "journal-json"
EXPORT = "journal-export"
VERBOSE = "journal-verbose"
FORMS = (JSON, EXPORT, VERBOSE)

#: a head is such an export when its first entry has these fields (journalctl always writes
#: the cursor and the times, whatever `--output-fields` asks for)
_MARKS = (b'"__REALTIME_TIMESTAMP"', b'"__MONOTONIC_TIMESTAMP"')
_PREFIXES = ("\x1e", "data: ")  # json-seq's record separator, json-sse's event field
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: an entry that spans more lines than this (json-pretty, export, verbose) is not one
MAX_ENTRY_LINES = 4096
#: what a multi-line message's further lines start with: a lone CR, which ends a record but not
#: the line (the parsers give the records of one line its number), so that the entry stays the
#: one line it is in a JSON export and no entry after it is numbered a line on; a space, so that
#: the line reads as continuing the entry's message (`journalctl` indents it), not as a new entry
MESSAGE_LINE = "\r "
#: a field name, as journald accepts them (`_` first for the trusted ones)
_FIELD = re.compile(rb"[A-Z0-9_]{1,64}")
#: `-o verbose`'s entry line: the time in the zone of the machine that printed it (weekday
#: first), then the cursor, whose `t=` is the entry's time in microseconds (hexadecimal)
_VERBOSE_ENTRY = re.compile(
    rb"(?:[A-Z][a-z]{2} )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: \S+)? "
    rb"\[s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=([0-9a-f]+);x=[0-9a-f]+\]"
)


class LineConverter(Protocol):
    """Whole lines of an export in (without their ends), lines of text out, in order
    (`decompress.py` streams the bytes and cuts them at line ends)."""

    def convert(self, lines: list[bytes]) -> list[bytes]: ...

    def end(self) -> list[bytes]:
        """What is held when the export ends (an entry cut off)."""
        ...


def form_of(head: bytes) -> str | None:
    """Which of the forms `head` starts (JSON, EXPORT or VERBOSE), or None."""
    if is_journal_json(head):
        return JSON
    first = _after_header(head)
    if first.startswith(b"__CURSOR=s=") and b"\n__REALTIME_TIMESTAMP=" in first[:4096]:
        return EXPORT
    if _VERBOSE_ENTRY.match(first) and b"\n    " in first[:4096]:
        return VERBOSE
    return None


def converter_for(form: str) -> LineConverter:
    if form == JSON:
        return JsonLines()
    if form == EXPORT:
        return ExportFieldLines()
    if form == VERBOSE:
        return VerboseLines()
    raise ValueError(f"not a journal form: {form}")


def _after_header(head: bytes) -> bytes:
    """`head` without the `-- Logs begin at … --` line older journalctls print first."""
    if head.startswith(b"-- "):
        end = head.find(b"\n")
        if end > 0 and head[:end].rstrip(b"\r").endswith(b" --"):
            return head[end + 1 :]
    return head


def is_journal_json(head: bytes) -> bool:
    """Whether `head` starts a journal JSON export."""
    first = head.lstrip(b"\x1e \t\r\n")
    if first.startswith(b"data: "):
        first = first[6:]
    if first[:1] != b"{":  # every other head, at the cost of a byte: this runs on each file
        return False
    end = first.find(b"\n")
    line = first if end < 0 else first[:end]
    if line.strip() == b"{":  # json-pretty: the first entry runs to its `}` line
        end = first.find(b"\n}")
        line = first if end < 0 else first[:end]
    return line.startswith(b"{") and all(mark in line for mark in _MARKS)


class JsonLines:
    """A JSON export's lines as text (`LineConverter`). A json-pretty entry is held until its
    `}` line."""

    def __init__(self) -> None:
        self._open: list[bytes] = []  # the lines of a json-pretty entry not yet closed

    def convert(self, lines: list[bytes]) -> list[bytes]:
        out = []
        for raw in lines:
            if self._open:
                self._open.append(raw)
                if raw.strip() == b"}":
                    out.append(_pretty_entry(self._open))
                    self._open = []
                elif len(self._open) > MAX_ENTRY_LINES:  # not an entry: as it is
                    out.extend(self._open)
                    self._open = []
            elif raw.strip() == b"{":
                self._open = [raw]
            else:
                out.append(_entry_line(raw))
        return out

    def end(self) -> list[bytes]:
        """The lines held when the export ends: an entry cut off, as it was."""
        held, self._open = self._open, []
        return held


class _Entries:
    """An entry of fields gathered over lines, written as one line once it ends; its lines as
    they were when it is not an entry (no time, or too long)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.raw: list[bytes] = []

    def add(self, name: bytes, value: bytes) -> None:
        key = name.decode("ascii")
        if key not in self.fields:  # a field given twice: the first, as the JSON form shows
            self.fields[key] = value.decode("utf-8", "surrogateescape")

    def close(self) -> list[bytes]:
        """The entry as one line (its lines as they are when it has no time), forgetting it."""
        fields = self.fields
        raw = self.drop()
        if not raw or "__REALTIME_TIMESTAMP" not in fields:
            return raw
        return [_as_text(fields).encode("utf-8", "surrogateescape")]

    def drop(self) -> list[bytes]:
        """The entry's lines as they are, forgetting it."""
        raw = self.raw
        self.fields, self.raw = {}, []
        return raw


class ExportFieldLines:
    """An `-o export` stream's lines as text (`LineConverter`)."""

    def __init__(self) -> None:
        self._entry = _Entries()
        self._binary: bytes | None = None  # the name of a field whose bytes are being read
        self._bytes: bytes | None = None  # what was read of them

    def convert(self, lines: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        entry = self._entry
        for raw in lines:
            if len(entry.raw) >= MAX_ENTRY_LINES:
                out.extend(self._cut())
            entry.raw.append(raw)
            if self._binary is not None:
                self._more_bytes(raw)
            elif not raw:
                entry.raw.pop()  # the blank line that ends the entry is no line of its own
                out.extend(entry.close())
            elif (eq := raw.find(b"=")) > 0 and _FIELD.fullmatch(raw, 0, eq):
                entry.add(raw[:eq], raw[eq + 1 :])
            elif _FIELD.fullmatch(raw):  # a value that is not printable text follows
                self._binary = raw
            else:  # not an export line: the entry so far, and it, as they are
                out.extend(self._cut())
        return out

    def _more_bytes(self, raw: bytes) -> None:
        """A piece of a binary value: its 64-bit length, then that many bytes, and the line end
        after them (a line end inside them cut the value into lines here)."""
        got = raw if self._bytes is None else self._bytes + b"\n" + raw
        if len(got) >= 8 and len(got) >= 8 + (n := int.from_bytes(got[:8], "little")):
            assert self._binary is not None
            self._entry.add(self._binary, got[8 : 8 + n])
            self._binary, self._bytes = None, None
        else:
            self._bytes = got

    def _cut(self) -> list[bytes]:
        self._binary, self._bytes = None, None
        return self._entry.drop()

    def end(self) -> list[bytes]:
        if self._binary is not None:  # cut inside a value: the lines as they are
            return self._cut()
        return self._entry.close()


class VerboseLines:
    """An `-o verbose` stream's lines as text (`LineConverter`)."""

    def __init__(self) -> None:
        self._entry = _Entries()
        self._name = ""  # the field the last line gave a value to ("" once one is not)
        self._indent = 0  # how far a further line of its value is indented
        self._keep = False  # whether its further lines are kept (its first time in the entry)

    def convert(self, lines: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        entry = self._entry
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line.startswith(b"-- ") and line.endswith(b" --"):
                out.extend(entry.close())
                self._name = ""
            elif (m := _VERBOSE_ENTRY.fullmatch(line)) is not None:
                out.extend(entry.close())
                entry.raw.append(raw)
                entry.fields["__REALTIME_TIMESTAMP"] = str(int(m.group(1), 16))
                self._name = ""
            elif not entry.raw or len(entry.raw) >= MAX_ENTRY_LINES:
                out.extend(entry.close())
                out.append(raw)
            elif self._name and line.startswith(b" " * self._indent):
                entry.raw.append(raw)
                if self._keep:
                    more = line[self._indent :].decode("utf-8", "surrogateescape")
                    entry.fields[self._name] += "\n" + more
            elif (
                line.startswith(b"    ")
                and (eq := line.find(b"=")) > 4
                and _FIELD.fullmatch(line, 4, eq)
            ):
                entry.raw.append(raw)
                self._name, self._indent = line[4:eq].decode("ascii"), eq + 1
                self._keep = self._name not in entry.fields  # given twice: the first is kept
                entry.add(line[4:eq], line[eq + 1 :])
            else:  # not part of an entry: the entry, and this line as it is
                out.extend(entry.close())
                out.append(raw)
                self._name = ""
        return out

    def end(self) -> list[bytes]:
        return self._entry.close()


def _pretty_entry(lines: list[bytes]) -> bytes:
    """One json-pretty entry (its lines from `{` to `}`) as one line, or its lines as they
    are when they are not an entry."""
    raw = b"\n".join(lines)
    return _from_json(raw.decode("utf-8", "surrogateescape"), raw)


def _entry_line(raw: bytes) -> bytes:
    text = raw.decode("utf-8", "surrogateescape")
    body = text.rstrip("\r")
    for prefix in _PREFIXES:
        if body.startswith(prefix):
            body = body[len(prefix) :]
    if not body.startswith("{"):
        return raw
    return _from_json(body, raw)


def _from_json(text: str, raw: bytes) -> bytes:
    """The entry JSON `text` holds as a line of text, or `raw` when it holds none."""
    try:
        entry = json.loads(text)
    except ValueError:
        return raw
    return _as_text(entry).encode("utf-8", "surrogateescape") if isinstance(entry, dict) else raw


def _field(entry: dict[str, Any], name: str) -> str:
    """A field as text: journalctl writes a value that is not UTF-8 as an array of its bytes,
    and a field given more than once as an array of values (the first is shown)."""
    value = entry.get(name)
    if isinstance(value, list) and value and isinstance(value[0], list | str):
        value = value[0]
    if isinstance(value, list):
        return bytes(b & 0xFF for b in value if isinstance(b, int)).decode(
            "utf-8", "surrogateescape"
        )
    return "" if value is None else str(value)


def _as_text(entry: dict[str, Any]) -> str:
    try:
        when = _EPOCH + dt.timedelta(microseconds=int(_field(entry, "__REALTIME_TIMESTAMP")))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    except (ValueError, OverflowError):
        stamp = "-"
    host = _field(entry, "_HOSTNAME") or "-"
    ident = _field(entry, "SYSLOG_IDENTIFIER") or _field(entry, "_COMM") or "-"
    pid = _field(entry, "SYSLOG_PID") or _field(entry, "_PID")
    message = _field(entry, "MESSAGE").replace("\n", MESSAGE_LINE)
    if _field(entry, "_TRANSPORT") == "kernel":
        return f"{stamp} {host} kernel: {_printk_prefix(entry)}{message}"
    tag = f"{ident}[{pid}]" if pid else ident
    return f"{stamp} {host} {tag}: {message}"


def _printk_prefix(entry: dict[str, Any]) -> str:
    """`<level>[seconds] ` of a kernel entry, from its priority and the printk time the kernel
    gave it (`_SOURCE_MONOTONIC_TIMESTAMP`, microseconds since boot)."""
    out = ""
    level = _field(entry, "PRIORITY")
    if level.isdigit():
        out = f"<{level}>"
    micros = _field(entry, "_SOURCE_MONOTONIC_TIMESTAMP")
    if micros.isdigit():
        seconds, us = divmod(int(micros), 1_000_000)
        out += f"[{seconds:5d}.{us:06d}] "
    return out
