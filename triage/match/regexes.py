"""Compiling signature regexes, running them under a time limit, spotting risky constructs.

Signature files come from users as well as from this repository, so a pattern is untrusted
input: a nested quantifier can make a backtracking engine run for hours on one crafted line.
Every match therefore goes through the `regex` module with its `timeout=` argument, and a
pattern that times out disables its signature for the run (the evaluator turns the timeout
into an ErrorRecord). Lint also warns about the constructs that cause this before they ship.
"""

from __future__ import annotations

import functools

import regex

#: quantified group whose body itself ends in a quantifier: `(a+)+`, `(\w*)*`, `(x+|y)+{2,}`
_NESTED_QUANTIFIER = regex.compile(
    r"""
    \(                                   # a group ...
      (?:\?(?:[:>=!]|<[=!]|P?<\w+>))?    #   (any kind)
      (?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*?
      (?:[+*]|\{\d*,\d*\})\??            #   ... whose body ends in an unbounded quantifier
    \)
    (?:[+*]|\{\d*,\d*\})                 # ... itself repeated without bound
    """,
    regex.VERBOSE,
)
#: two adjacent unbounded wildcards can split one run of text in quadratically many ways
_ADJACENT_WILDCARDS = regex.compile(r"\.\*\??\.\*|\.\+\??\.\+|\\s\*\\s\*|\\w\+\\w\+")


class PatternTimeout(Exception):
    """A signature pattern exceeded the regex time limit on some line."""

    def __init__(self, pattern: str, seconds: float) -> None:
        super().__init__(f"pattern {pattern!r} took longer than {seconds:g} s on one line")
        self.pattern = pattern
        self.seconds = seconds


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile with the `regex` module (V0 semantics, like `re`). Raises regex.error."""
    return regex.compile(pattern)


def compile_error(pattern: str) -> str:
    """'' when the pattern compiles, else the compiler's message."""
    try:
        compile_pattern(pattern)
    except (regex.error, TypeError, ValueError, OverflowError) as exc:
        return str(exc)
    return ""


def risky_constructs(pattern: str) -> list[str]:
    """Human descriptions of constructs that can backtrack catastrophically."""
    out = []
    if _NESTED_QUANTIFIER.search(pattern):
        out.append("nested quantifier (a quantified group ending in a quantifier, like (a+)+)")
    if _ADJACENT_WILDCARDS.search(pattern):
        out.append("adjacent unbounded wildcards (like .*.*) that can split text many ways")
    return out


def search(pattern: str, text: str, timeout: float) -> regex.Match[str] | None:
    """`regex.search` under a time limit; PatternTimeout when exceeded."""
    try:
        return compile_pattern(pattern).search(text, timeout=timeout)
    except TimeoutError as exc:
        raise PatternTimeout(pattern, timeout) from exc


def fullmatch(pattern: str, text: str, timeout: float) -> regex.Match[str] | None:
    """`regex.fullmatch` under a time limit: frame names are whole identifiers."""
    try:
        return compile_pattern(pattern).fullmatch(text, timeout=timeout)
    except TimeoutError as exc:
        raise PatternTimeout(pattern, timeout) from exc
