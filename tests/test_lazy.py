"""The names packages serve lazily (triage/lazy.py) are never also the names of submodules."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys

import pytest

PACKAGES = ["triage", "triage.match", "triage.report", "triage.store"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_lazy_name_is_also_a_submodule(package: str) -> None:
    pkg = importlib.import_module(package)
    homes = pkg.__getattr__.homes
    assert homes
    clashes = [n for n in homes if importlib.util.find_spec(f"{package}.{n}") is not None]
    assert clashes == []
    for name, home in homes.items():  # and each is served from where it says
        assert getattr(importlib.import_module(f"{package}.{home}"), name) is not None


def test_a_public_function_stays_one_whatever_was_imported_first() -> None:
    """The order that once turned `triage.match.lint` into a module: its defining module
    imported directly, before the package's name was asked for."""
    code = (
        "import triage.match.linting, triage.match.evaluation; "
        "from triage.match import evaluate, lint; "
        "print(callable(lint) and callable(evaluate))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
