"""tests/security: make the shared builders in tests/ importable (tests/ has no __init__.py)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
HERE = str(Path(__file__).resolve().parent)
for _p in (TESTS, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)
