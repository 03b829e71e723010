"""Signature documents already found to satisfy the schema, remembered across runs.

Validating the library against `schema.json` costs every process that loads signatures about
0.12 s (importing jsonschema, then walking 25 documents), which is a tenth of a one-bundle scan
and a third of a pool worker's start. The answer depends only on the schema's text and the
file's text, so it is kept as a marker in the user's cache (`triage.usercache`) named by the
hash of both: an edited file or schema hashes differently and is validated again, and a file
that fails is never marked, so its problems are reported on every run.
"""

from __future__ import annotations

import hashlib

from triage import usercache

KIND = "valid-signatures"


def key(schema_text: str, doc_text: str) -> str:
    h = hashlib.sha256(schema_text.encode())
    h.update(b"\0")
    h.update(doc_text.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def known_valid(k: str) -> bool:
    return usercache.has(KIND, k)


def remember_valid(k: str) -> None:
    usercache.write(KIND, k)
