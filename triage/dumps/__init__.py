"""Binary crash dumps: ELF vmcores, kdump-compressed, flattened streams, Xen dump-core.

Public API:
- `sniff(head: bytes) -> str | None` — the dump format from the first bytes (≥ 4 KiB), or
  None; one of "elf-vmcore", "kdump-compressed", "diskdump", "flattened", "xen-core",
  "xen-core-legacy". Cheap and import-light (struct only).
- `read_dump(src, fh, system_map=None, limits) -> DumpResult` — header facts, the kernel log
  carved from the printk buffer (vmcore-dmesg.txt form, so it is parsed as kind
  `vmcore-dmesg`), a sampled content digest, and errors. Never raises for bad input.

Formats: ELF vmcore (ELF32/ELF64, either byte order) with a VMCOREINFO note; kdump-compressed
(zlib; lzo/snappy with the `lzo`/`snappy` extras; zstd) and RHEL 4 diskdump; makedumpfile's
flattened stream (read through a record index, no temporary copy); Xen xc_core ELF and the
pre-2007 xend core. printk generations: legacy ring (≤3.4), `printk_log` records (3.5–5.9),
lockless `prb` (5.10+). Dumps without VMCOREINFO give their log when `system_map` names the
guest kernel's System.map (Xen ELF cores, diskdump, old ELF cores).

Facts (subject_type "host", subject_id = the dump's hostname or "", source_path = src.display):
    dump.format           elf-vmcore | kdump-compressed | diskdump | xen-core | xen-core-legacy,
                          prefixed "flattened " when read through a flattened stream
    kernel.release        VMCOREINFO OSRELEASE, utsname, or the banner scan
    kernel.version        utsname version (`#1 SMP Tue …`)
    kernel.banner         the `Linux version …` line, when found by scanning
    crash.time            ISO 8601 UTC (VMCOREINFO CRASHTIME or the kdump header timestamp);
                          the fact's `time` holds the same instant
    dump.hostname         utsname nodename (kdump header, or init_uts_ns in memory)
    dump.domainname       utsname domainname when set
    dump.arch             utsname machine, else from the ELF machine
    dump.page_size        PAGESIZE / block_size / Xen page size
    dump.level            makedumpfile dump level (-d)
    dump.compression      zlib, lzo, snappy, zstd or none (kdump-compressed / diskdump)
    dump.header_version   kdump header version
    dump.incomplete       "true" when the header marks the dump incomplete
    dump.nr_cpus          CPUs (kdump header, or NT_PRSTATUS notes of an ELF core)
    dump.elf_class        ELF32 | ELF64
    dump.build_id         VMCOREINFO BUILD-ID
    dump.kaslr_offset     VMCOREINFO KERNELOFFSET when non-zero
    dump.printk           legacy | structured | lockless: the buffer the log came from
    dump.log_lines        lines in the carved log
    xen.domain_type       pv | hvm
    xen.nr_vcpus, xen.nr_pages, xen.version, xen.capabilities, xen.changeset,
    xen.dumpcore_version  from the xc_core notes (or the legacy header)

Error classes (stage "dumps"): dump-unknown-format, dump-bad-header, dump-truncated,
dump-bad-offset, dump-bad-size, dump-bad-address, dump-bad-note, dump-bad-page,
dump-bad-record, dump-cycle, dump-missing-extra, dump-no-vmcoreinfo, dump-no-printk,
dump-incomplete, dump-unsupported, system-map-unreadable, system-map-invalid, dump-invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from triage.dumps.magic import FORMATS, sniff
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, Fact, SourceFile

if TYPE_CHECKING:
    from collections.abc import Callable

    from triage.dumps.access import RandomAccess
    from triage.dumps.collect import Collected

__all__ = ["FORMATS", "DumpResult", "read_dump", "sniff"]

STAGE = "dumps"


@dataclass
class DumpResult:
    format: str = ""
    digest: str = ""  # content digest used for incremental reruns (see triage.dumps.digest)
    facts: list[Fact] = field(default_factory=list)
    log: bytes | None = None  # the kernel log carved from the printk buffer
    errors: list[ErrorRecord] = field(default_factory=list)


def read_dump(
    src: SourceFile, fh: BinaryIO, system_map: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> DumpResult:
    from triage.dumps.access import DumpError, DumpFile

    result = DumpResult()
    f: DumpFile | None = None
    col: Collected | None = None
    try:
        f = DumpFile(fh)
        from triage.dumps.digest import dump_digest

        result.digest = dump_digest(f)
        col = _read_any(f, system_map)
    except DumpError as exc:
        _error(result, src, exc.error_class, exc.message)
    except Exception as exc:  # hostile input can still trip struct/numpy in corners we missed
        _error(result, src, "dump-invalid", f"unreadable dump ({type(exc).__name__}: {exc})")
    finally:
        if f is not None:
            f.close()
    if col is None:
        return result
    result.format = col.format
    for exc in col.errors:
        _error(result, src, exc.error_class, exc.message)
    if col.log:
        result.log = col.log
        col.set("dump.log_lines", col.log.count(b"\n"))
    result.facts = _facts(src, col)
    return result


def _read_any(f: RandomAccess, system_map: str | None) -> Collected:
    from triage.dumps.access import DumpError
    from triage.dumps.collect import Collected

    fmt = sniff(f.read(0, min(f.size, 4096)))
    if fmt is None:
        raise DumpError("dump-unknown-format", "not a recognised crash dump (no dump magic)")
    if fmt != "flattened":
        col = _reader(fmt)(f, system_map)
        col.set("dump.format", col.format)
        return col
    from triage.dumps.flattened import FlatView

    view = FlatView(f)
    inner = sniff(view.read(0, min(view.size, 4096)))
    if inner is None or inner == "flattened":
        col = Collected("flattened")
        col.fail(DumpError("dump-unknown-format", "flattened stream does not hold a known dump"))
        return col
    col = _reader(inner)(view, system_map)
    col.format = f"flattened {col.format}"
    col.set("dump.format", col.format)
    if not view.complete:
        col.fail(DumpError("dump-truncated", "flattened stream ends without its end marker"))
    return col


def _reader(fmt: str) -> Callable[[RandomAccess, str | None], Collected]:
    if fmt == "elf-vmcore":
        from triage.dumps.elf_vmcore import read_elf_vmcore

        return read_elf_vmcore
    if fmt in ("kdump-compressed", "diskdump"):
        from triage.dumps.kdump import read_kdump

        return read_kdump
    from triage.dumps.xen import read_xen_core, read_xen_legacy

    return read_xen_core if fmt == "xen-core" else read_xen_legacy


def _facts(src: SourceFile, col: Collected) -> list[Fact]:
    host = col.values.get("dump.hostname", "")
    crash_time = None
    if "crash.time" in col.values:
        crash_time = datetime.strptime(col.values["crash.time"], "%Y-%m-%dT%H:%M:%SZ")
    return [
        Fact(
            bundle=src.bundle,
            subject_type="host",
            subject_id=host,
            subject_name=host,
            key=key,
            value=value,
            time=crash_time if key == "crash.time" else None,
            source_path=src.display,
        )
        for key, value in col.values.items()
    ]


def not_a_dump(src: SourceFile) -> ErrorRecord:
    """The errors row of a file where a dump belongs (a kdump directory's `vmcore`) that is
    none of the dump formats triage reads."""
    message = "named as a crash dump, but not one triage reads (no dump magic)"
    return _record(src, "dump-unknown-format", message)


def _error(result: DumpResult, src: SourceFile, error_class: str, message: str) -> None:
    result.errors.append(_record(src, error_class, message))


def _record(src: SourceFile, error_class: str, message: str) -> ErrorRecord:
    return ErrorRecord(
        path=src.display,
        stage=STAGE,
        error_class=error_class,
        message=f"{src.display}: {message}",
        source_id=src.source_id,
    )
