"""Suite-wide setup: the tests' own cache folder, so no run writes to the user's home."""

from __future__ import annotations

import os
import tempfile

# set at import, before any test, so the CLI subprocesses the tests start inherit it too
os.environ.setdefault("TRIAGE_CACHE_DIR", tempfile.mkdtemp(prefix="triage-test-cache-"))
