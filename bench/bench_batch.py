"""Batch-run benchmarks (issue 8): ratios against grep, ripgrep and DuckDB, measured side by side.

    python bench/bench_batch.py                      # all figures at the default sizes
    python bench/bench_batch.py --only big,sosreports   # a subset: big, ingest, syslog, xensource,
                                                        # small, bundles (tiny), sosreports
                                                        # (realistic), rss, gzip (a big log
                                                        # compressed, against it plain), flood
                                                        # (a console of crash reports, an
                                                        # archive of 20,000 logs)
    python bench/bench_batch.py --big-mb 200 --bundles 50 --small-files 2000   # quicker

Each command runs as a whole process (wall time, and peak RSS of the process tree from wait4),
best of `--repeat` runs. The commands whose ratios are goals (small files: one job, all jobs and
DuckDB; bundles: one job, two jobs, `--scheduler local` and a running cluster) take turns, round
after round, and their medians are given beside the best times. Inputs are generated once under
--work (default /tmp/triage-bench) and reused. Figures print as a table and are written to
bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synth  # noqa: E402

TRIAGE = [sys.executable, "-m", "triage.cli"]


@dataclass
class Timing:
    seconds: float
    peak_rss_mb: float
    rc: int


def timed(cmd: list[str], repeat: int = 1, setup=None, env=None) -> Timing:
    """Best wall time of `repeat` runs and the largest peak RSS among them."""
    best, peak, rc = float("inf"), 0.0, 0
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        # Not /dev/null: GNU grep stops at the first match when its output goes there.
        with tempfile.TemporaryFile() as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            dt = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        rc = proc.returncode
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if rc not in (0, 1):
            raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{err[-2000:]}")
        best = min(best, dt)
        peak = max(peak, usage.ru_maxrss / 1024)
    return Timing(best, peak, rc)


def scan_cmd(
    path: Path, out: Path, force: bool = False, extra: list[str] | None = None
) -> list[str]:
    """`triage scan` as the benchmarks time it: JSON report discarded, no progress output."""
    cmd = [*TRIAGE, "scan", str(path), "--out", str(out), "--quiet", "--format", "json"]
    cmd += ["--output", os.devnull, *(["--force"] if force else []), *(extra or [])]
    return cmd


def anchors_union(dialect: str = "ere") -> str:
    """The union of every anchor the stages use, as one regex for `grep -E` ("ere") or rg."""
    from triage.match import load_signatures
    from triage.pipeline.anchors import anchor_patterns

    pats = anchor_patterns(load_signatures())
    conv = to_ere if dialect == "ere" else to_rg
    return "|".join(f"({conv(p)})" for p in pats)


def to_rg(p: str) -> str:
    return re.sub(r"\\ ", " ", p)


def to_ere(p: str) -> str:
    """A Hyperscan/RE2 anchor as a GNU ERE (same lines matched, as far as grep can say it)."""
    out: list[str] = []
    i, n, in_class, fold = 0, len(p), False, []
    while i < n:
        c = p[i]
        if c == "\\" and i + 1 < n:
            e = p[i + 1]
            if in_class:
                out.append({"s": "[:space:]", "d": "0-9", "w": "[:alnum:]_"}.get(e, "\\" + e))
            elif e == "d":
                out.append("[0-9]")
            elif e == " ":
                out.append(" ")
            else:
                out.append("\\" + e)
            i += 2
            continue
        if in_class:
            out.append(c)
            in_class = c != "]"
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if p.startswith("^", i):
                out.append("^")
                i += 1
            continue
        if p.startswith("(?i:", i):
            fold.append(len([x for x in out if x == "("]) + 1)
            out.append("(")
            i += 4
            continue
        if p.startswith("(?:", i):
            out.append("(")
            i += 3
            continue
        if c in "*+?}" and p.startswith("?", i + 1):
            out.append(c)  # lazy → greedy: the same lines match
            i += 2
            continue
        if c.isalpha() and fold:
            out.append(f"[{c.lower()}{c.upper()}]")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def bench_big(work: Path, size_mb: int, repeat: int) -> dict:
    log = synth.ensure(
        work / f"console-{size_mb}mb.log", lambda p: synth.console_log(p, size_mb << 20)
    )
    pattern = anchors_union("ere")
    out = work / "ds-big"
    scan = timed(
        # a fresh dataset each time: the first run's input hashing is part of the figure
        setup=lambda: shutil.rmtree(out, ignore_errors=True),
        repeat=repeat,
        cmd=scan_cmd(log, out, force=True),
    )
    grep = timed(["grep", "-E", "-c", pattern, str(log)], repeat)
    res = {
        "input_mb": size_mb,
        "triage_scan_s": scan.seconds,
        "triage_peak_rss_mb": scan.peak_rss_mb,
        "grep_E_s": grep.seconds,
        "scan_vs_grep": grep.seconds / scan.seconds,
    }
    if shutil.which("rg"):
        rg = timed(["rg", "-c", anchors_union("rg"), str(log)], repeat)
        res.update(rg_s=rg.seconds, scan_vs_rg=rg.seconds / scan.seconds)
    return res


def bench_ingest_vs_duckdb(work: Path, size_mb: int, repeat: int) -> dict:
    """Issue 2: `triage ingest` of one big log against DuckDB doing the comparable work.

    Both use every core: DuckDB's threads by default, triage `--jobs` (the file in chunks).
    """
    log = synth.ensure(
        work / f"console-{size_mb}mb.log", lambda p: synth.console_log(p, size_mb << 20)
    )
    out = work / "ds-ingest"
    jobs = os.cpu_count() or 1
    cmd = [*TRIAGE, "ingest", str(log), "--out", str(out), "--force", "--quiet"]
    ingest = timed([*cmd, "--no-signatures", "--jobs", str(jobs)], repeat)
    duck_sql = (
        "COPY (SELECT regexp_extract(line, '^\\[\\s*([0-9.]+)\\]', 1) AS mono, "
        "regexp_extract(line, '^(?:\\[[^\\]]*\\] )?(.*)$', 1) AS text "
        f"FROM read_csv('{log}', columns={{'line': 'VARCHAR'}}, delim='\\x01', header=false, quote='', "
        f"escape='', auto_detect=false)) TO '{work / 'duck.parquet'}' (FORMAT parquet)"
    )
    duck = timed([sys.executable, "-c", f"import duckdb; duckdb.sql({duck_sql!r})"], repeat)
    return {
        "input_mb": size_mb,
        "jobs": jobs,
        "triage_ingest_s": ingest.seconds,
        "ingest_peak_rss_mb": ingest.peak_rss_mb,
        "duckdb_s": duck.seconds,
        "duckdb_peak_rss_mb": duck.peak_rss_mb,
        "ingest_vs_duckdb": duck.seconds / ingest.seconds,
    }


def bench_syslog(work: Path, size_mb: int, repeat: int) -> dict:
    """Issue 8: `triage ingest` of one big syslog (kept programs, year-less times over a New
    Year) on one process and cut into chunks over all cores, against DuckDB splitting the same
    syslog prefix off every line into Parquet."""
    log = synth.ensure(
        work / f"syslog-{size_mb}mb.log", lambda p: synth.syslog_log(p, size_mb << 20)
    )
    cores = os.cpu_count() or 1
    res: dict = {"input_mb": size_mb, "machine_cores": cores}
    for jobs in sorted({1, cores}):
        out = work / f"ds-syslog-j{jobs}"
        cmd = [*TRIAGE, "ingest", str(log), "--out", str(out), "--force", "--quiet"]
        t = timed([*cmd, "--no-signatures", "--jobs", str(jobs)], repeat)
        res[f"jobs{jobs}_s"] = t.seconds
        res[f"jobs{jobs}_peak_rss_mb"] = t.peak_rss_mb
    res["speedup"] = res["jobs1_s"] / res[f"jobs{cores}_s"]
    duck = timed(duck_syslog_cmd(str(log), work / "duck-syslog.parquet"), repeat)
    res.update(
        duckdb_s=duck.seconds,
        duckdb_peak_rss_mb=duck.peak_rss_mb,
        ingest_all_cores_vs_duckdb=duck.seconds / res[f"jobs{cores}_s"],
    )
    return res


def bench_xensource(work: Path, size_mb: int, repeat: int) -> dict:
    """A status report whose xensource.log is large: `triage ingest` and `scan` on one process
    (the log is read in blocks, twice), against DuckDB splitting the syslog prefix off every
    line of the same log into Parquet; and the peak RSS of each. The report also as a
    tar.bz2, where the log is inflated into a temporary file once for both reads."""
    log = synth.ensure(
        work / f"xensource-{size_mb}mb.log", lambda p: synth.xensource_log(p, size_mb << 20)
    )
    folder = synth.ensure(work / f"xs-{size_mb}mb", lambda p: synth.status_report(p, log))
    # the same report as xen-bugtool leaves it: bug-report-*.tar.bz2
    packed = synth.ensure(
        work / f"xs-{size_mb}mb-bz2", lambda p: synth.status_report(p, log, compression="bz2")
    )
    res: dict = {"input_mb": size_mb}
    out = work / "ds-xensource"
    for command in ("ingest", "scan"):
        for how, where in (("", folder), ("_tar_bz2", packed)):
            cmd = [*TRIAGE, command, str(where), "--out", str(out), "--force", "--quiet", "-j", "1"]
            t = timed(cmd, repeat)
            res[f"{command}{how}_s"] = t.seconds
            res[f"{command}{how}_peak_rss_mb"] = t.peak_rss_mb
    duck = timed(duck_syslog_cmd(str(log), work / "duck-xensource.parquet"), repeat)
    res.update(
        duckdb_s=duck.seconds,
        duckdb_peak_rss_mb=duck.peak_rss_mb,
        ingest_vs_duckdb=duck.seconds / res["ingest_s"],
    )
    return res


#: an RFC 3164 line: time, host, program, pid, message
SYSLOG_PREFIX = r"^(\w{3} [ 0-9]\d \d\d:\d\d:\d\d) (\S+) ([^:\[ ]+)(?:\[(\d+)\])?: (.*)$"


def duck_syslog_cmd(files: str, dest: Path, filename: bool = False) -> list[str]:
    """DuckDB's side of the syslog comparisons: every line of `files` (a path or a glob) read,
    its syslog prefix split off (time, host, program, message) and written to Parquet."""
    p = SYSLOG_PREFIX
    duck_sql = (
        f"COPY (SELECT {'filename, ' if filename else ''}regexp_extract(line, '{p}', 1) AS ts, "
        f"regexp_extract(line, '{p}', 2) AS host, regexp_extract(line, '{p}', 3) AS prog, "
        f"regexp_extract(line, '{p}', 5) AS text "
        f"FROM read_csv('{files}', columns={{'line': 'VARCHAR'}}, delim='\\x01', "
        f"header=false, quote='', escape='', auto_detect=false{', filename=true' if filename else ''})) "
        f"TO '{dest}' (FORMAT parquet)"
    )
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({duck_sql!r})"]


def bench_small(work: Path, count: int, repeat: int) -> dict:
    """Issues 2 and 8: `triage ingest` of many small syslog files, on one core and on all,
    against DuckDB reading the same files (all cores) into Parquet with the syslog prefix split,
    the three taking turns (`round_robin`)."""
    folder = synth.ensure(work / f"small-{count}", lambda p: synth.small_files(p, count))
    cores = os.cpu_count() or 1
    res: dict = {"files": count, "machine_cores": cores}

    def ingest(jobs: int) -> list[str]:
        out = str(work / f"ds-small-j{jobs}")
        return [*TRIAGE, "ingest", str(folder), "--out", out, "--force", "--quiet", "-j", str(jobs)]

    commands = {f"jobs{jobs}": ingest(jobs) for jobs in sorted({1, cores})}
    commands["duckdb"] = duck_syslog_cmd(f"{folder}/*.log", work / "duck-small.parquet", True)
    runs = round_robin({name: (lambda c=c: timed(c)) for name, c in commands.items()}, repeat)
    for name, got in runs.items():
        seconds = [t.seconds for t in got]
        res[f"{name}_s"] = min(seconds)
        res[f"{name}_median_s"] = statistics.median(seconds)
        res[f"{name}_files_per_s"] = count / min(seconds)
        res[f"{name}_peak_rss_mb"] = max(t.peak_rss_mb for t in got)
    res["files_per_s_per_core"] = count / res["jobs1_s"]
    res["files_per_s_per_core_median"] = count / res["jobs1_median_s"]
    res["ingest_all_cores_vs_duckdb"] = res["duckdb_s"] / res[f"jobs{cores}_s"]
    res["ingest_all_cores_vs_duckdb_median"] = res["duckdb_median_s"] / res[f"jobs{cores}_median_s"]
    # the same folder again, unchanged, into the dataset the last run left: only stats compared
    rerun = [*TRIAGE, "ingest", str(folder), "--out", str(work / f"ds-small-j{cores}"), "--quiet"]
    res["rerun_unchanged_s"] = timed(rerun, repeat).seconds
    res["rerun_fraction"] = res["rerun_unchanged_s"] / res[f"jobs{cores}_s"]
    return res


#: the bundle profiles: tiny bundles (fixed costs dominate) and sosreports of a realistic size
PROFILES = {
    "bundles": (synth.bundles, ".tar.gz"),
    "sosreports": (synth.sosreport, ".tar.bz2"),
}


def bench_bundles(work: Path, count: int, repeat: int, dask: bool, profile: str) -> dict:
    make, suffix = PROFILES[profile]
    folder = synth.ensure(work / f"{profile}-{count}", lambda p: make(p, count))
    res: dict = {"bundles": count, "input_mb": _size_mb(folder), "logs_mb": _logs_mb(folder)}
    runs = {"jobs1": ["--jobs", "1"], "jobs2": ["--jobs", "2"]}
    if dask:
        runs["dask_local2"] = ["--scheduler", "local", "--jobs", "2"]
    runners = {
        name: (
            lambda extra=extra, out=work / f"ds-{profile}-{name}": timed(
                scan_cmd(folder, out, force=True, extra=extra)
            )
        )
        for name, extra in runs.items()
    }
    if dask:
        runners["dask_cluster2"] = lambda: _on_running_cluster(folder, work / f"ds-{profile}-dask")
    for name, timings in round_robin(runners, repeat).items():
        got = [t.seconds for t in timings]
        res[f"{name}_s"] = min(got)
        res[f"{name}_median_s"] = statistics.median(got)
        res[f"{name}_runs_s"] = [round(t, 3) for t in got]
    for how, key in (("", "_s"), ("_median", "_median_s")):
        res[f"speedup_jobs2{how}"] = res[f"jobs1{key}"] / res[f"jobs2{key}"]
        for name in ("dask_local2", "dask_cluster2") if dask else ():
            res[f"{name}_overhead_vs_jobs2{how}"] = res[f"{name}{key}"] / res[f"jobs2{key}"] - 1
    # rerun of the unchanged dataset: `ingest` (the dataset alone) and `scan` (plus its report)
    for name, cmd in (
        ("ingest", lambda o: [*TRIAGE, "ingest", str(folder), "--out", str(o), "--quiet"]),
        ("scan", lambda o: scan_cmd(folder, o)),
    ):
        out = work / f"ds-{profile}-rerun-{name}"
        shutil.rmtree(out, ignore_errors=True)
        first = timed(cmd(out), 1)
        again = timed(cmd(out), repeat)
        res.update(
            {
                f"{name}_first_run_s": first.seconds,
                f"{name}_rerun_s": again.seconds,
                f"{name}_rerun_fraction": again.seconds / first.seconds,
            }
        )
    res.update(_rematch(work, folder, work / f"ds-{profile}-rerun-ingest", repeat))
    # one more bundle in a folder of `count` already scanned: does it cost about one bundle?
    plus = work / f"{profile}-{count}-plus-one"
    shutil.rmtree(plus, ignore_errors=True)
    plus.mkdir()
    for f in folder.iterdir():  # hard links: the same files in a folder of their own
        os.link(f, plus / f.name)
    out = work / f"ds-{profile}-plus-one"
    shutil.rmtree(out, ignore_errors=True)
    timed(scan_cmd(plus, out, extra=["--jobs", str(os.cpu_count() or 1)]), 1)  # not timed
    more = synth.ensure(work / f"one-more-{profile}", lambda p: make(p, 1, seed=99))
    (plus / f"sosreport-extra{suffix}").write_bytes(next(more.iterdir()).read_bytes())
    added = timed(scan_cmd(plus, out), 1)
    # the same bundle scanned on its own into a new dataset: what one bundle costs a run,
    # start-up, signature set and report included, against which the addition is measured
    alone = work / f"ds-{profile}-one-alone"
    shutil.rmtree(alone, ignore_errors=True)
    one = timed(scan_cmd(more, alone, force=True), repeat)
    res.update(
        add_one_bundle_s=added.seconds,
        one_bundle_alone_s=one.seconds,
        add_one_vs_alone=added.seconds / one.seconds,
        add_one_vs_first_run=added.seconds / res["scan_first_run_s"],
        add_one_vs_mean_bundle=added.seconds / (res["scan_first_run_s"] / count),
    )
    return res


def _rematch(work: Path, folder: Path, out: Path, repeat: int) -> dict:
    """A changed signature set over the `ingest` dataset just made: each run gets a set that
    differs from the last (the built-in XFS signature's top confidence level edited), so that
    every run matches again; against `--force`, which reads and parses everything."""
    xfs = (HERE.parent / "signatures" / "xen-rhel" / "xfs-panic.yaml").read_text()
    dirs = []
    for level in ("low", "medium"):
        d = work / f"sigs-xfs-{level}" / "xen-rhel"
        d.mkdir(parents=True, exist_ok=True)
        (d / "xfs-panic.yaml").write_text(xfs.replace("level: high", f"level: {level}"))
        dirs.append(d.parent)
    base = [*TRIAGE, "ingest", str(folder), "--out", str(out), "--quiet"]
    best = float("inf")
    for i in range(repeat):
        best = min(best, timed([*base, "--signatures", str(dirs[i % 2])]).seconds)
    forced = timed([*base, "--signatures", str(dirs[0]), "--force"], repeat).seconds
    return {
        "ingest_rematch_s": best,
        "ingest_forced_s": forced,
        "rematch_vs_forced": best / forced,
    }


def _on_running_cluster(folder: Path, out: Path) -> Timing:
    """`scan --scheduler ADDRESS` against a LocalCluster of 2 single-threaded worker processes
    that is already running, as a deployed cluster is: a fresh cluster for each run, started
    (with the workers readied by `--preload triage.batch.dask_exec`, as the README says to
    start them) before the clock starts and closed after it stops."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        preload=["triage.batch.dask_exec"],
    ) as cluster:
        extra = ["--scheduler", cluster.scheduler_address]
        return timed(scan_cmd(folder, out, force=True, extra=extra))


