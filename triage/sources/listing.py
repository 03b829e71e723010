"""What the walk lists of one container (a folder or an archive) and the records a listing
becomes: `Item`s in a `Container`, each file then a `SourceFile` with its role, kind and layout,
its aliases through symbolic links, its rank in a rotated set and the date its year-less lines
end by; sorted so that a rotated set comes oldest first. `DeferredArchive` is an archive a
walk leaves to a worker to list."""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field

from triage.model import KIND_JOURNAL, KIND_UNKNOWN, LOG_KINDS, ErrorRecord, SourceFile
from triage.sources import layouts as L
from triage.sources.detect import Analysis, decide
from triage.sources.errors import make_error


@dataclass(frozen=True)
class DeferredArchive:
    """An archive on disk left unopened by a walk that defers them (`walk(defer_archives=True)`).

    Listing an archive means decompressing it; a batch run hands that to the worker that will
    process the archive anyway, and skips it altogether on a rerun when its digest is unchanged.
    `walk_archive(disk_path, top_name)` gives exactly what the walk would have yielded for it.
    """

    disk_path: str
    top_name: str
    size: int
    mtime: float


Output = SourceFile | ErrorRecord | DeferredArchive


MAX_LINK_HOPS = 40


def display(bundle: str, path: str) -> str:
    return f"{bundle}!{path}" if path and bundle and path != bundle else (path or bundle)


@dataclass
class Item:
    name: str  # container-relative path
    type: str  # file | link | error | nested
    disk_path: str = ""
    members: tuple[str, ...] = ()
    size: int = -1
    mtime: float | None = None
    analysis: Analysis | None = None
    link: str = ""
    error: ErrorRecord | None = None
    nested: list[Output] = field(default_factory=list)
    #: a compressed file whose stream ended early within the head the walk read: said when
    #: its kind is one no read takes (unknown), which would otherwise leave it unexplained
    cut: ErrorRecord | None = None


@dataclass
class Container:
    bundle: str  # the bundle display name for everything listed here
    top_name: str  # the container's own name (roots at the top are named by it)
    default_layout: str
    items: list[Item] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)
    errors: list[ErrorRecord] = field(default_factory=list)
    manifest: bytes | None = None
    #: the stat of the archive on disk whose inflated members are kept as listed (kept.py)
    keep: os.stat_result | None = None


def finalize(c: Container, loose_path: str = "") -> list[Output]:
    files = {it.name: it for it in c.items if it.type == "file"}
    links = {it.name: it for it in c.items if it.type == "link"}
    names = list(files) + list(links) + sorted(c.dirs)
    roots = L.find_roots(names, c.top_name)
    out: list[tuple[tuple, Output]] = []
    for err in c.errors:
        out.append((("",), err))

    aliases: dict[str, list[str]] = {}
    for name in links:
        target, problem = _resolve(name, links, files, c.dirs)
        if problem:
            shown = display(c.bundle, name)
            out.append((_sort_key(name, 0), make_error(shown, problem[0], problem[1])))
        elif target is not None:
            aliases.setdefault(target, []).append(name)

    truncated_paths = _manifest_truncations(c.manifest, roots)
    built: list[tuple[SourceFile, str]] = []
    for name, it in files.items():
        group = [name, *sorted(aliases.get(name, []))]
        roles = {n: L.role_of(n, roots) for n in group}
        path = name if roles[name] else next((n for n in group[1:] if roles[n]), name)
        role = roles[path]
        kind = decide(it.analysis or Analysis(), role)
        sf = _source_file(c, it, path, role, kind, roots, group, truncated_paths, loose_path)
        built.append((sf, path))
        if it.cut is not None and kind == KIND_UNKNOWN:
            out.append((_sort_key(name, 0), it.cut))

    ranks = _rotation_ranks([sf for sf, _ in built], [p for _, p in built])
    for sf, path in built:
        rot = ranks.get(path, 0)
        if rot:
            sf = _replace(sf, rotation=rot)
        out.append((_sort_key(path, rot), sf))
    for it in c.items:
        if it.error is not None:
            out.append((_sort_key(it.name, 0), it.error))
        elif it.type == "nested":
            key = _sort_key(it.name, 0)
            for i, o in enumerate(it.nested):
                out.append(((*key, i), o))
    out.sort(key=lambda pair: pair[0])
    return [o for _, o in out]


def _replace(sf: SourceFile, **kw: object) -> SourceFile:
    from dataclasses import replace

    return replace(sf, **kw)  # type: ignore[arg-type]


