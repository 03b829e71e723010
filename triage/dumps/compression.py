"""Page decompression for kdump-compressed dumps, by the page descriptor's flags.

zlib is in the standard library and zstd a core dependency; LZO (the RHEL 7+ default,
`makedumpfile -l`) and snappy need optional extras, and a page that needs a missing one becomes
a `dump-missing-extra` error naming the extra to install.
"""

from __future__ import annotations

import zlib
from typing import Any

from triage.dumps.access import DumpError

ZLIB = 0x1
LZO = 0x2
SNAPPY = 0x4
ZSTD = 0x20

NAMES = {ZLIB: "zlib", LZO: "lzo", SNAPPY: "snappy", ZSTD: "zstd"}
#: module to import, pip extra that provides it
EXTRAS = {LZO: ("lzo", "lzo"), SNAPPY: ("snappy", "snappy"), ZSTD: ("zstandard", "")}

_modules: dict[int, Any] = {}


def method_names(status: int) -> list[str]:
    return [name for bit, name in NAMES.items() if status & bit]


def _module(flag: int) -> Any:
    if flag not in _modules:
        mod_name, extra = EXTRAS[flag]
        try:
            _modules[flag] = __import__(mod_name)
        except ImportError as exc:
            hint = f"pip install 'triage[{extra}]'" if extra else f"pip install {mod_name}"
            raise DumpError(
                "dump-missing-extra",
                f"pages are {NAMES[flag]}-compressed and the Python module '{mod_name}' is not "
                f"installed ({hint})",
            ) from exc
    return _modules[flag]


def decompress_page(flags: int, data: bytes, page_size: int) -> bytes:
    try:
        if flags & ZLIB:
            out = zlib.decompressobj().decompress(data, page_size)
        elif flags & LZO:
            out = _module(LZO).decompress(data, False, page_size)
        elif flags & SNAPPY:
            out = _module(SNAPPY).uncompress(data)
        elif flags & ZSTD:
            out = _module(ZSTD).ZstdDecompressor().decompress(data, max_output_size=page_size)
        else:
            out = data
    except DumpError:
        raise
    except Exception as exc:  # each codec raises its own error type
        name = NAMES.get(flags & (ZLIB | LZO | SNAPPY | ZSTD), "raw")
        raise DumpError("dump-bad-page", f"{name} page does not decompress: {exc}") from exc
    if len(out) != page_size:
        raise DumpError("dump-bad-page", f"page decompressed to {len(out)} bytes, not {page_size}")
    return out