def round_robin(runners: dict[str, Callable[[], Timing]], repeat: int) -> dict[str, list[Timing]]:
    """Each runner's timings over `repeat` rounds, every round running each once in turn.

    This VM's speed drifts by a fifth or more from one minute to the next (the same work took
    0.75 s or 1.35 s of CPU). Timing one command's runs back to back and then the other's
    compares two different stretches of that drift; taking turns gives both the same ones."""
    got: dict[str, list[Timing]] = {name: [] for name in runners}
    for _ in range(max(1, repeat)):
        for name, run in runners.items():
            got[name].append(run())
    return got


def _size_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20, 1)


def _logs_mb(folder: Path) -> float:
    """Uncompressed size of the bundles' members."""
    import tarfile

    total = 0
    for f in folder.iterdir():
        with tarfile.open(f) as tar:
            total += sum(m.size for m in tar.getmembers())
    return round(total / 2**20, 1)


def bench_flood(work: Path, size_mb: int, members: int, repeat: int) -> dict:
    """Inputs whose cost is in their count of things, not their bytes: a console that is
    nothing but soft lockup reports (`triage scan` against `grep -E -c` of the anchors), and
    an archive of many tiny logs (time and peak RSS)."""
    log = work / f"flood-{size_mb}mb.log"
    count_file = work / f"flood-{size_mb}mb.reports"
    if not log.exists() or not count_file.exists():
        count_file.write_text(str(synth.flooded_console(log, size_mb << 20)))
    reports = int(count_file.read_text())
    out = work / "ds-flood"
    scan = timed(scan_cmd(log, out, force=True, extra=["-j", "1"]), repeat)
    grep = timed(["grep", "-E", "-c", anchors_union("ere"), str(log)], repeat)
    archive = synth.ensure(
        work / f"members-{members}.tar.gz", lambda p: synth.member_archive(p, members)
    )
    many = timed(scan_cmd(archive, work / "ds-members", force=True, extra=["-j", "1"]), repeat)
    return {
        "flood_mb": size_mb,
        "flood_reports": reports,
        "flood_scan_s": scan.seconds,
        "flood_reports_per_s": reports / scan.seconds,
        "flood_peak_rss_mb": scan.peak_rss_mb,
        "flood_grep_E_s": grep.seconds,
        "flood_scan_vs_grep": grep.seconds / scan.seconds,
        "archive_members": members,
        "archive_scan_s": many.seconds,
        "archive_members_per_s": members / many.seconds,
        "archive_peak_rss_mb": many.peak_rss_mb,
    }


