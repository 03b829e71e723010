"""Boot segmentation: which lines of a source belong to which boot of which kernel.

A source (console capture, messages, journal) often spans several boots. A new boot starts at a
`Linux version ` banner, where the printk clock restarts near zero, and at journalctl's
`-- Boot <id> --` separators; the lines a boot prints just before its banner (`PRE_BANNER`: early
kernel lines, a syslog daemon starting, xenconsoled opening the log) open it too. Candidates are
found with vectorised filters; only the few boundary rows are looked at in Python. The banner's
`(user@host)` is the BUILD host, so the machine's name comes from the syslog host column or a
getty `host login:` prompt instead.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.kernel.hosts import host_key, host_rows
from triage.kernel.releases import banner_release, parse_release
from triage.model import Boot
from triage.parsers import columns, literals

#: the boot banner (text has the printk prefix removed already)
BANNER = r"^Linux version \d[^\s]* \("
#: journalctl boot separators (kept by the parsers as their own lines)
SEPARATOR = r"^-- (?:Boot [0-9a-f]{32}|Reboot) --$"
#: oops lines that state the running release when no banner does. Red Hat's kernels print taint
#: flags of their own after the upstream ones, dashes when unset, glued or apart (RHEL 6
#: `Tainted: P    ---------------    2.6.32-431.el6`, RHEL 7 `Tainted: GF   O-------------- 3.10.0`,
#: RHEL 8 `Tainted: G   OE    --------- -  - 4.18.0`): flags are letters, spaces and dashes, as
#: `triage.crashes.fields` reads them
RELEASE_LINES = (
    r"(?:Not tainted|Tainted:[A-Za-z -]*?) +(\d+\.\d+[^\s]*) +#"
    r"|EFLAGS: [0-9a-f]+\s+\((\d+\.\d+[^\s)]*)\)"
)
#: lines telling the machine's name or architecture
HOST_LINE = r"^([A-Za-z0-9][A-Za-z0-9_.-]*) login: *$"
ARCH_HINTS: list[tuple[str, str]] = [
    (r"^RIP: ", "x86_64"),
    (r"^EIP: ", "i386"),
    # x86_64's copy_bootdata (2.6.x), which no i386 kernel has: an early boot death tells it
    (r"^Bootdata ok \(command line is ", "x86_64"),
]
#: a printk clock lower than the line before by this much, and below `RESTART_NEAR`, is a reboot
RESTART_DROP = 1.0
RESTART_NEAR = 10.0
#: a banner this close (rows) after a clock restart belongs to the boot the restart opened
BANNER_MERGE_ROWS = 200
#: a banner later than this in the printk clock is a quoted /proc/version, not a boot
BANNER_MAX_MONO = 60.0

#: what a boot prints in its first moments, before its `Linux version` banner, where a log without
#: a printk clock (syslog, a console without printk.time) shows it: a run of these right before a
#: banner or a clock restart opens that boot, not the one before (message text, from its start)
PRE_BANNER: list[str] = [
    # the kernel ahead of start_kernel's banner
    r"Initializing cgroup subsys \w+$",  # cgroup_init_early, 2.6.24-3.x (RHEL 6, 7)
    r"Bootdata ok \(command line is ",  # x86_64 copy_bootdata, 2.6.x (RHEL 4, 5)
    r"Booting Linux on physical CPU ",  # arm/arm64 smp_setup_processor_id
    r"microcode: microcode updated early to revision ",  # x86 early load (RHEL 8+)
    # the x86 decompressor on a serial console
    r"(?:Dec|Unc)ompressing Linux\.\.\. ",
    r"Booting the kernel\.$",
    r"early console in (?:extract_kernel|decompress_kernel|setup code)$",
    # syslog daemons starting, just before they copy the kernel's ring buffer out
    r"syslogd [\d.]+: restart\.$",  # sysklogd (RHEL 4, 5)
    r"(?:sys|k)logd startup succeeded$",  # RHEL 4 initscripts
    r"(?:klogd|imklog) [^\s,]+, log source = \S+ started\.$",  # klogd, rsyslog's imklog
    r"Inspecting /boot/System\.map",  # klogd without -x loading symbols (Debian)
    r"Loaded \d+ symbols from ",
    r"Symbols match kernel version ",
    r"No module symbols loaded",
    r"Cannot find map file\.$",
    r"\[origin software=\"rsyslogd\" [^\]]*\] start$",
    r"syslog-ng starting up",
    r"(?:sys|k)logd started: BusyBox ",
    # xenconsoled --timestamp opening a guest's console log
    r"Logfile Opened$",
]
#: at most this many rows (and blank ones among them) are taken into a boot ahead of its banner
PRE_BANNER_ROWS = 32
#: and only those logged within this many seconds of it (a log with times)
PRE_BANNER_SECONDS = 60.0

_PRE_BANNER_RE = re.compile("|".join(f"(?:{p})" for p in PRE_BANNER))
_BANNER_RE = re.compile(r"Linux version (\S+)(?: \(([^)@]*)@([^)\s]*)\))?")
#: the banner's build host names who built a RHEL-family kernel, which the release cannot say
BUILD_HOST_DISTRO: list[tuple[str, str]] = [
    (r"\.centos\.org$", "centos"),
    (r"\.oracle\.com$", "oracle"),
    (r"(?:\.fnal\.gov|scientificlinux\.org)$", "scientific"),
    (r"\.rockylinux\.org$", "rocky"),
    (r"\.almalinux\.org$", "almalinux"),
]


@dataclass
class _Hints:
    release: str = ""
    arch: str = ""
    hostname: str = ""


#: every pattern `_mask` runs; a source holding none of a pattern's literals skips its pass
GATED = (BANNER, SEPARATOR, RELEASE_LINES, HOST_LINE, *(p for p, _ in ARCH_HINTS))


def _possible(text: pa.Array) -> set[str]:
    """The patterns of `GATED` that may match some row (see `triage.parsers.literals`)."""
    return literals.gate_for(GATED).possible(text)


def _mask(text: pa.Array, pattern: str, possible: set[str] | None = None) -> np.ndarray:
    if possible is not None and pattern not in possible:
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
        zero_copy_only=False
    )


def _restarts(mono: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose printk clock restarted, and for each the previous row that had a clock."""
    idx = np.flatnonzero(~np.isnan(mono))
    if len(idx) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    vals = mono[idx]
    drop = (vals[:-1] - vals[1:] > RESTART_DROP) & (vals[1:] < RESTART_NEAR)
    return idx[1:][drop], idx[:-1][drop]


