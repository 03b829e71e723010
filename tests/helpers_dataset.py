"""A dataset's rows in a form two runs can be compared by: every table, cells as text, sorted."""

from __future__ import annotations

import pandas as pd

import triage

TABLES = ("sources", "lines", "boots", "crashes", "facts", "findings", "errors")


def dataset_rows(out: str, from_parts: bool = False) -> dict[str, pd.DataFrame]:
    """Every table of the dataset at `out`; `from_parts` reads the parts themselves rather than
    the snapshot that stands for them."""
    ds = triage.open_dataset(out)
    if from_parts:
        ds.manifest.pop("snapshot")
    tables = {}
    for name in TABLES:
        df = ds.frame(name).astype(str)
        tables[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return tables


def assert_same_rows(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name, df in a.items():
        pd.testing.assert_frame_equal(df, b[name], obj=name)
