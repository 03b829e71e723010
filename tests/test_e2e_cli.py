"""The command line end to end, as a user runs it: samples, exit codes, formats, dumps, reruns."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from helpers_procs import children, in_group, many_logs

import triage

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CORPORA = ROOT.parent / "shared" / "corpora"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "NO_COLOR": "1",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "TRIAGE_CACHE_DIR": os.environ.get("TRIAGE_CACHE_DIR", ""),  # the suite's (conftest)
        },
    )


@pytest.fixture(scope="module")
def samples_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "samples"
    r = cli("ingest", "samples", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    return out


# -- issue 2: ingest ------------------------------------------------------------------------
def test_ingest_samples_identifies_every_sample_boot(samples_ds: Path) -> None:
    ds = triage.open_dataset(str(samples_ds))
    boots = ds.boots.merge(ds.sources[["source_id", "display"]], on="source_id")

    def boot(path_part: str) -> dict:
        rows = boots[boots["display"].str.contains(path_part, regex=False)]
        rows = rows[rows["release"] != ""]
        assert len(rows), f"no identified boot in {path_part}"
        return rows.iloc[0].to_dict()

    b = boot("rhel47-xenU-console.log")
    assert (b["release"], b["distro"], b["distro_release"], b["flavour"]) == (
        "2.6.9-78.ELxenU", "rhel", "4.7", "xenU",
    )  # fmt: skip
    b = boot("rhel53-guest/messages")
    assert (b["release"], b["distro_release"], b["flavour"]) == ("2.6.18-128.el5xen", "5.3", "xen")
    b = boot("vmcore-dmesg.txt")
    assert b["release"].startswith("2.6.32-71.el6") and b["distro_release"] == "6.0"
    b = boot("case-xs01/guest-rhel47vm.log")
    assert b["distro_release"] == "4.7"
    vendors = set(ds.boots["vendor"])
    assert "citrix" in vendors  # the .xs builds among the signature samples


def test_ingest_keeps_every_line_and_every_table(samples_ds: Path) -> None:
    ds = triage.open_dataset(str(samples_ds))
    console = ds.sources[ds.sources["display"].str.endswith("rhel47-xenU-console.log")].iloc[0]
    n_file = (SAMPLES / "rhel47-xenU-console.log").read_bytes().count(b"\n")
    kept = ds.sql(f"SELECT count(*) AS n FROM lines WHERE source_id = '{console.source_id}'")
    assert kept["n"][0] == console.line_count >= n_file - 1
    for table in ("sources", "lines", "boots", "crashes", "facts", "findings", "errors"):
        assert table in ds.manifest["counts"]
    assert ds.manifest["counts"]["facts"] > 0


def test_rerun_with_same_inputs_reproduces_the_same_rows(samples_ds: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert cli("ingest", "samples", "--out", str(again), "--quiet").returncode == 0
    a, b = triage.open_dataset(str(samples_ds)), triage.open_dataset(str(again))
    for table in ("sources", "boots", "crashes", "findings", "facts", "errors"):
        left, right = (x.frame(table).astype(str) for x in (a, b))
        left = left.sort_values(list(left.columns)).reset_index(drop=True)
        right = right.sort_values(list(right.columns)).reset_index(drop=True)
        assert left.equals(right), table
        assert len(left) or table == "errors", f"{table}: the samples should fill it"


def test_incremental_rerun_skips_unchanged_units(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.log").write_bytes((SAMPLES / "rhel47-xenU-console.log").read_bytes())
    (src / "b.log").write_bytes((SAMPLES / "case-xs01" / "guest-rhel47vm.log").read_bytes())
    out = str(tmp_path / "ds")
    first = triage.ingest([str(src)], out=out)
    assert first.processed == 2 and first.skipped == 0
    second = triage.ingest([str(src)], out=out)
    assert second.processed == 0 and second.skipped == 2
    (src / "b.log").write_bytes(b"Linux version 2.6.18-128.el5xen (x@y) (gcc version 4.1.2)\n")
    third = triage.ingest([str(src)], out=out)
    assert third.processed >= 1
    ds = triage.open_dataset(out)
    assert {Path(d).name for d in ds.sources["display"]} == {"a.log", "b.log"}
    assert "2.6.18-128.el5xen" in set(ds.boots["release"])


def test_a_second_writer_of_a_dataset_stops_with_one_line(tmp_path: Path) -> None:
    """While a run writes a dataset, another that would write it stops at once (exit 2, one
    line, the dataset untouched); one that finds nothing to do only reads, and still works."""
    from triage.store.lock import writing

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.log").write_bytes((SAMPLES / "rhel47-xenU-console.log").read_bytes())
    out = tmp_path / "ds"
    assert cli("ingest", str(src), "--out", str(out), "-q").returncode == 0
    manifest = (out / "manifest.json").read_bytes()
    with writing(str(out)):
        idle = cli("ingest", str(src), "--out", str(out), "-q")
        assert idle.returncode == 0, idle.stderr
        (src / "b.log").write_bytes((SAMPLES / "case-xs01" / "guest-rhel47vm.log").read_bytes())
        busy = cli("ingest", str(src), "--out", str(out), "-q")
        assert busy.returncode == 2
        assert busy.stderr.count("\n") == 1 and "another triage run" in busy.stderr
        assert (out / "manifest.json").read_bytes() == manifest
    assert cli("ingest", str(src), "--out", str(out), "-q").returncode == 0
    assert len(triage.open_dataset(str(out)).sources) == 2


def test_a_second_writer_of_a_dataset_at_a_url_stops_with_one_line(tmp_path: Path) -> None:
    """The same for a dataset at an fsspec URL, whose lock is a lease in `.lock`, and the
    command line takes such a URL as it is given."""
    from triage.store.lock import writing

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.log").write_bytes((SAMPLES / "rhel47-xenU-console.log").read_bytes())
    url = f"file://{tmp_path / 'ds'}"
    with writing(url):
        busy = cli("ingest", str(src), "--out", url, "-q")
        assert busy.returncode == 2
        assert busy.stderr.count("\n") == 1 and "another triage run" in busy.stderr
    assert not (tmp_path / "ds" / ".lock").exists()
    # the URL reaches the store whole (as a Path, "file:///x" would be a local "file:/x")
    assert cli("ingest", str(src), "--out", url, "-q").returncode == 0
    assert len(triage.open_dataset(url).sources) == 1
    shown = cli("report", url, "--format", "json")
    assert shown.returncode == 0 and '"sources": 1' in shown.stdout
    assert not Path("file:").exists()


# -- issue 5: scan --------------------------------------------------------------------------
def test_scan_exit_codes() -> None:
    r = cli("scan", "samples/case-xs01", "--quiet")
    assert r.returncode == 1 and "migration-lowmem-crash" in r.stdout
    assert cli("scan", "samples/case-xs01", "--quiet", "--fail-on", "never").returncode == 0
    assert cli("scan", "samples/case-xs01", "--quiet", "--fail-on", "high").returncode == 0
    r = cli("scan", "no/such/path")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no/such/path" in r.stderr
    r = cli("scan", "samples", "--jobs", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = cli("scan", "samples", "--limit", "nonsense=1")
    assert r.returncode == 2 and "unknown limit" in r.stderr


def test_scan_table_fits_100_columns_and_names_the_vm() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "triage.cli", "scan", "samples/case-xs01", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, env={"NO_COLOR": "1", "COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert r.stdout and max(len(line) for line in r.stdout.splitlines()) <= 100
    assert "rhel47vm" in r.stdout and "5e1f4a2b-8c3d-4f6e-b7a9-0c1d2e3f4a5b" in r.stdout
    assert "samples/case-xs01/guest-rhel47vm.log:" in r.stdout


def test_scan_json_follows_the_published_schema() -> None:
    from triage.report import report_schema

    r = cli("scan", "samples/case-xs01", "--format", "json", "--quiet")
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, report_schema())
    sigs = {f["signature_id"] for f in doc["findings"]}
    assert "xen-rhel/migration-lowmem-crash" in sigs


def test_report_and_query_from_an_existing_dataset(samples_ds: Path, tmp_path: Path) -> None:
    for fmt in ("table", "json", "jsonl", "md", "csv", "html"):
        out = tmp_path / f"r.{fmt}"
        r = cli("report", str(samples_ds), "--format", fmt, "--output", str(out))
        assert r.returncode == 0, (fmt, r.stderr)
        assert out.stat().st_size > 200
    r = cli(
        "query",
        str(samples_ds),
        "SELECT release, count(*) AS n FROM boots GROUP BY 1 ORDER BY 2 DESC",
        "--format",
        "json",
    )
    rows = json.loads(r.stdout)
    assert rows and {"release", "n"} <= set(rows[0])
    r = cli("query", str(samples_ds), "SELECT nope FROM crashes")
    assert r.returncode == 2 and "query failed" in r.stderr
    assert cli("report", str(tmp_path / "missing")).returncode == 2


# -- issue 3: crashes command ---------------------------------------------------------------
def test_crashes_command_json() -> None:
    r = cli("crashes", "samples/var", "--format", "json", "--quiet")
    crashes = json.loads(r.stdout)
    assert len(crashes) == 1
    c = crashes[0]
    assert c["title"].startswith("BUG: unable to handle kernel NULL pointer dereference in ")
    assert c["release"].startswith("2.6.32-71.el6") and c["panicked"] and c["frames"]
    assert c["path"].endswith("vmcore-dmesg.txt")


def test_crashes_command_lists_crashes_by_place_the_same_each_run_and_csv_keeps_integers() -> None:
    """Records follow the inputs (path, then line), not the dataset's parts, whose order
    changes from run to run; no pandas is loaded; integers stay integers in CSV."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from triage.cli import app\n"
        "r = CliRunner().invoke(app, sys.argv[1:])\n"
        "sys.stdout.write(('pandas ' if 'pandas' in sys.modules else '-') + '\\n' + r.output)\n"
    )

    def crashes(fmt: str) -> tuple[str, str]:
        r = subprocess.run(
            [sys.executable, "-c", probe, "crashes", "samples", "--format", fmt, "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        loaded, _, out = r.stdout.partition("\n")
        return loaded.strip(), out

    loaded, first = crashes("json")
    assert loaded == "-"
    records = json.loads(first)
    assert len(records) > 10
    places = [(c["path"], c["first_line"]) for c in records]
    assert places == sorted(places)
    assert crashes("json")[1] == first
    rows = list(csv.DictReader(io.StringIO(crashes("csv")[1])))
    assert [r["crash_id"] for r in rows] == [c["crash_id"] for c in records]
    pids = [r["pid"] for r in rows if r["pid"]]
    assert pids and all(p.isdigit() for p in pids)


# -- issue 6: a vmcore in a folder ----------------------------------------------------------
def test_scan_finds_the_crash_inside_a_vmcore(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from dumpbuilder import build_elf

    core, _ = build_elf("lockless")
    case = tmp_path / "127.0.0.1-2024-04-24-23:06:40"
    case.mkdir()
    (case / "vmcore").write_bytes(core)
    r = cli("crashes", str(tmp_path), "--format", "json", "--quiet")
    crashes = json.loads(r.stdout)
    assert len(crashes) == 1, r.stderr
    assert crashes[0]["release"] == "5.14.0-427.13.1.el9_4.x86_64"
    assert "ext4_put_super" in crashes[0]["title"]
    assert crashes[0]["path"].endswith("vmcore#dmesg")
    ds = triage.scan([str(tmp_path)]).dataset
    times = ds.facts[ds.facts["key"] == "crash.time"]["value"].tolist()
    assert times and times[0].startswith("2024-04-24")


def test_crash_tool_paste_gives_a_framed_crash(tmp_path: Path) -> None:
    paste = """crash> sys
      KERNEL: /usr/lib/debug/lib/modules/2.6.18-194.el5/vmlinux
    DUMPFILE: /var/crash/127.0.0.1-2010-06-01-10:00:00/vmcore
        CPUS: 2
        DATE: Tue Jun  1 10:00:00 2010
      UPTIME: 12 days, 01:02:03
    NODENAME: db01.example.com
     RELEASE: 2.6.18-194.el5
     VERSION: #1 SMP Tue Mar 16 21:52:39 EDT 2010
     MACHINE: x86_64  (2394 Mhz)
      MEMORY: 8 GB
       PANIC: "Oops: 0000 [1] SMP " (check log for details)
crash> bt
PID: 4211   TASK: ffff81012f3a1080  CPU: 1   COMMAND: "java"
 #0 [ffff81011e8c1a30] crash_kexec at ffffffff800aeb6b
 #1 [ffff81011e8c1af0] __die at ffffffff80065137
 #2 [ffff81011e8c1b30] do_page_fault at ffffffff80067430
 #3 [ffff81011e8c1c20] error_exit at ffffffff8005dde9
    [exception RIP: tcp_sendmsg+1532]
    RIP: ffffffff8001d0cc  RSP: ffff81011e8c1cd8  RFLAGS: 00010246
    RAX: 0000000000000000  RBX: ffff81012b2e4b80  RCX: 0000000000000000
 #4 [ffff81011e8c1d70] sock_sendmsg at ffffffff800376d5
 #5 [ffff81011e8c1e80] sys_sendto at ffffffff8003e4b1
 #6 [ffff81011e8c1f80] tracesys at ffffffff8005d28d
"""
    (tmp_path / "crash-session.txt").write_text(paste)
    crashes = json.loads(cli("crashes", str(tmp_path), "--format", "json", "--quiet").stdout)
    assert len(crashes) == 1
    c = crashes[0]
    assert c["frames"] and c["frames"][0]["function"] == "tcp_sendmsg"
    assert "tcp_sendmsg" in c["title"] and c["release"] == "2.6.18-194.el5"


# -- the corpora: every file gets a source row and a kind -------------------------------------
def test_ingest_of_all_corpora_completes(tmp_path: Path) -> None:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora absent at {CORPORA}")
    out = tmp_path / "corpora"
    r = cli("ingest", str(CORPORA), "--out", str(out), "--quiet", "--no-signatures")
    assert r.returncode == 0, r.stderr[-2000:]
    ds = triage.open_dataset(str(out))
    files = [p for p in CORPORA.rglob("*") if p.is_file()]
    assert len(ds.sources) == len(files)
    assert ds.sources["kind"].notna().all() and (ds.sources["kind"] != "").all()
    assert len(ds.crashes) > 500


def _run_on_a_terminal(cmd: list[str], cwd: Path, cols: int = 160) -> str:
    """What a run prints on stderr when stderr is a terminal (the progress bar shows)."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": str(cols), "TERM": "xterm"}
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            got = os.read(master, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not got:
            break
        chunks.append(got)
    proc.wait(timeout=300)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_the_progress_bar_counts_inputs_and_keeps_warnings_on_their_own_lines(
    tmp_path: Path,
) -> None:
    """The bar showed bytes twice and no count of inputs, and a warning printed while it
    showed ran on into its line."""
    logs = many_logs(tmp_path / "logs", 3000)
    (logs / "empty.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "triage.cli", "ingest", str(logs), "--out", str(out)]
    shown = _run_on_a_terminal(cmd, tmp_path)
    assert "/3,001 inputs" in shown
    lines = shown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    plain = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", x) for x in lines]
    warned = [x for x in plain if "triage: warning:" in x]
    assert warned and all(x.startswith("triage: warning:") for x in warned), warned


def test_ctrl_c_stops_a_pool_run_with_one_line(tmp_path: Path) -> None:
    """Ctrl-C reaches the workers too: each printed its own traceback, and the run said
    nothing of its own. Now one line, status 130, and no worker left behind."""
    import signal
    import time

    logs = many_logs(tmp_path / "logs", 4000)
    cmd = [sys.executable, "-m", "triage.cli", "ingest", str(logs), "--out", str(tmp_path / "ds")]
    proc = subprocess.Popen([*cmd, "-j", "2"], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # into the walk or the packs
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err == "triage: interrupted\n"
    deadline = time.monotonic() + 10
    while in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not in_group(proc.pid), "processes of the run outlived it"


def test_a_compressed_source_row_gives_its_inflated_size(tmp_path: Path) -> None:
    """The walk does not know a compressed file's inflated size (-1); once it is read whole,
    its row gives it, as a plain file's gives its size on disk."""
    import gzip

    folder = SAMPLES / "rhel53-guest"
    out = tmp_path / "ds"
    triage.ingest([str(folder)], out=str(out))
    sizes = dict(triage.open_dataset(str(out)).sources[["path", "size"]].values)
    assert sizes["messages.2.gz"] == len(gzip.decompress((folder / "messages.2.gz").read_bytes()))
    assert sizes["messages"] == (folder / "messages").stat().st_size


def test_names_that_are_not_utf8_are_read_and_kept_escaped(tmp_path: Path) -> None:
    """A log named on a Latin-1 system (`dmesg-Fr\\xe9jus.log`), loose or in a tar, stopped the
    whole run at the first table written ("surrogates not allowed"), and no dataset was left.
    Each such byte is kept as `\\xNN`; the files are read, a rerun finds them unchanged, a
    changed one replaces its rows, and the report names it."""
    logs = tmp_path / "in"
    logs.mkdir()
    guest = (SAMPLES / "case-xs01" / "guest-rhel47vm.log").read_bytes()
    (logs / "good.log").write_bytes(guest)
    latin = os.fsencode(logs) + b"/dmesg-Fr\xe9jus.log"
    with open(latin, "wb") as fh:
        fh.write(guest)
    import tarfile

    with tarfile.open(logs / "bundle.tar", "w") as tar:
        info = tarfile.TarInfo(os.fsdecode(b"var/log/caf\xe9/messages"))
        info.size = len(guest)
        tar.addfile(info, io.BytesIO(guest))
    out = tmp_path / "ds"
    r = cli("ingest", str(logs), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    ds = triage.open_dataset(str(out))
    assert sorted(ds.sources["path"]) == [
        "dmesg-Fr\\xe9jus.log",
        "good.log",
        "var/log/caf\\xe9/messages",
    ]
    per_source = ds.crashes.groupby("source_id").size()
    assert len(per_source) == 3 and per_source.min() == per_source.max() > 0
    again = cli("ingest", str(logs), "--out", str(out))
    assert "0 processed, 3 unchanged" in again.stdout + again.stderr
    with open(latin, "ab") as fh:
        fh.write(b"one more line\n")
    cli("ingest", str(logs), "--out", str(out), "--quiet")
    ds = triage.open_dataset(str(out))
    assert sorted(ds.sources["line_count"]) == sorted(
        [*[guest.count(b"\n")] * 2, 1 + guest.count(b"\n")]
    )
    report = cli("scan", str(logs), "--format", "json")
    assert report.returncode == 1, report.stderr  # findings
    shown = {f["source"] for f in json.loads(report.stdout)["findings"]}
    assert any("Fr\\xe9jus" in s for s in shown)


def test_an_output_url_no_filesystem_here_can_write_is_a_user_error(tmp_path: Path) -> None:
    """`--out nosuch://x`, or `s3://…` without s3fs, was "internal error: ValueError: Protocol
    not known" — a mistake in the command line, said as one of ours."""
    log = str(SAMPLES / "rhel47-xenU-console.log")
    for args in (
        ["ingest", log, "--out", "nosuch://x/ds"],
        ["scan", log, "--out", "nosuch://x/ds"],
        ["report", "nosuch://x/ds"],
    ):
        r = cli(*args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and "internal error" not in r.stderr, r.stderr
        assert r.stderr.startswith("triage: error: nosuch://x/ds: no filesystem here"), r.stderr
