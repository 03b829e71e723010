"""Sources for the facts tests, built straight from files and archives.

The facts stage is tested on its own inputs rather than through the sources stage, so this
helper lists a folder the way `triage.sources.walk` documents it (bundle = the archive or the
named folder, path = the member path) and reads members out of tar archives in memory,
following the relative symlinks a sosreport has at its root.
"""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from triage.model import SourceFile

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ARCHIVE_SUFFIXES = (".tar.bz2", ".tar.xz", ".tar.gz", ".tar")


def _tar_members(archive: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(archive, "r:*") as tar:
        members = {m.name: m for m in tar.getmembers()}
        for name, m in members.items():
            target = m
            if m.issym():
                resolved = str(PurePosixPath(name).parent / m.linkname)
                target = members.get(resolved, m)
            if target.isfile():
                fh = tar.extractfile(target)
                if fh is not None:
                    out[name] = fh.read()
    return out


def sources_of(
    root: Path, skip: tuple[str, ...] = ()
) -> tuple[list[SourceFile], Callable[[SourceFile], bytes]]:
    """Every file under `root` (archives opened) as SourceFiles, plus a reader for them.

    `skip` names top folders left out (another area's samples).
    """
    contents: dict[str, bytes] = {}
    sources: list[SourceFile] = []
    files = (p for p in root.rglob("*") if p.is_file())
    for f in sorted(p for p in files if p.relative_to(root).parts[0] not in skip):
        if f.name.endswith(ARCHIVE_SUFFIXES):
            for name, data in sorted(_tar_members(f).items()):
                src = SourceFile(disk_path=str(f), members=(name,), bundle=str(f), path=name)
                contents[src.source_id] = data
                sources.append(src)
            continue
        rel = f.relative_to(root).as_posix()
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        rotation = int(f.suffixes[0][1:]) if f.suffixes and f.suffixes[0][1:].isdigit() else 0
        src = SourceFile(disk_path=str(f), bundle=str(root), path=rel, rotation=rotation)
        contents[src.source_id] = data
        sources.append(src)

    def read(src: SourceFile) -> bytes:
        return contents[src.source_id]

    return sources, read
