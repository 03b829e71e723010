"""How one text log format is described: an RE2 prefix pattern plus a few switches.

Every format is data handed to the one block engine (`engine.py`), so adding a format is a new
`LineFormat`, not new parsing code. The pattern is anchored at the line start and must capture the
whole removable prefix in a group named `pre`; the engine cuts `text` right after it. Other group
names the engine understands (any subset):

- `t_bsd` ("Jan  1 12:00:00", RFC 3164 and journal short; the year comes from the source),
  `t_iso` ("2024-01-01T12:00:00", RFC 3339 / dmesg --time-format iso / journal short-iso),
  `t_ctime` ("Mon Jan  1 12:00:00 2024", dmesg -T), `t_ymd` ("2024-01-01 12:00:00", xenconsoled);
  `f_bsd` / `f_iso` carry the fractional second digits of the layout they follow;
- `mono` (seconds since boot, "12.345678"), `pri` (the `<N>` syslog priority), `lvl` (a level
  name as `dmesg -x` prints it), `hpri` (an RFC 5424 header's `<PRI>`, the level when the
  message has no `<N>`), `host`, `tag`, `pid`, `caller` (`T123`/`C1`, dropped from text);
  `t_unix` / `f_unix` (seconds since the epoch and their fraction, journalctl short-unix).

Patterns are RE2 (pyarrow.compute) syntax: no look-around, no back-references, and no counted
repetition such as `\\S{1,255}`: RE2 unrolls it, and submatch extraction became 3× slower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: What the kernel puts before a message: `<N>` priority, `[ seconds.micro]` printk time and the
#: CONFIG_PRINTK_CALLER id, each optional. One space after a bracket belongs to the prefix; more
#: spaces are the message's own indentation (call-trace lines), which signatures rely on.
KERNEL_PREFIX = (
    r"(?:<(?P<pri>\d+)>)?"
    r"(?:\[\s*(?P<mono>\d+\.\d+)\] ?)?"
    r"(?:\[\s*(?P<caller>[TC]\d+)\] ?)?"
)
#: the usual shape alone (`[   12.345678] `), for the `fast` stage
PRINTK_TIME_ONLY = r"^(?P<pre>\[\s*(?P<mono>\d+\.\d+)\] )"
#: The kernel prefix without a printk time, for formats whose header already carries `mono`.
KERNEL_PREFIX_NO_MONO = r"(?:<(?P<pri>\d+)>)?(?:\[\s*(?P<caller>[TC]\d+)\] ?)?"

#: A syslog program tag with optional `[pid]` and the colon; optional as a whole so that
#: tag-less lines (`-- MARK --`, `last message repeated 3 times`) still parse.
SYSLOG_TAG = r"(?:(?P<tag>[^\s:\[\]]+)(?:\[(?P<pid>\d+)\])?: ?)?"

#: the tag as most lines have it (mandatory, not starting a `<N>`), for the fast header stage
STRICT_TAG = r"(?P<tag>[^\s:\[\]<]+)(?:\[(?P<pid>\d+)\])?: ?"

BSD_TIME = r"(?P<t_bsd>[A-Z][a-z]{2} [ 0-3]\d [0-2]\d:[0-5]\d:[0-6]\d)(?:\.(?P<f_bsd>\d+))?"
ISO_TIME = (
    r"(?P<t_iso>\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d)(?:[.,](?P<f_iso>\d+))?"
    r"(?:Z|[+-]\d\d:?\d\d)?"
)


@dataclass(frozen=True)
class KeepRule:
    """Which lines of a multi-program log are kernel-relevant (the rest are dropped at ingest).

    A line is kept when its tag is in `tags`, when it has no tag and its message matches
    `untagged` (RFC 3164 `-- MARK --`), or when it has no header at all and matches `separator`
    (journal `-- Boot <id> --`). Header-less lines that follow a kept line are kept as its
    continuation; line numbers stay those of the original file.
    """

    tags: frozenset[str]
    untagged: str = ""
    separator: str = ""


@dataclass(frozen=True)
class LineFormat:
    kind: str
    pattern: str
    #: flag header-less lines as FLAG_CONTINUATION once the source has shown prefixed lines
    continuation: bool = False
    #: for multi-program logs: which lines to keep; None keeps every line
    keep: KeepRule | None = None
    #: tag given to header-less separator lines that are kept (journal boot separators)
    separator_tag: str = ""
    #: optional fast path, same meaning as `pattern` split in two: a strict `header` (its own
    #: `pre`) that most lines match, then `body` (its own `pre`) over the message of kept lines
    #: only. Lines the header misses fall back to `pattern`. Worth it when `pattern` ends in
    #: optional parts: RE2 then leaves its fast engines and extraction costs 3× more.
    header: str = ""
    body: str = ""
    #: the header stage does not capture the time: RE2 is 2× slower with a group at the very
    #: start. It is the line's first `header_time_width` bytes, as group `header_time_group`.
    header_time_group: str = ""
    header_time_width: int = 0
    #: a cheaper body for the common shape (`[ 12.345678] `); lines it does not settle (no
    #: match, or a caller id / priority may follow) go through `body`
    body_fast: str = ""
    #: a cheaper whole-line pattern for the common shape, settled the same way as `body_fast`:
    #: a line it matches is done unless the byte after the match is `[`; a line it misses is
    #: done (no prefix) unless it starts with one of `prefix_starts`. Others use `pattern`.
    fast: str = ""
    prefix_starts: bytes = b"[<"
    groups: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        names = tuple(re.findall(r"\(\?P<(\w+)>", self.pattern))
        if "pre" not in names:
            raise ValueError(f"format {self.kind}: pattern lacks the `pre` group")
        object.__setattr__(self, "groups", names)
        if self.header:
            split = set(_groups(self.header)) | set(_groups(self.body))
            split |= {self.header_time_group} - {""}
            if not self.body or not split <= set(names):
                raise ValueError(f"format {self.kind}: header+body groups not in the pattern")


def _groups(pattern: str) -> list[str]:
    return re.findall(r"\(\?P<(\w+)>", pattern)