def _without_wrap_marker(text: pa.Array, mono: np.ndarray) -> np.ndarray:
    """`mono` with no clock on the rows that stand for the end of the printk buffer, not for
    something the kernel logged: vmcore-dmesg of a 3.5–5.9 kernel prints that zero-filled record
    as an empty `[    0.000000] ` line where the ring wraps, and the clock then goes on from
    where it was. Read as a clock, it restarted there: a boot that never happened."""
    zero = np.flatnonzero(mono == 0.0)
    if not len(zero):
        return mono
    blank = pc.equal(pc.utf8_trim_whitespace(text.take(pa.array(zero))), "")
    marker = zero[pc.fill_null(blank, False).to_numpy(zero_copy_only=False)]
    if not len(marker):
        return mono
    mono = mono.copy()
    mono[marker] = np.nan
    return mono


def _early_start(mono: np.ndarray, banner: int) -> int:
    """First row of the banner's boot: lines printed at the banner's clock just before it
    (microcode and cgroup lines at [0.000000]) are that boot's too."""
    at = mono[banner]
    if np.isnan(at):
        return banner
    lo = max(0, banner - BANNER_MERGE_ROWS)
    late = np.flatnonzero(mono[lo:banner] > at + RESTART_DROP / 2)
    return lo + int(late[-1]) + 1 if len(late) else lo


