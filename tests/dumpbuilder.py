"""Build small crash dumps in pure Python for the dump tests (each in well under 10 ms).

Layouts follow the kernel and makedumpfile headers (formats.md §1–2): ELF vmcores with CORE and
VMCOREINFO notes, kdump-compressed v6 with bitmaps and page descriptors, its flattened stream,
RHEL 4 diskdump, Xen xc_core ELF and the pre-2007 xend header. Kernel memory is modelled as an
`Image` (a run of physical memory mapped at a kernel virtual address) into which the three
printk generations write their variables exactly as the kernel lays them out.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field

X86_64_KERNEL_VA = 0xFFFFFFFF81E00000
X86_64_DIRECT_VA = 0xFFFF888000000000
I386_PAGE_OFFSET = 0xC0000000
IMAGE_PA = 0x1E00000
PAGE = 4096

RELEASE_RHEL9 = "5.14.0-427.13.1.el9_4.x86_64"
RELEASE_RHEL7 = "3.10.0-1160.el7.x86_64"
RELEASE_RHEL5 = "2.6.18-398.el5"
BANNER_RHEL5 = (
    b"Linux version 2.6.18-398.el5xen (mockbuild@x86-028.build.eng.bos.redhat.com) "
    b"(gcc version 4.1.2 20080704 (Red Hat 4.1.2-55)) #1 SMP Tue Sep 16 20:50:52 EDT 2014\n"
)

#: a short kernel log with an oops, used as the records of every printk generation
RECORDS: list[tuple[int, bytes]] = [
    (0, b"Linux version 5.14.0-427.13.1.el9_4.x86_64 (mockbuild@x86-64-01) (gcc 11.4.1) #1 SMP"),
    (1_500, b"Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 crashkernel=256M"),
    (2_345_678_912, b"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex"),
    (63_001_234_567, b"BUG: kernel NULL pointer dereference, address: 0000000000000008"),
    (63_001_240_000, b"#PF: supervisor read access in kernel mode"),
    (63_001_250_000, b"Oops: 0000 [#1] PREEMPT SMP NOPTI"),
    (63_001_260_000, b"RIP: 0010:ext4_put_super+0x1a/0x3c0 [ext4]\ttabbed \x01bell\xff"),
    (63_001_270_000, b"Kernel panic - not syncing: Fatal exception"),
]


def expected_text(records: list[tuple[int, bytes]]) -> bytes:
    """vmcore-dmesg.txt form of records, escaping as kexec-tools does."""
    out = []
    for ts, text in records:
        sec, rem = divmod(ts, 1_000_000_000)
        body = b"".join(
            bytes([c]) if 0x20 <= c <= 0x7E or 0x09 <= c <= 0x0D else b"\\x%02x" % c for c in text
        )
        out.append(b"[%5d.%06d] " % (sec, rem // 1000) + body + b"\n")
    return b"".join(out)


@dataclass
class Image:
    """Kernel memory: `size` bytes of physical memory at `pa`, mapped at virtual `va`."""

    va: int = X86_64_KERNEL_VA
    pa: int = IMAGE_PA
    size: int = 64 * 1024
    endian: str = "<"
    ptr: int = 8
    data: bytearray = field(default_factory=bytearray)
    _next: int = 0
    entries: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = bytearray(self.size)

    def alloc(self, n: int, align: int = 8) -> int:
        self._next = (self._next + align - 1) // align * align
        at = self._next
        self._next += n
        if self._next > self.size:
            raise ValueError("image full")
        return self.va + at

    def put(self, va: int, raw: bytes) -> None:
        off = va - self.va
        self.data[off : off + len(raw)] = raw

    def pack(self, va: int, fmt: str, *vals: int) -> None:
        self.put(va, struct.pack(self.endian + fmt, *vals))

    def ulong(self, va: int, v: int) -> None:
        self.pack(va, "Q" if self.ptr == 8 else "I", v)

    def symbol(self, name: str, va: int) -> None:
        self.entries[f"SYMBOL({name})"] = f"{va:x}"

    def pages(self) -> dict[int, bytes]:
        return {
            (self.pa + off) // PAGE: bytes(self.data[off : off + PAGE])
            for off in range(0, self.size, PAGE)
        }


def i386_image(size: int = 64 * 1024) -> Image:
    return Image(va=I386_PAGE_OFFSET + IMAGE_PA, pa=IMAGE_PA, size=size, ptr=4)


# ------------------------------------------------------------------------------------------
# printk generations
# ------------------------------------------------------------------------------------------
def legacy_text(records: list[tuple[int, bytes]]) -> bytes:
    return b"".join(
        b"<%d>[%5d.%06d] %s\n" % (i % 8, ts // 10**9, ts % 10**9 // 1000, t)
        for i, (ts, t) in enumerate(records)
    )


def printk_legacy(img: Image, text: bytes, buf_len: int = 4096, overflow: bool = True) -> bytes:
    """≤3.4 ring: writes `text` through the ring (wrapping when longer); returns the log kept."""
    buf = img.alloc(buf_len, 32)
    ring = bytearray(buf_len)
    for i, c in enumerate(text):
        ring[i % buf_len] = c
    img.put(buf, bytes(ring))
    p_buf = img.alloc(img.ptr)
    img.ulong(p_buf, buf)
    p_len = img.alloc(4)
    img.pack(p_len, "i", buf_len)
    p_end = img.alloc(4)
    img.pack(p_end, "I", len(text))
    p_logged = img.alloc(4)
    img.pack(p_logged, "I", min(len(text), buf_len))
    for name, va in (
        ("log_buf", p_buf),
        ("log_buf_len", p_len),
        ("log_end", p_end),
        ("logged_chars", p_logged),
    ):
        img.symbol(name, va)
    return text[-buf_len:] if overflow else text


def printk_structured(
    img: Image,
    records: list[tuple[int, bytes]],
    buf_len: int = 8192,
    struct_name: str = "printk_log",
) -> list[tuple[int, bytes]]:
    """3.5–5.9 records with the kernel's log_store() wrap rules; returns the records kept."""
    hdr, align = 16, 8
    buf = img.alloc(buf_len, 8)
    ring = bytearray(buf_len)
    live: list[tuple[int, int, int]] = []  # (idx, size, record number)
    first = nxt = 0

    def free_space() -> int:
        if not live:
            return buf_len
        if first > nxt:
            return first - nxt
        return max(buf_len - nxt, first)

    for n, (ts, text) in enumerate(records):
        size = (hdr + len(text) + align - 1) // align * align
        while live and free_space() < size + hdr:
            live.pop(0)
            first = live[0][0] if live else nxt
        if nxt + size + hdr > buf_len:
            ring[nxt : nxt + hdr] = bytes(hdr)  # end-of-buffer marker: a zero length
            nxt = 0
            while live and free_space() < size + hdr:
                live.pop(0)
                first = live[0][0] if live else nxt
        ring[nxt : nxt + hdr] = struct.pack(
            img.endian + "QHHHBB", ts, size, len(text), 0, 0, 6 << 5
        )
        ring[nxt + hdr : nxt + hdr + len(text)] = text
        if not live:
            first = nxt
        live.append((nxt, size, n))
        nxt += size
    img.put(buf, bytes(ring))
    p_buf = img.alloc(img.ptr)
    img.ulong(p_buf, buf)
    variables = {
        "log_buf_len": buf_len,
        "log_first_idx": first,
        "log_next_idx": nxt,
        "clear_idx": 0,
    }
    img.symbol("log_buf", p_buf)
    for name, value in variables.items():
        va = img.alloc(4, 4)
        img.pack(va, "I", value)
        img.symbol(name, va)
    s = struct_name
    img.entries.update(
        {
            f"SIZE({s})": str(hdr),
            f"OFFSET({s}.ts_nsec)": "0",
            f"OFFSET({s}.len)": "8",
            f"OFFSET({s}.text_len)": "10",
            f"OFFSET({s}.dict_len)": "12",
        }
    )
    return [records[n] for _, _, n in live]


