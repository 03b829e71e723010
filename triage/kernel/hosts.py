"""Which machine each line of a source is from, when a source holds several.

A central log server (an rsyslog or syslog-ng loghost) writes the lines of many machines into
one `/var/log/messages` or `kern.log`, each with its own host column. Each machine boots,
crashes and runs its own kernel, so the stages after parsing read such a source one host at a
time: boots are cut on that host's banners and printk clock, a crash report is made of that
host's lines, and signatures see that host's evidence. `host_rows` says which rows are whose.

Almost every source names one host (or none): that is found out with one vectorised
comparison, and the stages then read the source as they always did.

Lines with no host or a placeholder one (`localhost` of a journal's early boot, RFC 5424's `-`)
never make a host of their own: such a line is what a machine logs before it knows its name,
so it belongs to the host whose named lines come next (the one that then names itself), or,
at the end of the source, to the host named last. A host written short in some lines and
fully qualified in others (`web01`, `web01.example.com`) is one host: hosts are told apart by
their first label, lower-cased (an IP address is kept whole).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.model import KIND_JOURNAL, KIND_SYSLOG, KIND_SYSLOG_RFC3339

#: host names that name no machine: the names a machine goes by before it is given its own (the
#: initrd's and an unconfigured system's: systemd, the initscripts, /etc/hosts; the kernel's
#: before anything sets one), RFC 5424's nil value. Lines under them belong to a neighbouring
#: host, and they name a boot only when nothing else does: `journalctl -k` files a boot's first
#: lines under the initrd's `localhost` and the rest under the real name
PLACEHOLDER_HOSTS = frozenset(
    {
        "",
        "-",
        "localhost",
        "localhost.localdomain",
        "localhost6",
        "localhost6.localdomain6",
        "(none)",
        "unknown",
    }
)

#: the kinds of log a central log server gathers from many machines into one file, each line
#: with the name of the machine that logged it. (Not xapi's xensource.log: each host writes its
#: own, and a second name in one is that host renamed.)
GATHERED_KINDS = frozenset({KIND_SYSLOG, KIND_SYSLOG_RFC3339, KIND_JOURNAL})

_ADDRESS = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$")


def host_key(name: str | None) -> str:
    """The machine `name` stands for, as hosts are told apart ("" for none or a placeholder):
    its first label lower-cased, so that a short and a fully qualified spelling agree."""
    if not name:
        return ""
    name = name.strip().rstrip(".").lower()
    if name in PLACEHOLDER_HOSTS:
        return ""
    if _ADDRESS.match(name):
        return name
    return name.split(".", 1)[0]


def rows_by_host(lines: pa.Table, kind: str) -> list[np.ndarray]:
    """`host_rows` of a source of `kind`: [] for a kind no loghost gathers."""
    return host_rows(lines) if kind in GATHERED_KINDS else []


def host_rows(lines: pa.Table) -> list[np.ndarray]:
    """The rows of each host of a source whose lines name two or more, logging at once
    (`_interleaved`) (hosts in the order of their first rows, each host's rows ascending),
    covering every row; [] for a source of one host or none, which the stages read whole as
    before."""
    hosts = lines.column("host")
    n = len(hosts)
    if hosts.null_count == n:
        return []
    first = _first_valid(hosts)
    same = pc.equal(hosts, first)
    if pc.all(same).as_py():  # nulls aside, one spelling throughout: most sources
        return []
    others = pc.unique(hosts.filter(pc.invert(pc.fill_null(same, True))))
    keys = {host_key(first)} | {host_key(x) for x in others.to_pylist()}
    if len(keys - {""}) < 2:  # one machine, with placeholders or two spellings of its name
        return []
    return _rows_of(pc.dictionary_encode(hosts).combine_chunks())


def _interleaved(group: np.ndarray) -> bool:
    """Whether some host's lines come again after another host's: machines logging at once
    into one file. One name after another, each once, is one machine renamed (cloud-init
    setting the name an image booted with, `ip-10-0-0-5` to `web01`) or logs of machines one
    after another: read as one run of lines, as before, it keeps a renamed machine's boot its
    release (cut by hosts, the lines after the rename had no banner, so no release)."""
    runs = group[np.concatenate(([True], group[1:] != group[:-1]))]
    return len(runs) > len(np.unique(runs))


def _first_valid(hosts: pa.ChunkedArray) -> str:
    for chunk in hosts.chunks:
        valid = chunk.drop_null()
        if len(valid):
            return str(valid[0].as_py())
    return ""


def _rows_of(encoded: pa.DictionaryArray) -> list[np.ndarray]:
    """Per host, its rows: those naming it, and the placeholder rows before its named ones
    (or, after the last named row, those after the host named last)."""
    keys = [host_key(x) for x in encoded.dictionary.to_pylist()]
    group = host_groups(encoded, list(dict.fromkeys(k for k in keys if k)))
    if not _interleaved(group):
        return []
    found, first_rows = np.unique(group, return_index=True)
    return [np.flatnonzero(group == g) for g in found[np.argsort(first_rows)].tolist()]


#: `host_groups` of a row of no host or a placeholder one, with no named row around it
NO_HOST = -2


def host_groups(hosts: pa.Array | pa.ChunkedArray, known: list[str]) -> np.ndarray:
    """Per row, the index in `known` (host keys, `host_key`) of the host it belongs to: -1 for
    a host not in `known`; a placeholder row takes the host of the next named row, else of
    the last one (`NO_HOST` when no row is named)."""
    if not isinstance(hosts, pa.DictionaryArray):
        hosts = pc.dictionary_encode(hosts)
        if isinstance(hosts, pa.ChunkedArray):
            hosts = hosts.combine_chunks()
    at_key = {k: i for i, k in enumerate(known)}
    keys = [host_key(x) for x in hosts.dictionary.to_pylist()]
    of_name = np.array([at_key.get(k, -1) if k else NO_HOST for k in keys] + [NO_HOST], np.int64)
    group = of_name[hosts.indices.fill_null(len(keys)).to_numpy(zero_copy_only=False)]
    n = len(group)
    at = np.arange(n)
    named = group != NO_HOST
    nxt = np.minimum.accumulate(np.where(named, at, n)[::-1])[::-1]
    prev = np.maximum.accumulate(np.where(named, at, -1))
    fill = np.where(nxt < n, nxt, prev)
    return np.where(fill >= 0, group[np.maximum(fill, 0)], NO_HOST)