def bench_rss(work: Path, size_mb: int) -> dict:
    log = synth.ensure(
        work / f"console-{size_mb}mb.log", lambda p: synth.console_log(p, size_mb << 20)
    )
    out = work / "ds-rss"
    t = timed(scan_cmd(log, out, force=True))
    return {"input_mb": size_mb, "seconds": t.seconds, "peak_rss_mb": t.peak_rss_mb}


def bench_gzip(work: Path, size_mb: int, repeat: int) -> dict:
    """A big console log compressed with gzip (no size until it is read, streamed all the
    same) against the same log plain: `scan` (one pass) and `ingest` (two), one job, the four
    taking turns; the seconds the compressed form adds, and peak memory."""
    plain = synth.ensure(
        work / f"console-{size_mb}mb.log", lambda p: synth.console_log(p, size_mb << 20)
    )
    packed = synth.ensure(work / f"console-{size_mb}mb.log.gz", lambda p: synth.gzipped(plain, p))
    runners: dict[str, Callable[[], Timing]] = {}
    for name, log in (("gz", packed), ("plain", plain)):
        out = work / f"ds-gzip-{name}"
        runners[f"{name}_scan"] = lambda log=log, out=out: timed(scan_cmd(log, out, force=True))
        runners[f"{name}_ingest"] = lambda log=log, out=out: timed(
            [*TRIAGE, "ingest", str(log), "--out", str(out), "--force", "--quiet"]
        )
    res: dict = {"input_mb": size_mb, "gz_mb": round(packed.stat().st_size / 2**20, 1)}
    for name, got in round_robin(runners, repeat).items():
        res[f"{name}_s"] = min(t.seconds for t in got)
        res[f"{name}_peak_rss_mb"] = max(t.peak_rss_mb for t in got)
    for what in ("scan", "ingest"):
        res[f"{what}_gz_over_plain_s"] = res[f"gz_{what}_s"] - res[f"plain_{what}_s"]
    return res


