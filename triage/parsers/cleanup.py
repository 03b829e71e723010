"""The slow path for the rare lines the vectorised engine cannot take as they are.

A line comes here when it holds an ESC, a NUL or another C0 control byte, a lone carriage return,
or bytes that are not UTF-8. Arrow strings must be valid UTF-8, yet an engineer must be able to
recover the exact bytes a broken machine wrote, so undecodable bytes are written as `\\xNN` and —
in those lines only, which carry FLAG_INVALID_UTF8 — a literal backslash is doubled. `unescape`
inverts it exactly. vmcore-dmesg writes non-printable bytes the same `\\xNN` way, so the text reads
the same whichever tool produced it.
"""

from __future__ import annotations

import re

from triage.model import FLAG_CONTROL_STRIPPED, FLAG_INVALID_UTF8

#: ANSI/VT100 sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`), charset and single-byte
#: escapes. A lone ESC is dropped by the control-byte rule below.
_ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()*+][0-~]|\x1b[@-Z\\^_=>78]"
)
#: C0 controls and DEL except TAB; CR is handled before (a lone CR splits the line)
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_LONE_CR = re.compile(rb"\r+")
_ESCAPED = re.compile(r"\\(\\|x([0-9a-fA-F]{2}))")


def escape_invalid(data: bytes) -> str:
    """Decode UTF-8, writing undecodable bytes as `\\xNN` and doubling literal backslashes."""
    text = data.decode("utf-8", "surrogateescape")
    out = []
    for ch in text:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    return "".join(out)


def unescape(text: str) -> bytes:
    """The exact bytes behind the text of a line flagged FLAG_INVALID_UTF8."""
    parts: list[bytes] = []
    pos = 0
    for m in _ESCAPED.finditer(text):
        parts.append(text[pos : m.start()].encode("utf-8"))
        parts.append(b"\\" if m.group(1) == "\\" else bytes([int(m.group(2), 16)]))
        pos = m.end()
    parts.append(text[pos:].encode("utf-8"))
    return b"".join(parts)


def trim_partial_utf8(data: bytes) -> bytes:
    """Drop an incomplete UTF-8 sequence left at the end by a length cap."""
    end = len(data)
    back = 0
    while back < 3 and end - back > 0 and 0x80 <= data[end - back - 1] < 0xC0:
        back += 1
    if end - back > 0:
        lead = data[end - back - 1]
        need = 2 if 0xC0 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if lead >= 0xF0 else 1
        if need > back + 1:
            return data[: end - back - 1]
    return data


def clean_line(data: bytes) -> list[tuple[bytes, int]]:
    """Split a raw line at lone CRs and make each piece valid UTF-8 without control bytes.

    Returns (utf-8 bytes, flags) per piece; pieces share the physical line's number, because a
    lone CR on a serial console separates two kernel records that lost their line feed.
    """
    pieces = _LONE_CR.split(data) if b"\r" in data else [data]
    out: list[tuple[bytes, int]] = []
    for piece in pieces:
        flags = 0
        if b"\x1b" in piece:
            piece = _ANSI.sub(b"", piece)
            flags |= FLAG_CONTROL_STRIPPED
        stripped = _CONTROL.sub(b"", piece)
        if len(stripped) != len(piece):
            flags |= FLAG_CONTROL_STRIPPED
        try:
            stripped.decode("utf-8")
            clean = stripped
        except UnicodeDecodeError:
            clean = escape_invalid(stripped).encode("utf-8")
            flags |= FLAG_INVALID_UTF8
        out.append((clean, flags))
    if len(out) > 1 and not out[-1][0]:
        out.pop()
    return out
