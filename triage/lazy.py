"""Package attributes that load their module on first use (PEP 562).

Packages name their public API in `__init__` but define it in modules that pull in pyarrow,
pandas, DuckDB or the parsers. Importing those with the package would cost every command line
start a tenth of a second or more, although an unchanged rerun, `--help` or a usage error needs
none of them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` serving each name of `homes` from its module
    (`package.<home>`), imported at the first use and then kept as a package attribute."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)
        return value

    # A name must not also be a submodule's: importing `package.name` first sets the package's
    # attribute to the module, and `from package import name` then never asks for the function
    # (tests/test_lazy.py holds every package to it).
    __getattr__.homes = dict(homes)  # type: ignore[attr-defined]
    return __getattr__
