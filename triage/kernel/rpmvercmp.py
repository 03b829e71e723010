"""RPM's version comparison (kernel-release comparisons built on it are in `releases.py`).

Kernel releases must be compared the way RPM orders packages: `2.6.9-89.0.25.EL` is newer than
`2.6.9-89.0.3.EL` (25 > 3 as numbers), `2.6.18-128.1.6.el5` newer than `2.6.18-128.el5` (more
segments win), and a tilde sorts before anything (`1.0~rc1` < `1.0`). This follows rpm's
lib/rpmvercmp.c: maximal runs of digits or of ASCII letters are compared segment by segment (a
number beats letters, numbers compare as integers), other characters only separate segments,
`~` sorts before everything and `^` after the end but before any further segment.
"""

from __future__ import annotations


def _segment(s: str, i: int, digits: bool) -> int:
    n = len(s)
    if digits:
        while i < n and "0" <= s[i] <= "9":
            i += 1
    else:
        while i < n and (("a" <= s[i] <= "z") or ("A" <= s[i] <= "Z")):
            i += 1
    return i


def _is_alnum(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def rpmvercmp(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` sorts before, equal to or after `b` under RPM's rules."""
    if a == b:
        return 0
    i = j = 0
    na, nb = len(a), len(b)
    while i < na or j < nb:
        while i < na and not _is_alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < nb and not _is_alnum(b[j]) and b[j] not in "~^":
            j += 1
        ta = i < na and a[i] == "~"
        tb = j < nb and b[j] == "~"
        if ta or tb:
            if not ta:
                return 1
            if not tb:
                return -1
            i += 1
            j += 1
            continue
        ca = i < na and a[i] == "^"
        cb = j < nb and b[j] == "^"
        if ca or cb:
            if i >= na:
                return -1
            if j >= nb:
                return 1
            if not ca:
                return 1
            if not cb:
                return -1
            i += 1
            j += 1
            continue
        if i >= na or j >= nb:
            break
        digits = "0" <= a[i] <= "9"
        ei = _segment(a, i, digits)
        ej = _segment(b, j, digits)
        sa, sb = a[i:ei], b[j:ej]
        if not sb:  # b has the other kind of segment here: a number beats letters
            return 1 if digits else -1
        if digits:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
        i, j = ei, ej
    if i >= na and j >= nb:
        return 0
    return -1 if i >= na else 1
