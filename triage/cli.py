"""The `triage` command: thin — parses options, calls the API, renders.

Exit codes (DESIGN.md §7): 0 no finding at or above --fail-on, 1 findings, 2 usage or fatal error.
A user mistake is one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.version import __version__

EXAMPLES = """Examples:

\b
  triage scan case-01234/                      findings, evidence, fix, workaround
  triage scan bug-report-20090615103000.tar.bz2 --format json | jq '.findings[].signature_id'
  triage scan /bundles --out ds/ --jobs 8      batch run; reruns skip what is unchanged
  triage report ds/ --format html --output report.html
  triage query ds/ "SELECT title, count(*) FROM crashes GROUP BY 1 ORDER BY 2 DESC"
  triage crashes console.log --format json
  triage signatures list
"""

app = typer.Typer(
    name="triage",
    help="Kernel log analysis and crash triage: find crashes and documented issues in logs, "
    "dumps and support bundles.",
    epilog=EXAMPLES,
    rich_markup_mode=None,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
sig_app = typer.Typer(help="Inspect, lint and test the signature library.", no_args_is_help=True)
app.add_typer(sig_app, name="signatures")


class Fmt(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    md = "md"
    html = "html"
    csv = "csv"


class FailOn(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"
    never = "never"


class QueryFmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class UsageError(Exception):
    """A user mistake: reported as one line, exit 2."""


def fail(message: str) -> typer.Exit:
    typer.echo(f"triage: error: {message}", err=True)
    return typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"triage {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Kernel log analysis and crash triage."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _check_paths(paths: list[Path]) -> list[str]:
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise fail(f"no such file or directory: {', '.join(missing)}")
    return [str(p) for p in paths]


def _parse_limits(items: list[str]) -> Any:
    from triage.limits import DEFAULT_LIMITS

    kw: dict[str, float | int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--limit expects KEY=VALUE, got {item!r}")
        try:
            kw[key.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            raise fail(f"--limit {key}: not a number: {value!r}") from None
    try:
        return DEFAULT_LIMITS.override(**kw)
    except ValueError as exc:
        raise fail(str(exc)) from None


class _Progress:
    """A progress bar on stderr for runs that take more than a moment: inputs (bundles and
    loose files) and bytes done, rate and time left. Warnings go above it (`say`), not into
    its line."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, ev: Any) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]triage"),
                BarColumn(),
                TextColumn("{task.fields[inputs]} inputs"),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("units", total=max(ev.bytes_total, 1), inputs="")
        self._bar.update(
            self._task,
            completed=ev.bytes_done,
            total=max(ev.bytes_total, 1),
            inputs=f"{ev.units_done:,}/{ev.units_total:,}",
        )

    def say(self, line: str) -> None:
        """One line on stderr: above the bar while it shows."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(line, err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _warn_printer(quiet: bool, progress: _Progress) -> Any:
    def warn(msg: str) -> None:
        if not quiet:
            progress.say(f"triage: warning: {msg}")

    return warn


def _run(
    paths: list[Path],
    out: str | None,
    keep: str,
    signatures: list[Path],
    jobs: int | None,
    scheduler: str | None,
    force: bool,
    limits: list[str],
    system_map: Path | None,
    quiet: bool,
    use_signatures: bool = True,
    meanwhile: Callable[[], None] | None = None,
) -> Any:
    from triage.batch.options import default_jobs
    from triage.batch.run import RunOptions, run
    from triage.match import SignatureError
    from triage.store.lock import DatasetBusy

    names = _check_paths(paths)
    jobs = default_jobs(jobs, scheduler)
    if jobs < 1:
        raise fail("--jobs must be at least 1")
    lim = _parse_limits(limits)
    for d in signatures:
        if not d.is_dir():
            raise fail(f"--signatures {d}: not a directory")
    progress = _Progress(enabled=not quiet)
    opts = RunOptions(
        signatures=[str(d) for d in signatures],
        use_signatures=use_signatures,
        jobs=jobs,
        scheduler=scheduler,
        force=force,
        keep=keep,
        limits=lim,
        system_map=str(system_map) if system_map else None,
        progress=progress,
        warn=_warn_printer(quiet, progress),
        meanwhile=meanwhile,
        without_pandas=True,  # the command hands Arrow no pandas objects, report included
    )
    try:
        return run(names, str(out) if out else None, opts)
    except (SignatureError, DatasetBusy) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        if scheduler and not getattr(exc, "filename", None):  # the cluster, not a file
            raise fail(f"--scheduler {scheduler}: {exc}") from None
        raise fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}") from None
    finally:
        progress.close()


def _render(ds: Any, fmt: Fmt, output: Path | None) -> None:
    from triage import report

    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            report.render(ds, fmt.value, out=fh, color=False)
    else:
        report.render(ds, fmt.value, out=sys.stdout)


def _report_run(summary: Any, fmt: Fmt, output: Path | None, fail_on: FailOn) -> int:
    """Render the run's report (kept with the dataset and reused while its snapshot is
    unchanged, see report/cache.py); the exit code."""
    from triage.report import cache

    snap = "" if summary.temporary else summary.snapshot_id
    key, width, color = _kept_as(fmt, output)
    kept = cache.load(summary.out, snap, key)
    if kept is None:
        _arrow_for_report()
    if kept is None and cache.keeps(key) and snap:
        from triage import report

        ds = summary.dataset
        text = report.render(ds, fmt.value, width=width, color=color)
        confidences = _confidences(ds)
        cache.save(summary.out, snap, key, text, confidences)
        kept = (text, confidences)
    if kept is None:
        ds = summary.dataset
        _render(ds, fmt, output)
        return _exit_code(_confidences(ds), fail_on)
    text, confidences = kept
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return _exit_code(confidences, fail_on)


def _arrow_for_report() -> None:
    """Before the report reads tables: Arrow settled without pandas (0.3-0.5 s to import),
    which it would otherwise load as it reads Parquet. The report reads Arrow, and nothing
    the command hands Arrow is a pandas object."""
    from triage.batch.sigset import arrow_without_pandas

    arrow_without_pandas()


def _confidences(ds: Any) -> list[str]:
    """Each finding's confidence, read from Arrow (the exit code needs no pandas)."""
    return [str(c) for c in ds.table("findings").column("confidence").to_pylist()]


