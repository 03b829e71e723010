"""A dataset's rows in a form two runs can be compared by: every table, cells as text, sorted."""

from __future__ import annotations

from pathlib import Path

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


def folders_on_disk(out: Path) -> tuple[set[str], set[str]]:
    """The part and snapshot folders of the dataset at `out`, once it is checked that they are
    exactly those its manifest names or retired (`store/retention.py`): what a reader of this
    manifest or of one before it within the hour may read, and nothing a killed run left."""
    import json

    m = json.loads((out / "manifest.json").read_text())
    retired = m.get("retired", {})
    parts = {p.name for p in (out / "parts").iterdir()}
    snapshots = {p.name for p in (out / "snapshots").iterdir()}
    assert parts == set(m["parts"]) | {f.split("/")[1] for f in retired if f.startswith("parts/")}
    assert snapshots == {m["snapshot"]["id"]} | {
        f.split("/")[1] for f in retired if f.startswith("snapshots/")
    }
    return parts, snapshots
