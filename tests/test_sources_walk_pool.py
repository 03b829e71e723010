"""A large folder's files probed by a process pool (and by the caller, batch by batch, while
the pool starts) are walked exactly as one process walks them."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from helpers_sources import compress, tar_bytes, write

from triage import sources
from triage.limits import DEFAULT_LIMITS
from triage.sources import walker

ROOT = Path(__file__).resolve().parents[1]
LOGS = [
    ROOT / "samples" / "rhel47-xenU-console.log",
    ROOT / "samples" / "case-xs01" / "guest-rhel47vm.log",
]


def _folder(root: Path) -> Path:
    """Plain logs in two folders, compressed and archived ones, a config file, a bomb-free
    gzip, an empty file, a broken link and a link out of the folder."""
    for i in range(40):
        data = LOGS[i % 2].read_bytes()
        sub = root / ("var/log" if i % 3 else "guests")
        write(sub / f"log{i:02d}.log", data)
        if i % 7 == 0:
            write(sub / f"log{i:02d}.log.gz", compress(data, "gz"))
        if i % 11 == 0:
            write(root / f"bundle{i}.tar.gz", tar_bytes({f"b{i}/messages": data}, compression="gz"))
    write(root / "empty.log", b"")
    write(root / "xensource-inventory", b"INSTALLATION_UUID='0b6c1c36'\n")
    os.symlink(root / "missing", root / "broken")
    os.symlink("/etc/hostname", root / "outside")
    return root


@pytest.mark.parametrize("defer", [True, False])
def test_a_pool_probing_a_folder_walks_it_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, defer: bool
) -> None:
    root = _folder(tmp_path / "case")
    monkeypatch.setattr(walker, "PROBE_BATCH", 3)  # many batches from a few dozen files
    alone = list(sources.walk([str(root)], DEFAULT_LIMITS, defer_archives=defer))
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = list(
            sources.walk([str(root)], DEFAULT_LIMITS, defer_archives=defer, executor=pool)
        )
    assert len(alone) > 50
    assert pooled == alone
    # the pool's side on its own (the walk above may have taken every batch in the caller)
    files = sorted(p for p in root.rglob("*.log*") if p.is_file() and not p.is_symlink())
    probes = [
        walker._Probe(
            str(f), str(f), f.name, str(f), f.name, st.st_size, st.st_mtime, st.st_mtime_ns
        )
        for f in files
        for st in [f.stat()]
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = pool.submit(walker._probe_files, probes, DEFAULT_LIMITS, defer).result()
    assert remote == walker._probe_files(probes, DEFAULT_LIMITS, defer)
    assert {i.type for i in remote} >= {"file"}
    kinds = {getattr(s, "kind", None) for s in alone}
    assert {"console", "config"} <= kinds  # the probe's verdicts are in the comparison


class _OwnedPool(ProcessPoolExecutor):
    """A pool whose owner has work of its own for it (as a run's warming of its workers),
    recording the order in which the walk and the owner hand it work."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.order: list[str] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        self.order.append(getattr(fn, "__name__", "?"))
        return super().submit(fn, *args, **kwargs)

    def after_probes(self) -> None:
        self.order.append("owner")


@pytest.mark.parametrize("batch", [3, 10_000])
def test_a_walk_queues_the_heads_a_pool_reads_before_its_owners_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The owner's work goes behind the heads the pool is to read (so that its workers read
    them first); a walk that reads every head itself tells the owner at once."""
    root = _folder(tmp_path / "case")
    monkeypatch.setattr(walker, "PROBE_BATCH", batch)
    with _OwnedPool() as pool:
        walked = list(sources.walk([str(root)], DEFAULT_LIMITS, executor=pool))
    assert walked == list(sources.walk([str(root)], DEFAULT_LIMITS))
    if batch == 3:  # a few dozen files in batches of 3: the pool reads heads
        assert pool.order[-1] == "owner" and pool.order.count("owner") == 1
        assert len(pool.order) > 10 and set(pool.order[:-1]) == {"_probe_files"}
    else:  # too few files for a pool: read in the caller, and nothing queued before the owner
        assert pool.order == ["owner"]