def _kept_as(fmt: Fmt, output: Path | None) -> tuple[str, int | None, bool | None]:
    """The name the report is kept under, and for the table the width and colours it is laid
    out for: the terminal's (or, for a file, 100 columns without colour)."""
    if fmt != Fmt.table:
        return fmt.value, None, None
    from triage.report import layout

    if output is not None:
        return layout.table_key(io.StringIO(), None, False), None, False
    width = layout.table_width(sys.stdout, None)
    color = layout.want_color(sys.stdout, None)
    return layout.table_key(sys.stdout, width, color), width, color


_CONF_RANK = {"high": 3, "medium": 2, "low": 1}


def _exit_code(confidences: list[str], fail_on: FailOn) -> int:
    """1 when a finding is at least as confident as `fail_on` asks."""
    if fail_on == FailOn.never:
        return 0
    threshold = _CONF_RANK[fail_on.value]
    return 1 if any(_CONF_RANK.get(c, 0) >= threshold for c in confidences) else 0


# Shared option declarations
PathsArg = Annotated[list[Path], typer.Argument(help="Log files, folders, archives or dumps.")]
SigOpt = Annotated[
    list[Path],
    typer.Option("--signatures", "-s", help="A directory of extra signatures (repeatable)."),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Worker processes [default: 1; with --scheduler local, one per core].",
        show_default=False,
    ),
]
SchedOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786), or 'local'."),
]
LimitOpt = Annotated[
    list[str], typer.Option("--limit", help="Override a limit, KEY=VALUE (see triage.limits).")
]
MapOpt = Annotated[
    Path | None, typer.Option("--system-map", help="System.map for Xen dump-core files.")
]


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------
@app.command()
def scan(
    paths: PathsArg,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Dataset folder or URL.")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="Report format.")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report here.")] = None,
    signatures: SigOpt = [],
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at least this confident.")
    ] = FailOn.low,
    jobs: JobsOpt = None,
    scheduler: SchedOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redo sources that are unchanged.")
    ] = False,
    all_lines: Annotated[
        bool, typer.Option("--all-lines", help="Keep every kernel line, not only relevant ones.")
    ] = False,
    limit: LimitOpt = [],
    system_map: MapOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no warnings.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say where the dataset went.")
    ] = False,
) -> None:
    """Find crashes and documented issues; print the findings with evidence, fix and workaround.

    Example: triage scan case-01234/ --format md --output ticket.md
    """
    summary = _run(
        paths,
        out,
        "all" if all_lines else "relevant",
        signatures,
        jobs,
        scheduler,
        force,
        limit,
        system_map,
        quiet,
        meanwhile=lambda: _prepare_report(fmt),
    )
    if verbose:
        typer.echo(f"triage: dataset written to {summary.out} in {summary.seconds:.2f}s", err=True)
    raise typer.Exit(_report_run(summary, fmt, output, fail_on))


