"""Writing and reading the Parquet dataset (DESIGN.md §4); DuckDB views over it.

Public API: `DatasetWriter`, `PartData`, `open_dataset(path) -> Dataset`, `Dataset.sql()`.
"""

from triage.store.reader import Dataset, DatasetError, open_dataset
from triage.store.writer import DatasetWriter, PartData, read_manifest

__all__ = ["Dataset", "DatasetError", "DatasetWriter", "PartData", "open_dataset", "read_manifest"]
