"""A dataset's tables as columns of plain Python values, for the report's content model.

The report reads a few columns of five small tables. Going through pandas cost more than all
the rest of a one-file `scan`'s report: importing it alone takes 0.3-0.5 s, paid after the last
source is done. So a triage `Dataset` is read as Arrow and its columns converted to Python
lists, one column at a time, as the builder asks for them. A caller may still hand the report
its own frames (a filtered `ds.findings`, or any object with DataFrame attributes): their cells
are normalised to the same plain values (None for NaN/NaT/NA, datetimes, ints, lists, dicts).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

#: the tables the report reads
REPORT_TABLES = ("sources", "boots", "crashes", "findings", "errors")


class Columns:
    """One table: its row count, and each column as a list of plain values on first use."""

    def __init__(self, source: Any = None) -> None:
        self._source = source
        self._cache: dict[str, list[Any]] = {}
        if source is None:
            self.names: tuple[str, ...] = ()
            self.rows = 0
        elif _is_arrow(source):
            self.names = tuple(source.column_names)
            self.rows = source.num_rows
        else:  # a DataFrame, or anything with `columns`, `len` and `df[name].tolist()`
            self.names = tuple(str(c) for c in source.columns)
            self.rows = len(source)

    def __len__(self) -> int:
        return self.rows

    @property
    def empty(self) -> bool:
        return self.rows == 0

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def col(self, name: str, default: Any = "") -> list[Any]:
        """The column's values; `default` in every row when the table has no such column.
        Missing cells are None (not `default`): the builder decides what they mean."""
        if name not in self.names:
            return [default] * self.rows
        got = self._cache.get(name)
        if got is None:
            if _is_arrow(self._source):
                got = self._source.column(name).to_pylist()
            else:
                got = [plain(v) for v in self._source[name].tolist()]
            self._cache[name] = got
        return got

    def records(self) -> list[dict[str, Any]]:
        """Every row as a dict of plain values (for the few rows of findings and errors)."""
        cols = [self.col(n) for n in self.names]
        return [dict(zip(self.names, row, strict=True)) for row in zip(*cols, strict=True)]


def read_tables(ds: Any) -> dict[str, Columns]:
    """The report's tables of `ds`. A triage `Dataset` gives its Arrow tables, unless the caller
    replaced one of its frames (`ds.findings = ...`), which is then read instead."""
    own = getattr(ds, "__dict__", {})
    table = getattr(ds, "table", None)
    out = {}
    for name in REPORT_TABLES:
        try:
            if callable(table) and name not in own:
                out[name] = Columns(table(name))
            else:
                out[name] = Columns(getattr(ds, name, None))
        except KeyError:  # a table the object does not have reports as empty
            out[name] = Columns()
        # an unreadable one is not: "0 findings" from a damaged dataset would be a lie
    return out


def plain(v: Any) -> Any:
    """A cell as a plain Python value: None for NaN, NaT and pandas' NA; numpy scalars and
    arrays, and pandas Timestamps, as their Python equivalents."""
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    kind = type(v).__name__
    if kind in ("NaTType", "NAType"):
        return None
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if kind == "Timestamp":
        return v.to_pydatetime()
    if type(v).__module__ == "numpy":
        if kind == "ndarray":
            return [plain(x) for x in v.tolist()]
        if kind.startswith("datetime64"):
            return None if v != v else plain(v.item())  # NaT is unequal to itself
        return plain(v.item())
    return v


def as_time(v: Any) -> datetime | None:
    """A timestamp cell as a datetime: strings in ISO form are read; anything else is None."""
    if isinstance(v, datetime):
        return v
    if isinstance(v, str) and v:
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return None
    return None


def as_int(v: Any) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _is_arrow(obj: Any) -> bool:
    return hasattr(obj, "column_names") and hasattr(obj, "num_rows")