def _prepare_report(fmt: Fmt) -> None:
    from triage import report

    report.prepare(fmt.value)


@app.command()
def ingest(
    paths: PathsArg,
    out: Annotated[str, typer.Option("--out", "-o", help="Dataset folder or URL.")],
    signatures: SigOpt = [],
    no_signatures: Annotated[
        bool, typer.Option("--no-signatures", help="Do not match signatures.")
    ] = False,
    jobs: JobsOpt = None,
    scheduler: SchedOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redo sources that are unchanged.")
    ] = False,
    limit: LimitOpt = [],
    system_map: MapOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Build the Parquet dataset, keeping every kernel line.

    Example: triage ingest samples/ --out /tmp/ds
    """
    summary = _run(
        paths,
        out,
        "all",
        signatures,
        jobs,
        scheduler,
        force,
        limit,
        system_map,
        quiet,
        use_signatures=not no_signatures,
    )
    counts = summary.counts
    if not quiet:
        typer.echo(
            f"{summary.out}: {counts.get('sources', 0)} sources, {counts.get('lines', 0)} lines, "
            f"{counts.get('boots', 0)} boots, {counts.get('crashes', 0)} crashes, "
            f"{counts.get('findings', 0)} findings, {counts.get('errors', 0)} errors "
            f"({summary.processed} processed{_rematched(summary)}, {summary.skipped} unchanged, "
            f"{summary.seconds:.2f}s)"
        )


def _rematched(summary: Any) -> str:
    n = summary.rematched
    return f" ({n} matched again from the rows kept, their inputs not read)" if n else ""


@app.command()
def crashes(
    paths: PathsArg,
    fmt: Annotated[QueryFmt, typer.Option("--format", "-f")] = QueryFmt.table,
    limit: LimitOpt = [],
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Print one record per crash or hang found (JSON: one object per crash).

    Example: triage crashes console.log --format json
    """
    summary = _run(
        paths, None, "relevant", [], 1, None, True, limit, None, quiet, use_signatures=False
    )
    import pyarrow.compute as pc

    from triage.report.crashes import render_crashes

    _arrow_for_report()
    ds = summary.dataset
    rows = ds.table("crashes")
    rows = rows.filter(pc.fill_null(pc.equal(rows["record"], "crash"), False))
    render_crashes(ds.table("sources"), rows, fmt.value, sys.stdout)


@app.command()
def report(
    dataset: Annotated[
        str, typer.Argument(help="A dataset folder or URL written by scan or ingest.")
    ],
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output")] = None,
) -> None:
    """Render a report from an existing dataset.

    Example: triage report ds/ --format html --output report.html
    """
    _arrow_for_report()
    ds = _open(dataset)
    _render(ds, fmt, output)


@app.command()
def query(
    dataset: Annotated[str, typer.Argument(help="A dataset folder or URL.")],
    sql: Annotated[str, typer.Argument(help="DuckDB SQL; every table is a view.")],
    fmt: Annotated[QueryFmt, typer.Option("--format", "-f")] = QueryFmt.table,
) -> None:
    """Run DuckDB SQL over a dataset (tables: sources lines boots crashes facts findings errors).

    Example: triage query ds/ "SELECT release, count(*) FROM boots GROUP BY 1"
    """
    import duckdb

    ds = _open(dataset)
    try:
        df = ds.sql(sql)
    except duckdb.Error as exc:
        raise fail(f"query failed: {str(exc).splitlines()[0]}") from None
    if fmt == QueryFmt.csv:
        df.to_csv(sys.stdout, index=False)
    elif fmt == QueryFmt.json:
        sys.stdout.write(df.to_json(orient="records", date_format="iso", default_handler=str))
        sys.stdout.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        for c in df.columns:
            table.add_column(str(c), overflow="fold")
        for row in df.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        Console(markup=False).print(table)


def _cell(v: Any) -> str:
    from rich.markup import escape

    return escape("" if v is None else str(v))


