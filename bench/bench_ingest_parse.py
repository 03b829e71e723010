"""Ingest throughput: triage's parser against DuckDB on the same syslog/console file, same run.

DuckDB's side is what an analyst would write: read_csv of whole lines, regexp_extract of the
syslog prefix, COPY to Parquet. Ours is `triage.parsers.iter_parse` streaming the file into a
Parquet writer (all LINES_SCHEMA columns: times, mono, host, tag, pid, level, flags, text). Each
side runs in its own process so peak RSS is its own. The log is generated once into /tmp:
realistic kernel lines with printk times (boot banners, driver chatter, call traces, soft
lockups) interleaved with other daemons, as a RHEL messages file or a serial console.

    python bench/bench_ingest_parse.py [--size-mb 500] [--kind syslog|console] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

KERNEL_LINES = [
    "Linux version 2.6.18-128.el5xen (mockbuild@hs20-bc1-7.build.redhat.com) (gcc version 4.1.2 20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Dec 17 12:01:40 EST 2008",
    "Command line: ro root=/dev/VolGroup00/LogVol00 console=xvc0",
    "BIOS-provided physical RAM map:",
    " Xen: 0000000000000000 - 0000000040800000 (usable)",
    "e1000: eth0: e1000_watchdog: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
    "EXT3-fs: mounted filesystem with ordered data mode.",
    "SELinux: initialized (dev proc, type proc), uses genfs_contexts",
    "device vif3.0 entered promiscuous mode",
    "xenbr0: port 3(vif3.0) entering forwarding state",
    "blkfront: xvda: barriers enabled",
    "BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]",
    "Call Trace:",
    " [<ffffffff80262f7d>] _spin_lock+0x3/0xa",
    " [<ffffffff8803c0f5>] :xennet:netif_poll+0x4c/0x6b7",
    " [<ffffffff8020c5e1>] net_rx_action+0xac/0x1e0",
    " [<ffffffff80212bd5>] __do_softirq+0x8d/0x13b",
    "INFO: task kjournald:1234 blocked for more than 120 seconds.",
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    'audit(1234567890.123:45): avc:  denied  { read } for  pid=2345 comm="httpd" name="index.html" dev=xvda1 ino=12345',
    "Out of memory: Killed process 4321, UID 48, (httpd).",
    "XENBUS: Timeout connecting to device: device/vif/0 (state 6)",
    "sd 0:0:0:0: [sda] 41943040 512-byte hardware sectors (21475 MB)",
]
OTHER = [
    ("sshd", "Accepted publickey for root from 10.1.2.3 port 51234 ssh2"),
    ("crond", "(root) CMD (/usr/lib64/sa/sa1 1 1)"),
    ("ntpd", "synchronized to 10.0.0.1, stratum 2"),
    ("xinetd", "START: nrpe pid=5123 from=10.1.2.4"),
    ("postfix/smtpd", "connect from localhost.localdomain[127.0.0.1]"),
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def generate(path: Path, size: int, kind: str, kernel_share: float = 0.7) -> None:
    rnd = random.Random(42)
    mono = 0.0
    sec = 0
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        batch: list[str] = []
        while written < size:
            for _ in range(10000):
                sec += rnd.random() < 0.3
                mono += rnd.random() * 0.05
                day, rem = divmod(sec, 86400)
                mon = MONTHS[(day // 28) % 12]
                ts = f"{mon} {day % 28 + 1:2d} {rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}"
                if kind == "console":
                    line = f"[{mono:12.6f}] {rnd.choice(KERNEL_LINES)}\r\n"
                elif rnd.random() < kernel_share:
                    line = f"{ts} web-{day % 3:02d} kernel: [{mono:12.6f}] {rnd.choice(KERNEL_LINES)}\n"
                else:
                    tag, msg = rnd.choice(OTHER)
                    line = f"{ts} web-{day % 3:02d} {tag}[{rnd.randint(300, 32000)}]: {msg}\n"
                batch.append(line)
            chunk = "".join(batch)
            batch.clear()
            out.write(chunk)
            written += len(chunk)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: str, out: str, kind: str, workers: int | None) -> dict:
    import pyarrow.parquet as pq

    from triage.limits import DEFAULT_LIMITS
    from triage.model import LINES_SCHEMA, SourceFile
    from triage.parsers import iter_parse

    src = SourceFile(disk_path=path, path=path, kind=kind, year_hint=2009)
    t0 = time.perf_counter()
    rows = 0
    # dictionary pages only where values repeat; trying them on `text` costs time for nothing
    low_cardinality = ["source_id", "host", "tag", "boot_id"]
    with (
        open(path, "rb") as fh,
        pq.ParquetWriter(out, LINES_SCHEMA, use_dictionary=low_cardinality) as writer,
    ):
        for table in iter_parse(src, fh, DEFAULT_LIMITS, workers=workers):
            rows += table.num_rows
            writer.write_table(table)
    return {"seconds": time.perf_counter() - t0, "rows": rows, "rss_mb": _peak_rss_mb()}


#: the prefix each kind's lines carry, as DuckDB's side extracts it
DUCKDB_PREFIX = {
    "syslog": (
        r"^([A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}) (\S+) ([^\s:\[]+)(?:\[([0-9]+)\])?: ?(.*)$",
        ["ts", "host", "tag", "pid", "msg"],
    ),
    "console": (r"^\[ *([0-9]+\.[0-9]+)\] ?(.*)$", ["mono", "msg"]),
}


def run_duckdb(path: str, out: str, kind: str) -> dict:
    import duckdb

    pattern, names = DUCKDB_PREFIX[kind]
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        # the pattern inline (not a bound parameter) so DuckDB compiles it once
        f"""COPY (SELECT line, regexp_extract(line, '{pattern}', {names!r}) AS m
            FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, delim='\\0', header=false,
                          quote='', escape='', auto_detect=false))
            TO '{out}' (FORMAT parquet)"""
    )
    rows = con.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "rows": rows, "rss_mb": _peak_rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--kind", choices=["syslog", "console"], default="syslog")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--role", choices=["ours", "duckdb"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        out = f"/tmp/triage-bench-{args.role}.parquet"
        res = (
            run_ours(args.path, out, args.kind, args.workers)
            if args.role == "ours"
            else run_duckdb(args.path, out, args.kind)
        )
        os.unlink(out)
        print(json.dumps(res))
        return
    path = Path(f"/tmp/triage-bench-{args.kind}-{args.size_mb}mb.log")
    if not path.exists() or path.stat().st_size < args.size_mb * 1024 * 1024:
        print(f"generating {path} ...", flush=True)
        generate(path, args.size_mb * 1024 * 1024, args.kind)
    size_mb = path.stat().st_size / 1024 / 1024
    results = {}
    for role in ("duckdb", "ours"):
        cmd = [sys.executable, __file__, "--role", role, "--path", str(path), "--kind", args.kind]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[role] = json.loads(proc.stdout.strip().splitlines()[-1])
    for role, r in results.items():
        print(
            f"{role:7s} {r['seconds']:7.2f} s  {size_mb / r['seconds']:7.1f} MB/s  "
            f"rows {r['rows']:>10,}  peak RSS {r['rss_mb']:7.0f} MB"
        )
    ratio = results["duckdb"]["seconds"] / results["ours"]["seconds"]
    print(f"throughput ratio triage/duckdb: {ratio:.2f}x  (goal >= 1.5x, peak RSS < 1024 MB)")


if __name__ == "__main__":
    main()
