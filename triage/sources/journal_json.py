"""A journal exported as JSON (`journalctl -o json`, `json-seq`, `json-sse`, `json-pretty`),
read as the text `journalctl -o short-iso-precise` prints from the same entries.

Support teams ask for `journalctl -o json` when they want every field; the kernel's entries are
in it all the same. Each entry becomes one line, so line numbers are those of the export (of
json-pretty, whose entries span lines: the entry's number):
`2024-03-04T10:00:00.123456+00:00 host tag[pid]: message`, the time from
`__REALTIME_TIMESTAMP` in UTC. A kernel entry keeps its level and printk time the way klogd
wrote them into syslog (`kernel: <4>[   12.345678] message`), so the RFC 3339 syslog parser reads
both. A line that is not an entry (damaged, cut) passes as it is; nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

#: a head is such an export when its first entry has these fields (journalctl always writes
#: the cursor and the times, whatever `--output-fields` asks for)
_MARKS = (b'"__REALTIME_TIMESTAMP"', b'"__MONOTONIC_TIMESTAMP"')
_PREFIXES = ("\x1e", "data: ")  # json-seq's record separator, json-sse's event field
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: a json-pretty entry (from a `{` line to a `}` line) longer than this is not one
MAX_PRETTY_LINES = 4096


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


class ExportLines:
    """Whole lines of an export in, lines of text out, in order (`decompress.py` streams the
    bytes and cuts them at line ends). A json-pretty entry is held until its `}` line."""

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
                elif len(self._open) > MAX_PRETTY_LINES:  # not an entry: as it is
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


def _pretty_entry(lines: list[bytes]) -> bytes:
    """One json-pretty entry (its lines from `{` to `}`) as one line, or its lines as they
    are when they are not an entry."""
    raw = b"\n".join(lines)
    try:
        entry = json.loads(raw.decode("utf-8", "surrogateescape"))
    except ValueError:
        return raw
    return _as_text(entry).encode("utf-8", "surrogateescape") if isinstance(entry, dict) else raw


def _entry_line(raw: bytes) -> bytes:
    text = raw.decode("utf-8", "surrogateescape")
    body = text.rstrip("\r")
    for prefix in _PREFIXES:
        if body.startswith(prefix):
            body = body[len(prefix) :]
    if not body.startswith("{"):
        return raw
    try:
        entry = json.loads(body)
    except ValueError:
        return raw
    if not isinstance(entry, dict):
        return raw
    return _as_text(entry).encode("utf-8", "surrogateescape")


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
    message = _field(entry, "MESSAGE").replace("\n", "\n ")  # further lines continue it
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