def _boundaries(
    text: pa.Array,
    mono: np.ndarray,
    possible: set[str] | None = None,
    times: pa.Array | None = None,
) -> tuple[list[int], np.ndarray]:
    """Sorted first rows of boots (row 0 always), and the banner rows.

    One boot, one cut: a banner is not a second cut when a clock restart or a journal separator
    opened its boot shortly before (RHEL 6/7 print `Initializing cgroup subsys` at [0.000000]
    before the banner), and a restart is not a second cut when a banner without a clock or a
    journal separator came between it and the last clocked line. Each cut but a separator then
    moves back over the `PRE_BANNER` lines right before it (`_lead_in`): where no clock says
    so, the lines a boot prints ahead of its banner are still that boot's, and a cut that
    reaches the one before it makes no boot of its own.
    """
    n = len(text)
    banner = _mask(text, BANNER, possible)
    banner &= np.isnan(mono) | (mono < BANNER_MAX_MONO)
    banners = np.flatnonzero(banner)
    seps = np.flatnonzero(_mask(text, SEPARATOR, possible))
    restarts, previous = _restarts(mono)
    # a banner or a journal separator between a restart and the last clocked line before it
    # already opened the boot the restart is in (`-o short-monotonic`: `-- Reboot --`, then
    # `[    0.000000] ... Linux version`)
    opened = np.union1d(banners, seps)
    explained = [
        bool(np.any((opened > p) & (opened < r))) for r, p in zip(restarts, previous, strict=True)
    ]
    starts = sorted(
        set(seps.tolist()) | {int(r) for r, e in zip(restarts, explained, strict=True) if not e}
    )
    cuts = set(starts)
    start_arr = np.array(starts, np.int64)
    for b in banners.tolist():
        prior = start_arr[(start_arr >= b - BANNER_MERGE_ROWS) & (start_arr <= b)]
        if len(prior) and not np.any((banners >= prior[-1]) & (banners < b)):
            continue
        cuts.add(_early_start(mono, b))
    cuts.add(0)
    ordered = sorted(c for c in cuts if 0 <= c < n)
    # a boot's lines ahead of its banner or clock restart (`PRE_BANNER`) are that boot's; a
    # separator is its boot's first line already
    sep_set = set(seps.tolist())
    moved = [
        c if c in sep_set else _lead_in(text, mono, times, c, floor)
        for floor, c in zip([0, *ordered], ordered, strict=False)
    ]
    return sorted(set(moved)), banners


def _lead_in(
    text: pa.Array, mono: np.ndarray, times: pa.Array | None, start: int, floor: int
) -> int:
    """First row of the boot that `start` opens: the run of `PRE_BANNER` lines right before it
    (blank lines among them too), not past `floor` (the boot before's first row), nor past a
    line whose printk clock is later than `start`'s, nor one logged long before it."""
    at = mono[start]
    when = times[start].as_py() if times is not None else None
    first = start
    for r in range(start - 1, max(floor, start - PRE_BANNER_ROWS) - 1, -1):
        if not np.isnan(mono[r]) and not (mono[r] <= at + RESTART_DROP / 2):
            break
        line = text[r].as_py() or ""
        if not line.strip():
            continue
        if not _PRE_BANNER_RE.match(line):
            break
        then = times[r].as_py() if times is not None else None
        if when and then and abs((when - then).total_seconds()) > PRE_BANNER_SECONDS:
            break
        first = r
    return first


def _hints(
    text: pa.Array, rows_boot: np.ndarray, nboots: int, possible: set[str] | None = None
) -> list[_Hints]:
    """Per boot: release from oops lines, arch hints, login-prompt hostname."""
    hints = [_Hints() for _ in range(nboots)]
    has = np.flatnonzero(_mask(text, RELEASE_LINES, possible))
    rx = re.compile(RELEASE_LINES)
    for r in has.tolist():
        h = hints[rows_boot[r]]
        if not h.release:
            m = rx.search(text[r].as_py())
            if m:
                h.release = m.group(1) or m.group(2)
    for pattern, arch in ARCH_HINTS:
        for r in np.flatnonzero(_mask(text, pattern, possible)).tolist():
            hints[rows_boot[r]].arch = hints[rows_boot[r]].arch or arch
    hx = re.compile(HOST_LINE)
    for r in np.flatnonzero(_mask(text, HOST_LINE, possible)).tolist():
        m = hx.match(text[r].as_py())
        if m and host_key(m.group(1)):
            hints[rows_boot[r]].hostname = m.group(1)
    return hints


def segment_boots(
    lines: pa.Table,
    source_id: str,
    possible: set[str] | None = None,
    hosts: list[np.ndarray] | None = None,
) -> tuple[list[Boot], pa.Array]:
    """Boots of one source and the boot_id of every line (`f"{source_id}:{index}"`).

    `possible`: the patterns of `GATED` that may match some line, when the caller knows (it
    ran them over many sources at once); else they are found out here. `hosts`: the rows of
    each host of a source holding several (`hosts.host_rows`, worked out here when None):
    each host's boots are cut from its own lines, numbered together in the order they start."""
    if hosts is None:
        hosts = host_rows(lines) if lines.num_rows else []
    if hosts:
        return _segment_hosts(lines, source_id, possible, hosts)
    return _segment_one(lines, source_id, possible)


