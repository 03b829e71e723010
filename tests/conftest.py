"""Suite-wide setup: the tests' own cache folder, so no run writes to the user's home; and the
fixtures several modules share."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor

import pytest

# set at import, before any test, so the CLI subprocesses the tests start inherit it too
os.environ.setdefault("TRIAGE_CACHE_DIR", tempfile.mkdtemp(prefix="triage-test-cache-"))


@pytest.fixture(scope="module")
def sigset():
    """The built-in signature set."""
    from triage import match

    return match.load_signatures()


@pytest.fixture(scope="module")
def pool():
    """A process pool of two, started by the module that uses it (its workers fork from the
    module's state)."""
    with ProcessPoolExecutor(max_workers=2) as executor:
        yield executor
