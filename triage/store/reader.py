"""Reading a dataset: tables as Arrow-backed pandas DataFrames, and DuckDB SQL over them.

Only the parts the manifest names are read, which is what makes writes atomic from a reader's
point of view (see writer.py). The small tables come from the snapshot when the manifest has a
current one (snapshot.py), `lines` always from the parts.
"""

from __future__ import annotations

import posixpath
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from triage.model import TABLES, empty_table
from triage.store import snapshot
from triage.store.errors import DatasetError
from triage.store.localfs import filesystem
from triage.store.manifest import MANIFEST, PARTS, read_manifest
from triage.store.parquet_read import read_parquet

if TYPE_CHECKING:  # pandas is imported when a frame is asked for: a batch run never needs it
    import pandas as pd


#: what reading a damaged or vanished Parquet file raises (pyarrow's errors subclass these)
_UNREADABLE = (OSError, ValueError, DatasetError)


class Dataset:
    """A triage dataset opened for reading.

    Each table is loaded on first use: `ds.crashes`, `ds.findings`, ... are pandas DataFrames
    with Arrow-backed dtypes; `ds.table("lines")` gives the Arrow table; `ds.sql("…")` runs DuckDB
    SQL with every table available as a view of the same name.
    """

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.fs, self.root = filesystem(self.path)
        manifest = read_manifest(self.fs, self.root)
        if manifest is None:
            raise DatasetError(f"{self.path}: not a triage dataset (no {MANIFEST})")
        self.manifest: dict[str, Any] = manifest
        self._arrow: dict[str, pa.Table] = {}
        self._duck = None
        self._unreadable: dict[str, str] = {}  # tables no view could be made of, and why

    # -- tables ------------------------------------------------------------------------------
    def _snapshot(self, name: str) -> dict[str, Any] | None:
        meta = self.manifest.get("snapshot")
        if name in snapshot.SNAPSHOT_TABLES and snapshot.is_current(
            meta, self.manifest.get("parts", {})
        ):
            return meta
        return None

    def files(self, name: str) -> list[str]:
        """The Parquet files holding table `name` (a snapshot file has an extra `_part` column)."""
        meta = self._snapshot(name)
        if meta is not None:
            return [snapshot.table_path(self.root, meta, name)]
        return self._part_files(name)

    def _part_files(self, name: str) -> list[str]:
        parts = self.manifest.get("parts", {})
        return [
            posixpath.join(self.root, PARTS, pid, f)
            for pid in sorted(parts)
            for f in parts[pid].get("files", {}).get(name, [f"{name}.parquet"])
        ]

    def table(self, name: str) -> pa.Table:
        """Table `name`, read whole. A snapshot file that cannot be read (damaged, or removed
        by a commit since this dataset was opened) is only a copy: the parts are read instead.
        A part that cannot be read is a `DatasetError` naming it, never an empty table."""
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        if name not in self._arrow:
            try:
                self._arrow[name] = self._read(self.files(name), name)
            except _UNREADABLE:
                if self._snapshot(name) is None:
                    raise
                self._arrow[name] = self._read(self._part_files(name), name)
        return self._arrow[name]

    def _read(self, files: list[str], name: str) -> pa.Table:
        schema = TABLES[name]
        parts = []
        for f in files:
            try:
                parts.append(read_parquet(self.fs, f, schema.names).cast(schema))
            except _UNREADABLE as exc:
                said = (str(exc).splitlines() or [""])[0]
                raise DatasetError(
                    self._replaced()
                    or f"{self.path}: {f} cannot be read ({type(exc).__name__}: {said}); "
                    "a run with --force writes the dataset again"
                ) from exc
        return pa.concat_tables(parts) if parts else empty_table(schema)

    def _replaced(self) -> str | None:
        """Why a file this dataset names is gone, when a commit since it was opened deleted it
        (after keeping it an hour: store/retention.py); None when the dataset is the one
        opened, whose file is then damaged or was removed by hand."""
        try:
            now = read_manifest(self.fs, self.root)
        except (OSError, ValueError):
            now = None
        if now is None or now.get("parts") == self.manifest.get("parts"):
            return None
        return (
            f"{self.path}: the dataset was rewritten by a run since it was opened "
            f"(at {now.get('updated', '?')}) and the files this view of it read are gone; "
            "open it again"
        )

    def frame(self, name: str) -> pd.DataFrame:
        import pandas as pd

        return self.table(name).to_pandas(types_mapper=pd.ArrowDtype)

    sources = cached_property(lambda self: self.frame("sources"))
    lines = cached_property(lambda self: self.frame("lines"))
    boots = cached_property(lambda self: self.frame("boots"))
    crashes = cached_property(lambda self: self.frame("crashes"))
    facts = cached_property(lambda self: self.frame("facts"))
    findings = cached_property(lambda self: self.frame("findings"))
    errors = cached_property(lambda self: self.frame("errors"))

    # -- SQL ---------------------------------------------------------------------------------
    def connection(self) -> Any:
        """A DuckDB connection where every table is a view (lazy: Parquet is scanned by DuckDB)."""
        if self._duck is None:
            import duckdb

            con = duckdb.connect()
            local = self.fs.protocol in ("file", "local") or "file" in self.fs.protocol
            for name in TABLES:
                try:
                    self._view(con, name, local)
                except (duckdb.Error, *_UNREADABLE) as exc:
                    # a table that cannot be read fails the queries that name it, not all
                    said = (str(exc).splitlines() or [""])[0]
                    self._unreadable[name] = f"{type(exc).__name__}: {said}"
            self._duck = con
        return self._duck

    def _view(self, con: Any, name: str, local: bool) -> None:
        """The view of table `name`: over its snapshot file, else (that file damaged or
        gone) over its parts."""
        import duckdb

        files = self.files(name)
        if not (files and local):
            con.register(f"_arrow_{name}", self.table(name))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _arrow_{name}")
            return
        cols = ", ".join(f'"{c}"' for c in TABLES[name].names)
        for listed in (files, self._part_files(name)):
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in listed)
            try:
                # (binding the view reads every file's footer: a damaged one fails here)
                con.execute(
                    f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} "
                    f"FROM read_parquet([{listing}], union_by_name=true)"
                )
                return
            except duckdb.Error:
                if listed is not files or self._snapshot(name) is None:
                    raise

    def sql(self, query: str) -> pd.DataFrame:
        """Run DuckDB SQL over the dataset; every table is a view of the same name."""
        import duckdb

        con = self.connection()
        try:
            return con.execute(query).df()
        except duckdb.Error as exc:
            named = [t for t in self._unreadable if re.search(rf"\b{t}\b", query)]
            if named or isinstance(exc, duckdb.IOException):
                replaced = self._replaced()
                if replaced:
                    raise DatasetError(replaced) from None
            if named:
                t = named[0]
                raise DatasetError(
                    f"{self.path}: table {t} cannot be read ({self._unreadable[t]}); "
                    "a run with --force writes the dataset again"
                ) from None
            raise

    # -- helpers for recurring questions ------------------------------------------------------
    def unexplained_crashes(self) -> pd.DataFrame:
        """Crashes no finding explains, grouped by fingerprint: the material for new signatures."""
        return self.sql(
            """
            SELECT c.fingerprint, any_value(c.title) AS title, count(*) AS count,
                   min(c.timestamp) AS first_seen, max(c.timestamp) AS last_seen,
                   list(DISTINCT s.display) AS sources, list(DISTINCT c.release) AS releases,
                   any_value(c.report) AS example
            FROM crashes c JOIN sources s USING (source_id)
            WHERE c.record = 'crash'
              AND c.crash_id NOT IN (SELECT crash_id FROM findings WHERE crash_id <> '')
            GROUP BY c.fingerprint ORDER BY count DESC, title
            """
        )

    def kernels(self) -> pd.DataFrame:
        """Boots by kernel release with distro identity."""
        return self.sql(
            """
            SELECT release, distro, distro_release, flavour, vendor, count(*) AS boots
            FROM boots WHERE release <> '' GROUP BY ALL ORDER BY boots DESC, release
            """
        )

    def __repr__(self) -> str:
        counts = self.manifest.get("counts", {})
        inner = ", ".join(f"{k}={counts.get(k, 0)}" for k in TABLES)
        return f"<triage.Dataset {self.path}: {inner}>"


def open_dataset(path: str) -> Dataset:
    """Open a dataset written by `triage ingest` or `triage scan`."""
    return Dataset(path)