def _segment_hosts(
    lines: pa.Table, source_id: str, possible: set[str] | None, hosts: list[np.ndarray]
) -> tuple[list[Boot], pa.Array]:
    """`segment_boots` of a source holding several hosts: each host's lines segmented on their
    own (another host's banner or printk clock is not a reboot of this one), its boots then
    numbered among all the source's by their first line, so that boot ids stay unique."""
    per_host = [_segment_one(lines.take(rows), source_id, possible) for rows in hosts]
    for (boots_of_host, _), rows in zip(per_host, hosts, strict=True):
        _name_placeholders(boots_of_host, lines.column("host").take(pa.array(rows)))
    ranked = sorted(
        ((b.first_line, h, b.index) for h, (boots, _) in enumerate(per_host) for b in boots)
    )
    new_index = {(h, i): k for k, (_, h, i) in enumerate(ranked)}
    row_boot = np.zeros(lines.num_rows, np.int32)
    boots: list[Boot] = []
    for h, (rows, (host_boots, ids)) in enumerate(zip(hosts, per_host, strict=True)):
        old = pa.array([b.boot_id for b in host_boots], pa.string())
        renumber = np.array([new_index[(h, b.index)] for b in host_boots], np.int32)
        row_boot[rows] = renumber[pc.index_in(ids, value_set=old).to_numpy(zero_copy_only=False)]
        boots.extend(
            replace(b, boot_id=f"{source_id}:{k}", index=int(k))
            for b, k in zip(host_boots, renumber.tolist(), strict=True)
        )
    boots.sort(key=lambda b: b.index)
    labels = pa.array([b.boot_id for b in boots], pa.string())
    ids = pa.DictionaryArray.from_arrays(pa.array(row_boot), labels)
    return boots, ids.cast(pa.string())


def _name_placeholders(boots: list[Boot], hosts: pa.ChunkedArray) -> None:
    """A boot of one host of several whose lines mostly name no host (`localhost` before its
    hostname was set) is named as its host's lines name it most: it is that host's boot."""
    if all(host_key(b.hostname) for b in boots):
        return
    names = [x for x in hosts.drop_null().to_pylist() if host_key(x)]
    name = Counter(names).most_common(1)[0][0] if names else ""
    for i, b in enumerate(boots):
        if not host_key(b.hostname):
            boots[i] = replace(b, hostname=name)


def _segment_one(
    lines: pa.Table, source_id: str, possible: set[str] | None = None
) -> tuple[list[Boot], pa.Array]:
    """`segment_boots` of the lines of one host (or of a source naming none)."""
    n = lines.num_rows
    if n == 0:
        return [], pa.array([], pa.string())
    text = columns.one_array(lines.column("text"))
    mono_col = columns.one_array(lines.column("mono"))
    mono = _without_wrap_marker(text, _floats(mono_col))
    ts = columns.one_array(lines.column("timestamp"))
    if possible is None:
        possible = _possible(text)
    rows_boot = None
    unclocked = mono_col.null_count == n  # syslog: no printk clock, so no restart either
    if possible.isdisjoint(GATED) and (unclocked or not len(_restarts(mono)[0])):
        # no banner, separator, hint line or clock restart can be there: one plain boot (most
        # small sources), without the passes that would each find nothing
        cuts, banners, hints = [0], np.zeros(0, np.int64), [_Hints()]
    else:
        cuts, banners = _boundaries(text, mono, possible, ts)
        cut_arr = np.array(cuts, np.int64)
        rows_boot = np.searchsorted(cut_arr, np.arange(n), side="right") - 1
        hints = _hints(text, rows_boot, len(cuts), possible)
    lineno = lines.column("lineno").to_numpy()
    hosts = columns.one_array(lines.column("host"))
    boots: list[Boot] = []
    ends = [*cuts[1:], n]
    for i, (first, end) in enumerate(zip(cuts, ends, strict=True)):
        last = end - 1
        in_boot = banners[(banners >= first) & (banners < end)]
        banner = text[int(in_boot[0])].as_py() if len(in_boot) else ""
        m = _BANNER_RE.match(banner)
        h = hints[i]
        release = m.group(1) if m else h.release
        info = parse_release(release) if release else None
        distro = info.distro if info else ""
        if m and m.group(3) and distro == "rhel":
            build_host = m.group(3)
            distro = next((d for rx, d in BUILD_HOST_DISTRO if re.search(rx, build_host)), distro)
        start_time = _first_value(ts.slice(first, end - first))
        hostname = _most_common(hosts.slice(first, end - first)) or h.hostname
        boots.append(
            Boot(
                boot_id=f"{source_id}:{i}",
                source_id=source_id,
                index=i,
                first_line=int(lineno[first]),
                last_line=int(lineno[last]),
                release=release,
                distro=distro,
                distro_release=banner_release(banner, distro)
                or (info.distro_release if info else ""),
                flavour=info.flavour if info else "",
                vendor=info.vendor if info else "",
                arch=(info.arch if info and info.arch else h.arch),
                hostname=hostname,
                banner=banner,
                start_time=start_time,
            )
        )
    if len(boots) == 1 or rows_boot is None:  # most sources: every line has the one id
        return boots, _repeated([boots[0].boot_id], np.array([n]))
    labels = pa.array([b.boot_id for b in boots], pa.string())
    ids = pa.DictionaryArray.from_arrays(pa.array(rows_boot.astype(np.int32)), labels)
    return boots, ids.cast(pa.string())


