"""Writing and reading the Parquet dataset (DESIGN.md §4); DuckDB views over it.

Public API: `DatasetWriter`, `PartData`, `open_dataset(path) -> Dataset`, `Dataset.sql()`.
The names load their modules on first use, so that a caller that only reads the manifest (a
rerun with nothing to do) never imports pyarrow or fsspec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from triage.lazy import lazy_attributes

if TYPE_CHECKING:
    from triage.store.errors import DatasetError
    from triage.store.manifest import read_manifest
    from triage.store.reader import Dataset, open_dataset
    from triage.store.writer import DatasetWriter, PartData

_HOMES = {
    "Dataset": "reader",
    "DatasetError": "errors",
    "open_dataset": "reader",
    "DatasetWriter": "writer",
    "PartData": "writer",
    "read_manifest": "manifest",
}


__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = ["Dataset", "DatasetError", "DatasetWriter", "PartData", "open_dataset", "read_manifest"]