def printk_lockless(
    img: Image,
    records: list[tuple[int, bytes]],
    count_bits: int = 4,
    size_bits: int = 10,
    base_id: int = 0,
) -> list[tuple[int, bytes]]:
    """5.10+ lockless ring (descs, infos, text data ring); returns the records kept."""
    ws = img.ptr
    bits = ws * 8
    id_mask = (1 << (bits - 2)) - 1
    count, tsize = 1 << count_bits, 1 << size_bits
    desc_sz, info_sz = 3 * ws, 88
    descs = img.alloc(count * desc_sz)
    infos = img.alloc(count * info_sz)
    text = img.alloc(tsize, 8)
    rb = img.alloc(128)
    text_ring = bytearray(tsize)
    head_lpos = 0
    kept: list[tuple[int, int, int, int]] = []  # (id, begin, next, record number)
    for n, (ts, t) in enumerate(records):
        rid = (base_id + n) & id_mask
        blk = (ws + len(t) + ws - 1) // ws * ws
        begin = head_lpos
        if begin // tsize != (begin + blk - 1) // tsize:  # would wrap: data at ring start
            start = (begin // tsize + 1) * tsize
            nxt = start + blk
        else:
            start, nxt = begin, begin + blk
        at = start % tsize
        text_ring[at : at + ws] = rid.to_bytes(ws, "little" if img.endian == "<" else "big")
        text_ring[at + ws : at + ws + len(t)] = t
        head_lpos = nxt
        kept.append((rid, begin, nxt, n))
        drop = 0
        while drop < len(kept) and (head_lpos - kept[drop][1] > tsize or len(kept) - drop > count):
            drop += 1
        if drop:
            del kept[:drop]
        slot = rid % count
        sv = (2 << (bits - 2)) | rid  # finalized
        img.pack(descs + slot * desc_sz, "QQQ" if ws == 8 else "III", sv, begin, nxt)
        img.pack(infos + slot * info_sz, "QQHBBI", base_id + n, ts, len(t), 0, 6 << 5, 0)
    img.put(text, bytes(text_ring))
    wfmt = "Q" if ws == 8 else "I"
    # printk_ringbuffer: desc_ring{count_bits, descs, infos, head_id, tail_id} @0, text_data_ring @40
    img.pack(rb + 0, "I", count_bits)
    img.pack(rb + 8, wfmt, descs)
    img.pack(rb + 16, wfmt, infos)
    img.pack(rb + 24, wfmt, kept[-1][0])
    img.pack(rb + 32, wfmt, kept[0][0])
    img.pack(rb + 40, "I", size_bits)
    img.pack(rb + 48, wfmt, text)
    p_prb = img.alloc(ws)
    img.ulong(p_prb, rb)
    img.symbol("prb", p_prb)
    img.entries.update(
        {
            "SIZE(printk_ringbuffer)": "80",
            "OFFSET(printk_ringbuffer.desc_ring)": "0",
            "OFFSET(printk_ringbuffer.text_data_ring)": "40",
            "OFFSET(printk_ringbuffer.fail)": "72",
            "OFFSET(prb_desc_ring.count_bits)": "0",
            "OFFSET(prb_desc_ring.descs)": "8",
            "OFFSET(prb_desc_ring.infos)": "16",
            "OFFSET(prb_desc_ring.head_id)": "24",
            "OFFSET(prb_desc_ring.tail_id)": "32",
            "SIZE(prb_desc)": str(desc_sz),
            "OFFSET(prb_desc.state_var)": "0",
            "OFFSET(prb_desc.text_blk_lpos)": str(ws),
            "SIZE(prb_data_blk_lpos)": str(2 * ws),
            "OFFSET(prb_data_blk_lpos.begin)": "0",
            "OFFSET(prb_data_blk_lpos.next)": str(ws),
            "SIZE(printk_info)": str(info_sz),
            "OFFSET(printk_info.seq)": "0",
            "OFFSET(printk_info.ts_nsec)": "8",
            "OFFSET(printk_info.text_len)": "16",
            "OFFSET(printk_info.caller_id)": "20",
            "OFFSET(printk_info.dev_info)": "24",
            "SIZE(prb_data_ring)": "32",
            "OFFSET(prb_data_ring.size_bits)": "0",
            "OFFSET(prb_data_ring.data)": "8",
            "SIZE(atomic_long_t)": str(ws),
            "OFFSET(atomic_long_t.counter)": "0",
        }
    )
    return [records[k[3]] for k in kept]


def utsname(
    sysname: str = "Linux",
    nodename: str = "web01.example.com",
    release: str = RELEASE_RHEL9,
    version: str = "#1 SMP PREEMPT_DYNAMIC Thu Apr 4 20:45:47 EDT 2024",
    machine: str = "x86_64",
    domainname: str = "(none)",
) -> bytes:
    return b"".join(
        s.encode().ljust(65, b"\0")
        for s in (sysname, nodename, release, version, machine, domainname)
    )


def put_uts_ns(img: Image, uts: bytes, name_offset: int = 4, export_offset: bool = True) -> None:
    va = img.alloc(name_offset + len(uts) + 8)
    img.put(va + name_offset, uts)
    img.symbol("init_uts_ns", va)
    if export_offset:
        img.entries["OFFSET(uts_namespace.name)"] = str(name_offset)


def vmcoreinfo(
    img: Image, release: str, crashtime: int | None = 1714000000, extra: str = ""
) -> bytes:
    lines = [
        f"OSRELEASE={release}",
        "PAGESIZE=4096",
        "BUILD-ID=0123456789abcdef0123456789abcdef01234567",
    ]
    lines += [f"{k}={v}" for k, v in img.entries.items()]
    text = "\n".join(lines) + "\n" + extra
    if crashtime is not None:
        text += f"CRASHTIME={crashtime}\n"
    return text.encode()


# ------------------------------------------------------------------------------------------
# ELF
# ------------------------------------------------------------------------------------------
def note(name: bytes, ntype: int, desc: bytes, endian: str = "<") -> bytes:
    nm = name + b"\0"
    return (
        struct.pack(endian + "III", len(nm), len(desc), ntype)
        + nm.ljust((len(nm) + 3) & ~3, b"\0")
        + desc.ljust((len(desc) + 3) & ~3, b"\0")
    )


@dataclass
class Load:
    vaddr: int
    paddr: int
    data: bytes
    memsz: int | None = None


def elf_core(
    loads: list[Load],
    notes: bytes,
    bits: int = 64,
    endian: str = "<",
    machine: int = 62,
) -> bytes:
    ehsz, phsz = (64, 56) if bits == 64 else (52, 32)
    nph = 1 + len(loads)
    note_off = ehsz + nph * phsz
    data_off = (note_off + len(notes) + PAGE - 1) // PAGE * PAGE
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if endian == "<" else 2, 1]) + bytes(9)
    if bits == 64:
        eh = ident + struct.pack(
            endian + "HHIQQQIHHHHHH", 4, machine, 1, 0, ehsz, 0, 0, ehsz, phsz, nph, 64, 0, 0
        )
    else:
        eh = ident + struct.pack(
            endian + "HHIIIIIHHHHHH", 4, machine, 1, 0, ehsz, 0, 0, ehsz, phsz, nph, 40, 0, 0
        )
    phdrs = []
    body = bytearray()
    off = data_off

    def ph(pt: int, o: int, va: int, pa: int, fsz: int, msz: int) -> bytes:
        if bits == 64:
            return struct.pack(endian + "IIQQQQQQ", pt, 7, o, va, pa, fsz, msz, 0)
        return struct.pack(endian + "IIIIIIII", pt, o, va, pa, fsz, msz, 7, 0)

    phdrs.append(ph(4, note_off, 0, 0, len(notes), len(notes)))
    for ld in loads:
        phdrs.append(ph(1, off, ld.vaddr, ld.paddr, len(ld.data), ld.memsz or len(ld.data)))
        body += ld.data
        pad = (-len(ld.data)) % PAGE
        body += bytes(pad)
        off += len(ld.data) + pad
    head = eh + b"".join(phdrs) + notes
    return head + bytes(data_off - len(head)) + bytes(body)


