"""Hyperscan block-mode databases, compiled once per pattern set and kept across runs.

Compiling a database costs 30 to 90 ms for the sets the stages use (the prefilter's anchors,
the literal gates), and every process that scans pays it: each pool worker, and the caller of
a chunked file before its first chunk starts. A serialized database loads in well under a
millisecond, so databases are kept in the user's cache (`triage.usercache`), named by the hash
of the Hyperscan version, the mode, and every expression with its flags and id. One that does
not load (another Hyperscan build, another CPU's features, a damaged file) is compiled afresh.
"""

from __future__ import annotations

import hashlib
from typing import Any

from triage import usercache

KIND = "hyperscan"


def compile_database(expressions: list[bytes], flags: list[int]) -> Any:
    """A block-mode database where expression i reports id i; raises `hyperscan.error` when
    Hyperscan refuses the set (never cached)."""
    import hyperscan

    key = _key(hyperscan, expressions, flags)
    blob = usercache.read(KIND, key)
    if blob is not None:
        try:
            db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)  # checks the database against this CPU
            return db
        except Exception:  # hyperscan.error and its kin: compile it here instead
            pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=expressions, ids=list(range(len(expressions))), flags=flags)
    usercache.write(KIND, key, hyperscan.dumpb(db))
    return db


def _key(hyperscan: Any, expressions: list[bytes], flags: list[int]) -> str:
    h = hashlib.sha256()
    # the package pins the library it bundles; a database of another one fails to load anyway
    h.update(f"{getattr(hyperscan, '__version__', '')}\0block\0".encode())
    for expr, flag in zip(expressions, flags, strict=True):
        h.update(b"%d\0%d\0" % (flag, len(expr)))
        h.update(expr)
    return h.hexdigest()
