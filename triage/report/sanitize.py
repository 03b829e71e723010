"""Make log text safe to show in any output format.

Log lines come from broken or hostile machines. Shown raw, an ANSI escape can repaint or retitle
the reader's terminal, a bidi override (U+202E) can make a line read differently from its bytes
("Trojan Source"), and a lone surrogate left by surrogateescape decoding makes UTF-8 writers
raise. Every report format passes its text through `sanitize` first, so the neutralisation is the
same everywhere; format-specific escaping (rich markup, HTML, Markdown pipes) comes after it.

Neutralised sequences stay visible as `\\xNN` / `\\uNNNN` rather than vanishing: an engineer
reading the evidence should see that the log contained something odd.
"""

from __future__ import annotations

import re

#: code points that reorder or hide text: bidi embeddings/overrides/isolates and marks, plus
#: line/paragraph separators that would split one log line in two in line-oriented outputs.
BIDI_AND_SEPARATORS = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)

# What gets replaced: C0 controls except TAB (ESC included, which leaves any ANSI sequence as
# inert printable text), DEL, C1 controls (0x9b is an 8-bit CSI), bidi/separators, and lone
# surrogates (bytes that were not UTF-8).
_BAD = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f"
    + "".join(f"\\u{cp:04x}" for cp in sorted(BIDI_AND_SEPARATORS))
    + "\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    ch = match.group(0)
    cp = ord(ch)
    if 0xDC80 <= cp <= 0xDCFF:  # a byte that surrogateescape could not decode
        return f"\\x{cp - 0xDC00:02x}"
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}"


def sanitize(text: object, *, multiline: bool = False) -> str:
    """Return `text` with terminal escapes, bidi controls and undecodable bytes made inert.

    `multiline` keeps newlines (crash report bodies, fix prose); otherwise a newline inside one
    value is shown as `\\x0a` so a single log line can never fake a second one.
    """
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    if s.isascii() and s.isprintable():
        return s  # the common case: nothing to do, skip the regex work
    if multiline:
        return "\n".join(_clean(part) for part in s.replace("\r\n", "\n").split("\n"))
    return _clean(s)


def _clean(s: str) -> str:
    # ESC becomes the literal text "\\x1b", so a CSI/OSC sequence is left as harmless characters.
    return _BAD.sub(_visible, s)