def elf_vmcore(
    img: Image, info: bytes, bits: int = 64, cpus: int = 2, machine: int | None = None
) -> bytes:
    machine = machine if machine is not None else (62 if img.ptr == 8 else 3)
    prstatus = 336 if img.ptr == 8 else 144
    notes = b"".join(note(b"CORE", 1, bytes(prstatus), img.endian) for _ in range(cpus))
    notes += note(b"VMCOREINFO", 0, info, img.endian)
    loads = [Load(img.va, img.pa, bytes(img.data), img.size + 2 * PAGE)]  # tail beyond filesz
    return elf_core(loads, notes, bits, img.endian, machine)


def build_elf(
    gen: str, bits: int = 64, endian: str = "<", release: str | None = None, **kw: object
) -> tuple[bytes, bytes]:
    """An ELF vmcore of one printk generation and the log vmcore-dmesg should print from it."""
    img = i386_image() if bits == 32 or gen == "legacy-i386" else Image(endian=endian)
    default = {"structured": RELEASE_RHEL7, "lockless": RELEASE_RHEL9}.get(gen, RELEASE_RHEL5)
    release = release or default
    put_uts_ns(img, utsname(release=release, machine="x86_64" if img.ptr == 8 else "i686"))
    records = list(kw.get("records", RECORDS))  # type: ignore[call-overload]
    if gen.startswith("legacy"):
        expected = printk_legacy(img, legacy_text(records), buf_len=int(kw.get("buf_len", 4096)))  # type: ignore[call-overload]
    elif gen == "structured":
        kept = printk_structured(img, records, buf_len=int(kw.get("buf_len", 8192)))  # type: ignore[call-overload]
        expected = expected_text(kept)
    else:
        kept = printk_lockless(
            img,
            records,
            count_bits=int(kw.get("count_bits", 4)),  # type: ignore[call-overload]
            size_bits=int(kw.get("size_bits", 10)),  # type: ignore[call-overload]
            base_id=int(kw.get("base_id", 0)),  # type: ignore[call-overload]
        )
        expected = expected_text(kept)
    info = vmcoreinfo(img, release)
    return elf_vmcore(img, info, bits=bits if gen != "legacy-i386" else 32), expected