def _open(path: str) -> Any:
    """The dataset at a folder or URL (a string: as a Path, "s3://b/k" would become "s3:/b/k")."""
    from triage.store import DatasetError, open_dataset

    if "://" not in path and not os.path.exists(path):
        raise fail(f"no such dataset: {path}")
    try:
        return open_dataset(str(path))
    except DatasetError as exc:
        raise fail(str(exc)) from None


# --------------------------------------------------------------------------------------------
# signatures
# --------------------------------------------------------------------------------------------
def _sigset(dirs: list[Path]) -> Any:
    from triage.match import SignatureError, load_signatures

    try:
        return load_signatures([str(d) for d in dirs])
    except SignatureError as exc:
        raise fail(str(exc)) from None


@sig_app.command("lint")
def sig_lint(signatures: SigOpt = []) -> None:
    """Check schema, regexes, unique ids and that every signature has tests."""
    from triage.match import lint, lint_exit_status

    problems = lint([str(d) for d in signatures])
    for p in problems:
        typer.echo(str(p))
    errors = sum(p.severity == "error" for p in problems)
    typer.echo(f"{len(problems)} problem(s), {errors} error(s)")
    raise typer.Exit(lint_exit_status(problems))


@sig_app.command("list")
def sig_list(
    signatures: SigOpt = [], as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """A table of id, title, references, affected releases and fix."""
    from rich.console import Console
    from rich.table import Table

    from triage.match import list_signatures

    rows = list_signatures(_sigset(signatures))
    if as_json:
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    table = Table(show_lines=True)
    for col in ("id", "title", "references", "affected releases", "fix"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            *[_cell(_flat(r.get(k, ""))) for k in ("id", "title", "references", "affected", "fix")]
        )
    Console(markup=False).print(table)


def _flat(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    return str(v)


@sig_app.command("show")
def sig_show(
    sig_id: Annotated[str, typer.Argument(help="Signature id, e.g. xen-rhel/xfs-panic")],
    signatures: SigOpt = [],
) -> None:
    """Print one signature in full."""
    from triage.match import show

    try:
        text = show(_sigset(signatures), sig_id)
    except KeyError:
        raise fail(f"no signature {sig_id!r} (see 'triage signatures list')") from None
    if not isinstance(text, str):
        import yaml

        text = yaml.safe_dump(text, sort_keys=False, allow_unicode=True, width=100)
    typer.echo(text)


@sig_app.command("test")
def sig_test(
    sig_id: Annotated[str | None, typer.Argument(help="Only this signature.")] = None,
    signatures: SigOpt = [],
) -> None:
    """Run every signature's own must-match and must-not-match samples."""
    from triage.batch.selftest import run_tests, tests_exit_status

    sigset = _sigset(signatures)
    try:
        results = run_tests(sigset, [sig_id] if sig_id else None)
    except KeyError:
        raise fail(f"no signature {sig_id!r}") from None
    for r in results:
        typer.echo(str(r))
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(tests_exit_status(results))


def main() -> None:
    """Console-script entry point: a user mistake is one line and exit 2, never a traceback."""
    from triage.batch.process_setup import batch_gc

    batch_gc()
    try:
        app()
    except KeyboardInterrupt:  # what was committed stays; workers end with this process
        _leave(INTERRUPTED)
    except SystemExit as done:  # typer turns Ctrl-C into exit status 130, silently
        _leave(done.code)
    except BrokenPipeError:
        # `triage scan … | head`: the reader went away; that is not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("TRIAGE_DEBUG"):
            raise
        from triage.store import DatasetError

        if isinstance(exc, DatasetError):  # a damaged dataset: its file named, in one line
            typer.echo(f"triage: error: {exc}", err=True)
            _leave(2)
        typer.echo(
            f"triage: internal error: {type(exc).__name__}: {exc} (set TRIAGE_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(2)


#: the exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it)
INTERRUPTED = 130


def _leave(code: object) -> None:
    """End the process once the command is done: its files are closed, its pool and cluster
    shut down, its output flushed here. Tearing down the interpreter (every module of pandas,
    Arrow and the pipeline) would take a quarter of a second more, after the work, and most
    of a rerun that finds nothing to do."""
    if code == INTERRUPTED:  # what was committed stays; workers end with this process
        print("triage: interrupted", file=sys.stderr)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): said on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away; what it read is all it wanted
        pass
    os._exit(status)


if __name__ == "__main__":
    main()