def _resolve(
    name: str, links: dict[str, Item], files: dict[str, Item], dirs: set[str]
) -> tuple[str | None, tuple[str, str] | None]:
    seen = {name}
    cur = links[name].link
    for _ in range(MAX_LINK_HOPS):
        if cur in files:
            return cur, None
        if cur + "/" in dirs:
            return None, None  # a link to a directory: its files are listed where they are
        nxt = links.get(cur)
        if nxt is None:
            return None, ("broken-link", f"link target {cur} is not in the bundle")
        if cur in seen:
            break
        seen.add(cur)
        cur = nxt.link
    return None, ("link-loop", "symbolic links form a loop; not followed")


def _sort_key(path: str, rotation: int) -> tuple:
    rot = L.rotation_of(path)
    folder, _, _ = path.rpartition("/")
    base = rot.base.rsplit("/", 1)[-1] if rot.base else path
    return (folder, base, -rotation, path)


def _source_file(
    c: Container,
    it: Item,
    path: str,
    role: str,
    kind: str,
    roots: list[L.Root],
    group: list[str],
    truncated_paths: set[str],
    loose_path: str,
) -> SourceFile:
    mine = L.roots_of(path, roots)
    bundle_roots = [r for r in mine if r.layout in L.BUNDLE_LAYOUTS]
    layout = bundle_roots[0].layout if bundle_roots else c.default_layout
    vm_name = L.vm_name_of(path) if role == "guest-console" else ""
    if not bundle_roots and role == "guest-console":
        layout = L.LAYOUT_XEN_CONSOLE
    truncated = any(
        ("sos_strings/" in n and n.endswith(".tailed")) or n in truncated_paths for n in group
    )
    year_from = _year_from(path, it, kind, mine, c.top_name)
    return SourceFile(
        disk_path=it.disk_path,
        members=it.members,
        bundle=c.bundle,
        path=loose_path or path,
        size=it.size,
        mtime=it.mtime,
        kind=kind,
        layout=layout,
        role=role,
        vm_name=vm_name,
        truncated=bool(truncated),
        year_hint=year_from.year if year_from else None,
        year_from=year_from.isoformat() if year_from else "",
        depth=len(it.members),
    )


def _year_from(
    path: str, it: Item, kind: str, roots: list[L.Root], top_name: str
) -> _dt.date | None:
    """A date the file was written before, whose year is that of its end (or the year before,
    `parsers.years.end_shift`): the end of the journal a journalctl export says it covers, its
    rotation date, else a trustworthy mtime, else the bundle's collection date. An mtime later
    than the collection date is a copy's, not the log's, so the collection date wins then."""
    ends = it.analysis.journal_end if it.analysis is not None and kind == KIND_JOURNAL else ""
    if ends:
        return _dt.date.fromisoformat(ends)
    rot = L.rotation_of(path)
    if rot.date is not None:
        return rot.date
    root_date = None
    for root in reversed(roots):
        name = root.path.rstrip("/").rsplit("/", 1)[-1] if root.path else top_name
        root_date = L.date_in_name(name.rsplit("/", 1)[-1])
        if root_date:
            break
    if root_date is None:
        root_date = L.date_in_name(top_name.rsplit("/", 1)[-1])
    mdate = None
    if it.mtime and it.mtime > 0:
        try:
            mdate = _dt.datetime.fromtimestamp(it.mtime, tz=_dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            mdate = None
    if mdate and (root_date is None or mdate <= root_date + _dt.timedelta(days=2)):
        return mdate
    return root_date


def _rotation_ranks(sfs: list[SourceFile], paths: list[str]) -> dict[str, int]:
    """0 for the live file, then 1, 2… from newest to oldest within each rotated set."""
    groups: dict[str, list[str]] = {}
    for sf, path in zip(sfs, paths, strict=True):
        rot = L.rotation_of(path)
        if rot.rotated and (sf.role or sf.kind in LOG_KINDS):
            groups.setdefault(rot.base, []).append(path)
    ranks: dict[str, int] = {}
    for rotated in groups.values():

        def age(p: str) -> tuple:
            r = L.rotation_of(p)
            day = r.date.toordinal() if r.date else 0
            return (-day, -r.hour, r.number if r.number is not None else 0)

        for i, p in enumerate(sorted(rotated, key=age), 1):
            ranks[p] = i
    return ranks


def _manifest_truncations(manifest: bytes | None, roots: list[L.Root]) -> set[str]:
    """Paths sos says it cut (`"truncated": true` / `"tailed": true` entries), container-relative."""
    if not manifest:
        return set()
    try:
        doc = json.loads(manifest)
    except ValueError:
        return set()
    sos_roots = [r.path for r in roots if r.layout == L.LAYOUT_SOSREPORT] or [""]
    found: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if node.get("truncated") is True or node.get("tailed") is True:
                for key in ("filepath", "dstpath", "path", "file", "files_copied"):
                    val = node.get(key)
                    vals = val if isinstance(val, list) else [val]
                    for v in vals:
                        if isinstance(v, str) and v:
                            for root in sos_roots:
                                found.add(root + v.lstrip("/"))
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(doc)
    return found