# ------------------------------------------------------------------------------------------
# kdump-compressed, diskdump, flattened
# ------------------------------------------------------------------------------------------
def kdump_compressed(
    pages: dict[int, bytes],
    uts: bytes,
    info: bytes | None,
    compress: str = "zlib",
    max_mapnr: int | None = None,
    phys_base: int = 0,
    dump_level: int = 31,
    timestamp: int = 1714000000,
    signature: bytes = b"KDUMP   ",
    version: int = 6,
    nr_cpus: int = 4,
    bits: int = 64,
    endian: str = "<",
    raw_pfns: frozenset[int] = frozenset(),
) -> bytes:
    """kdump-compressed (or, with signature DISKDUMP, an uncompressed diskdump) image."""
    bs = PAGE
    diskdump = signature == b"DISKDUMP"
    max_mapnr = max_mapnr or (max(pages) + 16)
    status = {"zlib": 1, "lzo": 2, "snappy": 4, "zstd": 0x20, "none": 0}[compress]
    hdr = bytearray(bs)
    hdr[0:8] = signature
    struct.pack_into(endian + "i", hdr, 8, version)
    hdr[12 : 12 + len(uts)] = uts
    half = (max_mapnr + 7) // 8
    bitmap_blocks = 2 * ((half + bs - 1) // bs)
    sub_hdr_size = 1
    if bits == 64:
        struct.pack_into(endian + "qq", hdr, 408, timestamp, 0)
        struct.pack_into(
            endian + "IiiII",
            hdr,
            424,
            status,
            bs,
            sub_hdr_size,
            bitmap_blocks,
            min(max_mapnr, 0xFFFFFFFF),
        )
        struct.pack_into(endian + "i", hdr, 460, nr_cpus)
    else:
        struct.pack_into(endian + "ii", hdr, 404, timestamp, 0)
        struct.pack_into(
            endian + "IiiII",
            hdr,
            412,
            status,
            bs,
            sub_hdr_size,
            bitmap_blocks,
            min(max_mapnr, 0xFFFFFFFF),
        )
        struct.pack_into(endian + "i", hdr, 448, nr_cpus)
    sub = bytearray(bs * sub_hdr_size)
    if not diskdump:
        core = note(b"CORE", 1, bytes(336), endian)
        notes = core + (note(b"VMCOREINFO", 0, info, endian) if info else b"")
        sub_size = 104 if bits == 64 else 80
        note_off = bs + sub_size
        vmi_off = note_off + len(core) + 24  # past the note header and "VMCOREINFO\0" name
        if bits == 64:
            struct.pack_into(endian + "Qi", sub, 0, phys_base, dump_level)
            struct.pack_into(
                endian + "qQqQ",
                sub,
                32,
                vmi_off if info else 0,
                len(info) if info else 0,
                note_off,
                len(notes),
            )
            struct.pack_into(endian + "Q", sub, 96, max_mapnr)
        else:
            struct.pack_into(endian + "Ii", sub, 0, phys_base, dump_level)
            struct.pack_into(
                endian + "qI", sub, 20, vmi_off if info else 0, len(info) if info else 0
            )
            struct.pack_into(endian + "qI", sub, 32, note_off, len(notes))
            struct.pack_into(endian + "Q", sub, 72, max_mapnr)
        sub[sub_size : sub_size + len(notes)] = notes
    ram = bytearray(bitmap_blocks * bs // 2)
    dumpable = bytearray(len(ram))
    for pfn in range(max_mapnr):
        ram[pfn >> 3] |= 1 << (pfn & 7)
    for pfn, data in pages.items():
        if any(data):
            dumpable[pfn >> 3] |= 1 << (pfn & 7)
    bitmaps = bytes(ram) + bytes(dumpable)
    data_off = (1 + sub_hdr_size + bitmap_blocks) * bs
    dumped = sorted(p for p, d in pages.items() if any(d))
    out_pages = bytearray()
    if diskdump:
        for pfn in dumped:
            out_pages += pages[pfn]
        return bytes(hdr) + bytes(sub) + bitmaps + bytes(out_pages)
    descs = bytearray()
    page_off = data_off + 24 * len(dumped)
    for pfn in dumped:
        raw = pages[pfn]
        flags = status
        if pfn in raw_pfns or compress == "none":
            blob, flags = raw, 0
        elif compress == "zlib":
            blob = zlib.compress(raw)
        elif compress == "zstd":
            import zstandard

            blob = zstandard.ZstdCompressor().compress(raw)
        else:
            raise ValueError(compress)
        if len(blob) >= bs:
            blob, flags = raw, 0
        descs += struct.pack(endian + "qIIQ", page_off + len(out_pages), len(blob), flags, 0)
        out_pages += blob
    return bytes(hdr) + bytes(sub) + bitmaps + bytes(descs) + bytes(out_pages)


def flatten(
    dump: bytes,
    seed: int = 7,
    chunk: int = 3000,
    rewrite_header: bool = True,
    end_marker: bool = True,
) -> bytes:
    """makedumpfile -F: records out of order, the header written twice (later one wins)."""
    rnd = random.Random(seed)
    pieces = []
    pos = 0
    while pos < len(dump):
        n = rnd.randint(1, chunk)
        pieces.append((pos, dump[pos : pos + n]))
        pos += n
    rnd.shuffle(pieces)
    out = bytearray(b"makedumpfile".ljust(16, b"\0") + struct.pack(">QQ", 1, 1))
    out += bytes(4096 - len(out))
    if rewrite_header:
        out += struct.pack(">QQ", 0, 64) + b"\xee" * 64  # stale bytes, overwritten below
    for off, data in pieces:
        out += struct.pack(">QQ", off, len(data)) + data
    if rewrite_header:
        out += struct.pack(">QQ", 0, 64) + dump[:64]
    if end_marker:
        out += struct.pack(">qq", -1, -1)
    return bytes(out)


# ------------------------------------------------------------------------------------------
# Xen
# ------------------------------------------------------------------------------------------
def xen_core(
    pages: dict[int, bytes],
    nr_vcpus: int = 2,
    hvm: bool = False,
    machine: int = 62,
    seed: int = 3,
    version: tuple[int, int, bytes] = (3, 1, b".2-128.1.6.el5"),
) -> bytes:
    """xc_core ELF: .note.Xen, .xen_prstatus, .xen_shared_info, .xen_p2m/.xen_pfn, .xen_pages."""
    rnd = random.Random(seed)
    pfns = sorted(pages)
    order = pfns[:]
    rnd.shuffle(order)  # the p2m table is unordered
    nr = len(order)
    hdr_desc = struct.pack("<QQQQ", 0xF00FEBEE if hvm else 0xF00FEBED, nr_vcpus, nr, PAGE)
    ver = bytearray(1280)
    struct.pack_into("<QQ", ver, 0, version[0], version[1])
    ver[16 : 16 + len(version[2])] = version[2]
    caps = b"xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"
    ver[176 : 176 + len(caps)] = caps
    struct.pack_into("<Q", ver, 1272, PAGE)
    notes = (
        note(b"Xen", 0x2000000, b"")
        + note(b"Xen", 0x2000001, hdr_desc)
        + note(b"Xen", 0x2000002, bytes(ver))
        + note(b"Xen", 0x2000003, struct.pack("<Q", 1))
    )
    prstatus = bytes(5168 * nr_vcpus)
    shared = bytes(PAGE)
    if hvm:
        table_name, table = b".xen_pfn", b"".join(struct.pack("<Q", p) for p in order)
    else:
        table_name = b".xen_p2m"
        table = b"".join(struct.pack("<QQ", p, 0x80000 + p * 3) for p in order)
    page_data = b"".join(pages[p] for p in order)
    names = [
        b"",
        b".shstrtab",
        b".note.Xen",
        b".xen_prstatus",
        b".xen_shared_info",
        table_name,
        b".xen_pages",
    ]
    strtab = b"\0".join(names) + b"\0"
    name_off = [strtab.index(n + b"\0") if n else 0 for n in names]
    nsec = len(names)
    shoff = 64
    pos = shoff + nsec * 64
    blobs = [b"", strtab, notes, prstatus, shared, table]
    offsets = []
    body = bytearray()
    for b in blobs:
        offsets.append(pos + len(body))
        body += b
        body += bytes((-len(body) - pos) % 8)
    pages_off = (pos + len(body) + PAGE - 1) // PAGE * PAGE
    body += bytes(pages_off - pos - len(body))
    offsets.append(pages_off)
    sizes = [len(b) for b in blobs] + [len(page_data)]
    types = [0, 3, 7, 1, 1, 1, 1]
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, 0, shoff, 0, 64, 0, 0, 64, nsec, 1)
    sh = b"".join(
        struct.pack(
            "<IIQQQQIIQQ",
            name_off[i],
            types[i],
            0,
            0,
            offsets[i] if i else 0,
            sizes[i],
            0,
            0,
            8,
            PAGE if i == 6 else 0,
        )
        for i in range(nsec)
    )
    return eh + sh + bytes(body) + page_data


def system_map(symbols: dict[str, int], ptr: int = 8) -> str:
    width = 16 if ptr == 8 else 8
    filler = {"_text": 0xFFFFFFFF80000000 if ptr == 8 else 0xC0000000}
    rows = {**filler, **symbols}
    return "".join(
        f"{v:0{width}x} {'T' if k == '_text' else 'b'} {k}\n"
        for k, v in sorted(rows.items(), key=lambda kv: kv[1])
    )


def xend_legacy(pages: list[bytes], nr_vcpus: int = 1, hvm: bool = False) -> bytes:
    """Xen ≤3.0.4 core: header, vcpu contexts, mfn index (unsigned long), page-aligned pages."""
    ctxt_size = 5168
    ctxt = 24
    index = ctxt + ctxt_size * nr_vcpus
    pages_off = (index + 8 * len(pages) + PAGE - 1) // PAGE * PAGE
    head = struct.pack(
        "<6I", 0xF00FEBEE if hvm else 0xF00FEBED, nr_vcpus, len(pages), ctxt, index, pages_off
    )
    body = (
        head
        + bytes(ctxt_size * nr_vcpus)
        + b"".join(struct.pack("<Q", 0x10000 + i) for i in range(len(pages)))
    )
    return body + bytes(pages_off - len(body)) + b"".join(pages)