def show(name: str, figures: dict) -> None:
    print(f"\n{name}")
    for k, v in figures.items():
        print(f"  {k:28s} {v:.3f}" if isinstance(v, float) else f"  {k:28s} {v}")
    sys.stdout.flush()


class _Results(dict):
    """Prints each section as soon as it is measured (a long run shows figures as it goes)."""

    def __setitem__(self, key: str, value: dict) -> None:
        super().__setitem__(key, value)
        show(key, value)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", default="/tmp/triage-bench")
    ap.add_argument(
        "--only",
        default="big,ingest,syslog,xensource,small,bundles,sosreports,rss,gzip,flood",
    )
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--ingest-mb", type=int, default=500)
    ap.add_argument("--syslog-mb", type=int, default=500)
    ap.add_argument("--xensource-mb", type=int, default=300)
    ap.add_argument("--rss-mb", type=int, default=5120)
    ap.add_argument("--small-files", type=int, default=10_000)
    ap.add_argument("--bundles", type=int, default=200)
    ap.add_argument("--flood-mb", type=int, default=8)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # bytecode as an installed package has it: with PYTHONDONTWRITEBYTECODE set (as it is in
    # some sandboxes) every start would otherwise compile again each module changed since
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "triage")])
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    results: dict[str, dict] = _Results()
    if "big" in only:
        results["big_console_log"] = bench_big(work, args.big_mb, args.repeat)
    if "ingest" in only:
        results["ingest_vs_duckdb"] = bench_ingest_vs_duckdb(work, args.ingest_mb, args.repeat)
    if "syslog" in only:
        results["big_syslog"] = bench_syslog(work, args.syslog_mb, args.repeat)
    if "xensource" in only:
        results["big_xensource"] = bench_xensource(work, args.xensource_mb, args.repeat)
    if "small" in only:
        results["small_files"] = bench_small(work, args.small_files, args.repeat)
    for profile in PROFILES:
        if profile in only:
            results[profile] = bench_bundles(
                work, args.bundles, args.repeat, not args.no_dask, profile
            )
    if "rss" in only:
        results["peak_rss"] = bench_rss(work, args.rss_mb)
    if "gzip" in only:
        results["gzip_log"] = bench_gzip(work, min(args.big_mb, 1024), args.repeat)
    if "flood" in only:
        results["flood"] = bench_flood(work, args.flood_mb, args.members, args.repeat)
    dest = HERE / "results" / "batch.json"
    dest.parent.mkdir(exist_ok=True)
    # sections measured by an earlier `--only` run stay; the ones measured now replace theirs
    kept = json.loads(dest.read_text()) if dest.exists() else {}
    dest.write_text(json.dumps({**kept, **results}, indent=1))


if __name__ == "__main__":
    main()
