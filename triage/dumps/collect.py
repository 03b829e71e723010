"""What a format reader found: header values (future facts), the carved log, and errors.

Readers fill one of these as they go, so whatever was read before an inconsistency survives
it: a dump whose printk walk hits a loop still reports its release and crash time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from triage.dumps.access import DumpError

#: new_utsname: six fields of 65 bytes
UTS_FIELD = 65
UTS_FIELDS = ("sysname", "nodename", "release", "version", "machine", "domainname")


@dataclass
class Collected:
    format: str
    values: dict[str, str] = field(default_factory=dict)
    log: bytes | None = None
    errors: list[DumpError] = field(default_factory=list)

    def set(self, key: str, value: object, overwrite: bool = False) -> None:
        text = value if isinstance(value, str) else str(value)
        text = text.strip()
        if not text or (key in self.values and not overwrite):
            return
        self.values[key] = text

    def fail(self, exc: DumpError) -> None:
        self.errors.append(exc)

    def set_time(self, epoch: int | float | None) -> None:
        """crash.time as ISO 8601 UTC; 0 means the collector did not know it."""
        if not epoch or epoch < 0 or epoch > 4_102_444_800:  # after 2100: garbage
            return
        self.set("crash.time", datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def set_uts(self, uts: dict[str, str]) -> None:
        self.set("kernel.release", uts.get("release", ""))
        self.set("kernel.version", uts.get("version", ""))
        self.set("dump.hostname", uts.get("nodename", ""))
        self.set("dump.arch", uts.get("machine", ""))
        domain = uts.get("domainname", "")
        if domain and domain != "(none)":
            self.set("dump.domainname", domain)


def parse_utsname(raw: bytes) -> dict[str, str]:
    """`struct new_utsname` → its six fields; empty when it does not look like one."""
    if len(raw) < UTS_FIELD * 6:
        return {}
    out = {}
    for i, name in enumerate(UTS_FIELDS):
        chunk = raw[i * UTS_FIELD : (i + 1) * UTS_FIELD].split(b"\0", 1)[0]
        out[name] = chunk.decode("utf-8", "replace")
    if not out["sysname"] or not out["release"] or not out["release"][0].isdigit():
        return {}
    return out


def find_utsname(blob: bytes) -> dict[str, str]:
    """Locate `new_utsname` in a small blob (struct uts_namespace) by its `Linux\\0` sysname."""
    pos = 0
    while True:
        pos = blob.find(b"Linux\0", pos)
        if pos < 0:
            return {}
        uts = parse_utsname(blob[pos : pos + UTS_FIELD * 6])
        if uts:
            return uts
        pos += 1


def unpack(fmt: str, data: bytes, offset: int = 0) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as exc:
        raise DumpError("dump-truncated", f"structure cut short ({exc})") from exc
