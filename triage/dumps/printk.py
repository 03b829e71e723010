"""Carving the kernel log out of the printk buffer, for all three generations of it.

The output is byte-for-byte what kexec-tools' `vmcore-dmesg` writes, so the text parsers read
it as a `vmcore-dmesg` source: the raw ring for legacy kernels (with `<N>` prefixes), and
`[%5lu.%06lu] text` per record for structured and lockless buffers, non-printable bytes as
`\\xNN`. One deliberate difference: for structured buffers vmcore-dmesg prints the zero-length
end-of-buffer marker as an empty `[    0.000000] ` line; we drop it, because a zero timestamp
mid-log reads as a reboot to the boot segmenter.

Every index, length and pointer comes from the dump, so each is bounded and record walks stop
on cycles (a `dump-cycle` error with the text carved so far kept).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from triage.dumps.access import DumpError
from triage.dumps.memory import KernelMemory
from triage.dumps.vmcoreinfo import VmcoreInfo

#: largest log buffer we accept (the kernel caps `log_buf_len=` well below this in practice)
MAX_LOG_BUF = 256 * 1024 * 1024
#: largest lockless descriptor ring (2^count_bits records)
MAX_DESC_BITS = 24

_UNPRINTABLE = re.compile(rb"[^\x09-\x0d\x20-\x7e]")


def _escape(text: bytes) -> bytes:
    return _UNPRINTABLE.sub(lambda m: b"\\x%02x" % m[0][0], text)


def _stamp(ts_nsec: int) -> bytes:
    sec, rem = divmod(ts_nsec, 1_000_000_000)
    return b"[%5d.%06d] " % (sec, rem // 1000)


@dataclass
class Carved:
    generation: str  # legacy | structured | lockless
    text: bytes
    error: DumpError | None = None  # a walk that stopped early keeps what it read


@dataclass
class LegacySymbols:
    """Addresses of the ≤3.4 printk variables, from VMCOREINFO or a System.map."""

    log_buf: int
    log_buf_len: int
    log_end: int
    log_end_size: int = 4  # `unsigned long` before 2.6.25, `unsigned` after


def generation(info: VmcoreInfo) -> str | None:
    if info.symbol("prb") is not None:
        return "lockless"
    if info.symbol("log_first_idx") is not None:
        return "structured"
    if info.symbol("log_buf") is not None and info.symbol("log_end") is not None:
        return "legacy"
    return None


def carve(mem: KernelMemory, info: VmcoreInfo, release: str = "") -> Carved:
    gen = generation(info)
    if gen == "lockless":
        return carve_lockless(mem, info)
    if gen == "structured":
        return carve_structured(mem, info)
    if gen == "legacy":
        syms = LegacySymbols(
            log_buf=_need(info.symbol("log_buf"), "SYMBOL(log_buf)"),
            log_buf_len=_need(info.symbol("log_buf_len"), "SYMBOL(log_buf_len)"),
            log_end=_need(info.symbol("log_end"), "SYMBOL(log_end)"),
            log_end_size=legacy_log_end_size(release, mem.layout.ptr_size),
        )
        return carve_legacy(mem, syms)
    raise DumpError(
        "dump-no-printk", "VMCOREINFO names no printk buffer (no prb, log_first_idx or log_end)"
    )


def legacy_log_end_size(release: str, ptr_size: int) -> int:
    """`log_end` became `unsigned` in 2.6.25; before that it is an `unsigned long`."""
    m = re.match(r"2\.6\.(\d+)", release)
    if m and int(m.group(1)) < 25:
        return ptr_size
    return 4


def _need(value: int | None, what: str) -> int:
    if value is None:
        raise DumpError("dump-no-printk", f"VMCOREINFO lacks {what}")
    return value


def _buf_len(value: int, what: str) -> int:
    if value <= 0 or value > MAX_LOG_BUF:
        raise DumpError("dump-bad-size", f"{what} of {value} bytes is out of range")
    return value


def carve_legacy(mem: KernelMemory, syms: LegacySymbols) -> Carved:
    """≤3.4: a plain character ring; keep the last min(log_end, len) bytes ending at log_end."""
    buf = mem.ulong(syms.log_buf)
    size = _buf_len(
        struct.unpack(mem.layout.endian + "i", mem.read(syms.log_buf_len, 4))[0], "log_buf_len"
    )
    end = mem.uint(syms.log_end, syms.log_end_size) & 0xFFFFFFFF
    ring = mem.read(buf, size)
    cut = end % size
    ordered = ring[cut:] + ring[:cut]
    logged = min(end, size)
    return Carved("legacy", ordered[size - logged :])


def carve_structured(mem: KernelMemory, info: VmcoreInfo) -> Carved:
    """3.5–5.9: variable-length `printk_log` records from log_first_idx to log_next_idx."""
    structs = ("printk_log", "log")
    hdr = _need(info.size(*structs), "SIZE(printk_log)")
    off_ts = _need(info.offset("ts_nsec", *structs), "OFFSET(printk_log.ts_nsec)")
    off_len = _need(info.offset("len", *structs), "OFFSET(printk_log.len)")
    off_tlen = _need(info.offset("text_len", *structs), "OFFSET(printk_log.text_len)")
    if not 8 <= hdr <= 256 or max(off_ts + 8, off_len + 2, off_tlen + 2) > hdr:
        raise DumpError("dump-bad-size", f"printk_log layout is inconsistent (size {hdr})")
    e = mem.layout.endian
    buf = mem.ulong(_need(info.symbol("log_buf"), "SYMBOL(log_buf)"))
    size = _buf_len(
        mem.uint(_need(info.symbol("log_buf_len"), "SYMBOL(log_buf_len)"), 4), "log_buf_len"
    )
    first = mem.uint(_need(info.symbol("log_first_idx"), "SYMBOL(log_first_idx)"), 4)
    nxt = mem.uint(_need(info.symbol("log_next_idx"), "SYMBOL(log_next_idx)"), 4)
    if first >= size or nxt >= size:
        raise DumpError(
            "dump-bad-offset",
            f"log_first_idx {first} / log_next_idx {nxt} beyond log_buf_len {size}",
        )
    ring = mem.read(buf, size)
    out: list[bytes] = []
    idx, wraps, steps = first, 0, 0
    max_steps = size // hdr + 2
    while idx != nxt:
        steps += 1
        if idx + hdr > size:
            return Carved(
                "structured", b"".join(out), _bad(f"record at index {idx} overruns the buffer")
            )
        (ts,) = struct.unpack_from(e + "Q", ring, idx + off_ts)
        (rlen,) = struct.unpack_from(e + "H", ring, idx + off_len)
        (tlen,) = struct.unpack_from(e + "H", ring, idx + off_tlen)
        if rlen == 0:  # end-of-buffer marker: wrap to the start
            wraps += 1
            if wraps > 1 or steps > max_steps:
                return Carved("structured", b"".join(out), _cycle(idx))
            idx = 0
            continue
        if rlen < hdr or idx + rlen > size or hdr + tlen > rlen:
            return Carved(
                "structured",
                b"".join(out),
                _bad(f"record at index {idx} has length {rlen} / text length {tlen}"),
            )
        out.append(_stamp(ts) + _escape(ring[idx + hdr : idx + hdr + tlen]) + b"\n")
        idx += rlen
        if steps > max_steps:
            return Carved("structured", b"".join(out), _cycle(idx))
    return Carved("structured", b"".join(out))


def carve_lockless(mem: KernelMemory, info: VmcoreInfo) -> Carved:
    """5.10+: descriptor ring + info array + text data ring, from tail_id to head_id."""
    e = mem.layout.endian
    ws = mem.layout.ptr_size

    def off(field: str, struct_name: str) -> int:
        return _need(info.offset(field, struct_name), f"OFFSET({struct_name}.{field})")

    counter = info.offset("counter", "atomic_long_t") or 0
    rb = mem.ulong(_need(info.symbol("prb"), "SYMBOL(prb)"))
    desc_ring = rb + off("desc_ring", "printk_ringbuffer")
    text_ring = rb + off("text_data_ring", "printk_ringbuffer")
    count_bits = mem.uint(desc_ring + off("count_bits", "prb_desc_ring"), 4)
    size_bits = mem.uint(text_ring + off("size_bits", "prb_data_ring"), 4)
    if count_bits > MAX_DESC_BITS or not 4 <= size_bits <= 28:
        raise DumpError(
            "dump-bad-size",
            f"printk ring sizes out of range (count_bits {count_bits}, size_bits {size_bits})",
        )
    count, tsize = 1 << count_bits, 1 << size_bits
    desc_sz = _need(info.size("prb_desc"), "SIZE(prb_desc)")
    info_sz = _need(info.size("printk_info"), "SIZE(printk_info)")
    if not 2 * ws <= desc_sz <= 256 or not 16 <= info_sz <= 1024:
        raise DumpError(
            "dump-bad-size", f"prb_desc/printk_info sizes {desc_sz}/{info_sz} implausible"
        )
    descs = mem.read(mem.ulong(desc_ring + off("descs", "prb_desc_ring")), count * desc_sz)
    infos = mem.read(mem.ulong(desc_ring + off("infos", "prb_desc_ring")), count * info_sz)
    text = mem.read(mem.ulong(text_ring + off("data", "prb_data_ring")), tsize)
    head = mem.ulong(desc_ring + off("head_id", "prb_desc_ring") + counter)
    tail = mem.ulong(desc_ring + off("tail_id", "prb_desc_ring") + counter)

    sv_off = off("state_var", "prb_desc") + counter
    lpos = off("text_blk_lpos", "prb_desc")
    b_off = lpos + off("begin", "prb_data_blk_lpos")
    n_off = lpos + off("next", "prb_data_blk_lpos")
    ts_off = off("ts_nsec", "printk_info")
    tl_off = off("text_len", "printk_info")
    if max(sv_off, b_off, n_off) + ws > desc_sz or max(ts_off + 8, tl_off + 2) > info_sz:
        raise DumpError("dump-bad-size", "prb_desc/printk_info offsets lie outside their structs")
    bits = ws * 8
    id_mask = (1 << (bits - 2)) - 1
    word = "Q" if ws == 8 else "I"
    head &= id_mask
    tail &= id_mask
    if (head - tail) & id_mask >= count:
        return Carved(
            "lockless",
            b"",
            DumpError(
                "dump-bad-offset",
                f"tail_id {tail} and head_id {head} are {((head - tail) & id_mask)} records apart, more than the ring's {count}",
            ),
        )
    out: list[bytes] = []
    rid = tail
    while True:
        slot = rid % count
        d = slot * desc_sz
        (sv,) = struct.unpack_from(e + word, descs, d + sv_off)
        state = sv >> (bits - 2)
        if (sv & id_mask) == rid and state in (1, 2):
            (begin,) = struct.unpack_from(e + word, descs, d + b_off)
            (nxt,) = struct.unpack_from(e + word, descs, d + n_off)
            i = slot * info_sz
            (ts,) = struct.unpack_from(e + "Q", infos, i + ts_off)
            line = _stamp(ts)
            begin %= tsize
            nxt %= tsize
            if begin != nxt:
                (tlen,) = struct.unpack_from(e + "H", infos, i + tl_off)
                if begin > nxt:
                    begin = 0
                begin += ws
                tlen = max(0, min(tlen, nxt - begin))
                line += _escape(text[begin : begin + tlen])
            out.append(line + b"\n")
        if rid == head:
            break
        rid = (rid + 1) & id_mask
    return Carved("lockless", b"".join(out))


def _bad(msg: str) -> DumpError:
    return DumpError("dump-bad-record", f"printk buffer: {msg}; log kept up to there")


def _cycle(idx: int) -> DumpError:
    return DumpError(
        "dump-cycle",
        f"printk record chain loops (wrapped twice, at index {idx}); log kept up to there",
    )