class PlainBoot:
    """The one boot `segment_boots` gives a source none of whose lines it looks at (no banner,
    separator, hint line, nor printk clock), worked out from the source's lines a table at a
    time: a log too large to hold is parsed in blocks."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.lines = 0
        self.start_time: Any = None
        self.hosts: dict[str, int] = {}  # in the order first seen

    def add(self, lines: pa.Table) -> None:
        """Count the next lines in."""
        self.lines += lines.num_rows
        if self.start_time is None:
            self.start_time = _first_value(columns.one_array(lines.column("timestamp")))
        counts = pc.value_counts(lines.column("host").drop_null())
        values, tallies = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        for value, n in zip(values, tallies, strict=True):
            if value:
                self.hosts[value] = self.hosts.get(value, 0) + n

    @property
    def boot_id(self) -> str:
        return f"{self.source_id}:0"

    def boots(self) -> list[Boot]:
        """The boot (none for no lines): the most frequent host, the first seen among equals,
        and a real name before a placeholder (`_best_host`)."""
        if not self.lines:
            return []
        hostname = _best_host(self.hosts)
        first, last = 1, self.lines  # and no release, distro, arch nor banner: the defaults
        return [
            Boot(
                self.boot_id,
                self.source_id,
                0,
                first,
                last,
                hostname=hostname,
                start_time=self.start_time,
            )
        ]


def plain_boots(
    tables: list[pa.Table], source_ids: list[str]
) -> list[tuple[list[Boot], pa.Array] | None]:
    """`segment_boots(t, sid, set())` of many sources none of whose lines any gated pattern
    matches, worked out together: each source's own calls cost a folder of ten thousand small
    syslogs more than their parse. None for a source with a printk clock (its clock may
    restart: segmented alone), for one holding several hosts' lines (boots per host) and for
    an empty one. Raises OverflowError past 2 GiB of boot
    ids (about a hundred million lines): the caller then segments each source alone."""
    out: list[tuple[list[Boot], pa.Array] | None] = [None] * len(tables)
    at = [
        i
        for i, t in enumerate(tables)
        if t.num_rows and t.column("mono").null_count == t.num_rows  # no clock: no restart
    ]
    if not at:
        return out
    sizes = np.array([tables[i].num_rows for i in at], np.int64)
    starts = np.zeros(len(at), np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    ends = starts + sizes

    together = pa.concat_tables([tables[i].select(_PLAIN_COLUMNS) for i in at])
    lineno, host, ts = (together.column(c).combine_chunks() for c in _PLAIN_COLUMNS)
    lineno = lineno.to_numpy()
    hostnames = _hosts_of_segments(host, starts, ends)
    valid = np.flatnonzero(ts.is_valid().to_numpy(zero_copy_only=False))
    pos = np.searchsorted(valid, starts)
    found = pos < len(valid)
    first = np.where(found, valid[np.minimum(pos, len(valid) - 1)] if len(valid) else 0, -1)
    found &= first < ends
    times = ts.take(pa.array(np.where(found, first, 0))).to_pylist() if len(valid) else []
    boot_ids = [f"{source_ids[i]}:0" for i in at]
    ids = _repeated(boot_ids, sizes)
    rows = zip(
        at,
        boot_ids,
        starts.tolist(),
        sizes.tolist(),
        lineno[starts].tolist(),
        lineno[ends - 1].tolist(),
        hostnames,
        found.tolist(),
        strict=True,
    )
    for k, (i, boot_id, a, n, first_line, last_line, hostname, dated) in enumerate(rows):
        if hostname is None:  # not one host throughout: counted, or several machines' lines
            if host_rows(tables[i]):
                continue  # boots per host: segmented alone (`segment_boots`)
            hostname = _most_common(tables[i].column("host").combine_chunks())
        boot = Boot(
            boot_id,
            source_ids[i],
            0,
            first_line,
            last_line,
            hostname=hostname,
            start_time=times[k] if dated else None,
        )
        out[i] = ([boot], ids.slice(a, n))
    return out


#: the columns the plain boots of many sources are read from
_PLAIN_COLUMNS = ["lineno", "host", "timestamp"]


def _hosts_of_segments(hosts: pa.Array, starts: np.ndarray, ends: np.ndarray) -> list[str | None]:
    """Per segment [start, end) of `hosts`, the host it names throughout ("" for none or an
    empty one, as `_most_common` says), else None (several: to be counted)."""
    if hosts.null_count == len(hosts):
        return [""] * len(starts)
    encoded = pc.dictionary_encode(hosts)
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.fill_null(-1).to_numpy()
    low = np.minimum.reduceat(codes, starts)
    high = np.maximum.reduceat(codes, starts)
    return [
        ((names[lo] or "") if lo >= 0 else "") if lo == hi else None
        for lo, hi in zip(low.tolist(), high.tolist(), strict=True)
    ]


def _repeated(values: list[str], counts: np.ndarray) -> pa.Array:
    """Each of `values` repeated its count of times, one after the other, as one plain string
    array built from its buffers (a source's boot id on each of its lines; many sources' ids,
    sliced per source by `plain_boots`)."""
    raw = [v.encode("utf-8") for v in values]
    widths = np.repeat(np.array([len(r) for r in raw], np.int64), counts)
    offsets = np.zeros(len(widths) + 1, np.int64)
    np.cumsum(widths, out=offsets[1:])
    if offsets[-1] >= 2**31:  # past what a string array holds (a pack never comes near it)
        raise OverflowError("boot ids of more than 2 GiB")
    data = b"".join(r * int(n) for r, n in zip(raw, counts.tolist(), strict=True))
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(widths), buffers)


def _first_value(arr: pa.Array) -> object:
    """The first non-null value of `arr` as a Python object, else None."""
    if arr.null_count == 0:
        return arr[0].as_py() if len(arr) else None
    valid = arr.drop_null()
    return valid[0].as_py() if len(valid) else None


def _most_common(hosts: pa.Array) -> str:
    """The most frequent non-empty value ("" when none), the first seen among equals, and a
    real name before a placeholder (`_best_host`)."""
    if hosts.null_count == len(hosts):
        return ""
    if not hosts.null_count:
        same = _one_value(hosts)
        if same is not None:  # most sources name one host throughout
            return same
    return _best_host(Counter(x for x in hosts.drop_null().to_pylist() if x))


def _best_host(counts: dict[str, int]) -> str:
    """The most frequent of `counts` (in the order first seen; the first among equals), leaving
    out placeholder names (`localhost`) when a real one is there: "" for none."""
    real = {h: n for h, n in counts.items() if host_key(h)}  # a placeholder has no key
    pool = real or counts
    return max(pool, key=pool.__getitem__) if pool else ""


def _one_value(arr: pa.Array) -> str | None:
    """The value of a null-free string array holding one value throughout, else None; read
    off its bytes (strings of one length, stored one after the other, all equal)."""
    bufs = arr.buffers()
    if not pa.types.is_string(arr.type) or bufs[1] is None or bufs[2] is None:
        return None
    offsets = np.frombuffer(bufs[1], np.int32, count=len(arr) + 1, offset=4 * arr.offset)
    width = int(offsets[1] - offsets[0])
    if width <= 0 or np.any(np.diff(offsets) != width):
        return None
    data = np.frombuffer(bufs[2], np.uint8, count=len(arr) * width, offset=int(offsets[0]))
    rows = data.reshape(len(arr), width)
    return rows[0].tobytes().decode() if bool((rows == rows[0]).all()) else None


def _floats(arr: pa.Array) -> np.ndarray:
    """A float column as numpy, NaN where null."""
    if arr.null_count == len(arr):
        return np.full(len(arr), np.nan)  # most sources: nothing to convert
    return np.asarray(pc.fill_null(arr, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
