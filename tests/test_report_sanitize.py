"""sanitize(): log text can never drive the reader's terminal, reorder text or break a writer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from triage.report.sanitize import BIDI_AND_SEPARATORS, sanitize


def _bad(ch: str) -> bool:
    cp = ord(ch)
    return (
        (cp < 0x20 and ch != "\t")
        or 0x7F <= cp <= 0x9F
        or cp in BIDI_AND_SEPARATORS
        or 0xD800 <= cp <= 0xDFFF
    )


def test_ansi_sequences_become_inert_visible_text() -> None:
    out = sanitize("kernel: \x1b[31mred\x1b[0m \x1b]0;owned\x07 \x9b2J")
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert out == "kernel: \\x1b[31mred\\x1b[0m \\x1b]0;owned\\x07 \\x9b2J"


def test_bidi_controls_are_shown_as_code_points() -> None:
    for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        out = sanitize(f"a{chr(cp)}b")
        assert out == f"a\\u{cp:04x}b"


def test_undecodable_bytes_from_surrogateescape_show_as_hex_and_encode() -> None:
    raw = b"ok \xff\xfe end".decode("utf-8", "surrogateescape")
    out = sanitize(raw)
    assert out == "ok \\xff\\xfe end"
    out.encode("utf-8")  # a writer would have raised on the lone surrogates


def test_newlines_kept_only_when_multiline() -> None:
    assert sanitize("one\ntwo") == "one\\x0atwo"
    assert sanitize("one\r\ntwo\n", multiline=True) == "one\ntwo\n"
    assert sanitize("tab\tkept") == "tab\tkept"


def test_plain_and_non_string_values_pass_through() -> None:
    assert sanitize("BUG: soft lockup - CPU#1 stuck for 10s! [swapper:0]").endswith("[swapper:0]")
    assert sanitize("Größe ✓ 日本") == "Größe ✓ 日本"
    assert sanitize(None) == ""
    assert sanitize(812) == "812"


@given(st.text(alphabet=st.characters(codec=None), max_size=80))
def test_output_never_holds_a_dangerous_code_point_and_is_stable(text: str) -> None:
    out = sanitize(text)
    assert not any(_bad(ch) for ch in out)
    assert sanitize(out) == out
