"""VMCOREINFO: the `KEY=VALUE` note the kernel leaves for dump readers (2.6.24+ and backports).

It names the addresses and layouts we need (printk variables, struct offsets) so a dump can be
read without vmlinux. Values are hex for SYMBOL and decimal elsewhere, except the arch entries
that print `0x…`; both are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_VMCOREINFO = 1024 * 1024


@dataclass
class VmcoreInfo:
    entries: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: bytes) -> VmcoreInfo:
        text = raw[:MAX_VMCOREINFO].split(b"\0", 1)[0].decode("latin-1")
        entries: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key:
                entries[key.strip()] = value.strip()
        return cls(entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def _int(self, key: str, base: int) -> int | None:
        v = self.entries.get(key)
        if v is None:
            return None
        try:
            if v.lower().startswith(("0x", "-0x")):
                return int(v, 16)
            return int(v, base)
        except ValueError:
            return None

    def symbol(self, name: str) -> int | None:
        return self._int(f"SYMBOL({name})", 16)

    def size(self, *names: str) -> int | None:
        """SIZE of the first struct name present (printk_log was `log` before 3.11)."""
        for n in names:
            v = self._int(f"SIZE({n})", 10)
            if v is not None:
                return v
        return None

    def offset(self, field_name: str, *structs: str) -> int | None:
        for s in structs:
            v = self._int(f"OFFSET({s}.{field_name})", 10)
            if v is not None:
                return v
        return None

    def number(self, name: str) -> int | None:
        return self._int(f"NUMBER({name})", 10)

    @property
    def release(self) -> str:
        return self.entries.get("OSRELEASE", "")

    @property
    def page_size(self) -> int | None:
        return self._int("PAGESIZE", 10)

    @property
    def crash_time(self) -> int | None:
        return self._int("CRASHTIME", 10)

    @property
    def build_id(self) -> str:
        return self.entries.get("BUILD-ID", "")

    @property
    def kernel_offset(self) -> int | None:
        return self._int("KERNELOFFSET", 16)
