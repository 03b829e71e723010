"""Whether a line pattern keeps its meaning when run over many lines joined by newlines.

Detection classifies up to a hundred lines per file, one `re` match each; a folder of small
logs spends most of its walk on those calls. When every line of a head has one same shape,
one match over the joined lines can confirm it instead (`detect._ShapeTable.uniform`). That
is only the same answer when the patterns involved cannot see past the end of their line:

- the shape that matches must be *line-local*: nothing in it can consume a newline (no
  `\\s`, no negated class without `\\n`, no `.` under DOTALL), so its match over the joined
  text is a match within one line. `confined` makes it so, taking the newline out of its
  sets, which changes nothing on a line alone;
- each shape tried before it must be *joinable*: whenever it matches a line alone, it also
  matches that line within the joined text (run with MULTILINE, where `$` holds before each
  newline). Look-arounds, `\\A`/`\\Z`/`^`, conditionals and back-references can break that;
  atomic groups and possessive repeats can too, unless what they hold is line-local.

A pattern this cannot vouch for simply keeps the line-by-line path.
"""

from __future__ import annotations

import functools
from re import _constants as _c
from re import _parser
from typing import Any

_NEWLINE = 0x0A
#: categories that never hold a newline (`\d`, `\w`, `\S`)
_NO_NEWLINE_CATEGORIES = {_c.CATEGORY_DIGIT, _c.CATEGORY_WORD, _c.CATEGORY_NOT_SPACE}
#: zero-width assertions that read the same at a line's end as before the newline after it
_SAFE_AT = {_c.AT_END, _c.AT_BOUNDARY, _c.AT_NON_BOUNDARY}


@functools.cache
def line_local(pattern: bytes) -> bool:
    """Whether no match of `pattern` can hold a newline."""
    try:
        parsed = _parser.parse(pattern)
    except Exception:
        return False
    return not parsed.state.flags & _c.SRE_FLAG_DOTALL and _local(list(parsed))


@functools.cache
def confined(pattern: bytes) -> bytes | None:
    """`pattern` with the newline taken out of every set it could match in (`\\s`, `[^…]`):
    the same matches on a string without newlines, none holding one. None when that cannot
    be written here (a class holding `\\D`, `\\W`, `\\S`), or the result is still not
    `line_local`."""
    out = bytearray()
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    while i < n:
        c = pattern[i : i + 1]
        if c == b"\\":
            esc = pattern[i : i + 2]
            if esc == b"\\s":
                out += _SPACE_NO_NEWLINE if in_class else b"[" + _SPACE_NO_NEWLINE + b"]"
            elif esc in (b"\\D", b"\\W"):
                if in_class:
                    return None
                out += b"[^" + esc.replace(b"D", b"d").replace(b"W", b"w") + b"\\n]"
            elif esc == b"\\S" and in_class:
                return None
            else:
                out += esc
            i += 2
            continue
        if in_class:
            if c == b"]" and i > class_start:
                in_class = False
            out += c
            i += 1
            continue
        if c == b"[":
            in_class = True
            if pattern[i + 1 : i + 2] == b"^":
                out += b"[^\\n"
                i += 2
            else:
                out += c
                i += 1
            class_start = i  # a `]` right here is a member, not the end
            continue
        out += c
        i += 1
    got = bytes(out)
    return got if line_local(got) else None


#: the whitespace of `\\s` but the newline, for inside a character class
_SPACE_NO_NEWLINE = b" \\t\\r\\x0b\\x0c"


@functools.cache
def joinable(pattern: bytes) -> bool:
    """Whether `pattern` matching a line alone implies it matches that line at the same
    place in lines joined by newlines (compiled with MULTILINE)."""
    try:
        parsed = _parser.parse(pattern)
    except Exception:
        return False
    return _joinable(list(parsed))


def _class_can_newline(items: list[Any]) -> bool:
    negate = False
    hit = False
    for op, arg in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            hit = hit or arg == _NEWLINE
        elif op is _c.RANGE:
            hit = hit or arg[0] <= _NEWLINE <= arg[1]
        elif op is _c.CATEGORY:
            hit = hit or arg not in _NO_NEWLINE_CATEGORIES
        else:
            return True
    return not hit if negate else hit


def _local(items: list[Any]) -> bool:
    for op, arg in items:
        if op is _c.LITERAL:
            if arg == _NEWLINE:
                return False
        elif op is _c.NOT_LITERAL:
            if arg != _NEWLINE:
                return False
        elif op is _c.IN:
            if _class_can_newline(arg):
                return False
        elif op is _c.ANY:
            continue  # `.` stops at a newline (DOTALL is refused above)
        elif op is _c.AT:
            if arg not in _SAFE_AT:
                return False
        elif op is _c.SUBPATTERN:
            if arg[1] or arg[2] or not _local(list(arg[3])):  # no flags changed inside
                return False
        elif op is _c.BRANCH:
            if not all(_local(list(a)) for a in arg[1]):
                return False
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            if not _local(list(arg[2])):
                return False
        elif op is _c.ATOMIC_GROUP:
            if not _local(list(arg)):
                return False
        else:  # look-arounds, back-references, conditionals, anything not known here
            return False
    return True


def _joinable(items: list[Any]) -> bool:
    for op, arg in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY):
            continue  # the same bytes either way
        if op is _c.AT:
            if arg not in _SAFE_AT:
                return False
        elif op is _c.SUBPATTERN:
            if arg[1] or arg[2] or not _joinable(list(arg[3])):
                return False
        elif op is _c.BRANCH:
            if not all(_joinable(list(a)) for a in arg[1]):
                return False
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            if not _joinable(list(arg[2])):
                return False
        elif op is _c.POSSESSIVE_REPEAT:
            if not _local(list(arg[2])):  # it could eat past the newline and not give back
                return False
        elif op is _c.ATOMIC_GROUP:
            if not _local(list(arg)):
                return False
        else:
            return False
    return True
