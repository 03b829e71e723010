"""A kernel report gives the same crash whichever tool printed it, in whichever mode.

Support engineers get the kernel's messages as `dmesg` printed them (plain, `-r`, `-x`, `-T`,
`-d`, `-e`, `--time-format iso`, with caller ids), as /dev/kmsg gives them, as journalctl printed them (short, short-precise,
short-full, short-unix, short-monotonic, short-delta, short-iso-precise) or as a syslog daemon wrote them in
RFC 5424. Each form of the public corpora's timestamped kernel lines must be detected as its
kind and yield the first crash title of the plain `[seconds] message` form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_crashes import SYZKALLER, crashes_of, read_golden, syzkaller_logs

from triage import pipeline, sources
from triage.limits import DEFAULT_LIMITS
from triage.model import (
    KIND_CONSOLE,
    KIND_DMESG,
    KIND_JOURNAL,
    KIND_SYSLOG_RFC3339,
    SourceFile,
)

pytestmark = pytest.mark.skipif(
    not SYZKALLER.is_dir(), reason=f"syzkaller corpus not present at {SYZKALLER}"
)

_PRINTK = re.compile(r"^(?:<\d+>)?\[\s*(\d+)\.(\d+)\](?:\s?\[\s*([TC]\d+)\])? ?(.*)$")
BOOT = dt.datetime(2024, 3, 4, 10, 0, 0)

#: one printk record: seconds, microseconds, caller id (or None), message
Record = tuple[int, int, str | None, str]


def _records(log: str) -> list[Record]:
    out = []
    for line in log.split("\n"):
        m = _PRINTK.match(line)
        if m:
            usec = int(m.group(2)[:6].ljust(6, "0"))
            out.append((int(m.group(1)), usec, m.group(3), m.group(4)))
    return out


def _at(s: int) -> dt.datetime:
    return BOOT + dt.timedelta(seconds=s)


def _ctime(s: int) -> str:
    return _at(s).strftime("%a %b %e %H:%M:%S %Y")


def _with_delta(fmt: Callable[[int, int, float], str]) -> Callable[[list[Record]], list[str]]:
    def render(recs: list[Record]) -> list[str]:
        out, before = [], 0.0
        for s, us, _, text in recs:
            now = s + us / 1e6
            out.append(fmt(s, us, now - before) + text)
            before = now
        return out

    return render


def _relative(recs: list[Record]) -> list[str]:
    """`dmesg -e`: the minute when it is not that of the message before, else the delta."""
    out, before, minute = [], 0.0, ""
    for s, us, _, text in recs:
        now = s + us / 1e6
        if _at(s).strftime("%b%e %H:%M") != minute:
            minute = _at(s).strftime("%b%e %H:%M")
            out.append(f"[{minute}] {text}")
        else:
            delta = now - before
            out.append((f"[  {delta:+8.6f}] " if delta < 10 else f"[ {delta:+9.6f}] ") + text)
        before = now
    return out


def _kmsg(recs: list[Record]) -> list[str]:
    """/dev/kmsg records (`cat /dev/kmsg`, extended netconsole): level, sequence number,
    microseconds, flag; a device's properties follow some as ` KEY=VALUE` lines."""
    out = []
    for seq, (s, us, _, text) in enumerate(recs, start=1042):
        out.append(f"4,{seq},{s * 1_000_000 + us},-;{text}")
        if seq % 5 == 0:
            out += [" SUBSYSTEM=pci", " DEVICE=+pci:0000:00:03.0"]
    return out


def _each(fmt: Callable[[int, int, str], str]) -> Callable[[list[Record]], list[str]]:
    return lambda recs: [fmt(s, us, c or "T1") + text for s, us, c, text in recs]


#: form → (how it prints the records, the kind it must be detected as)
FORMS: dict[str, tuple[Callable[[list[Record]], list[str]], str]] = {
    "dmesg": (_each(lambda s, us, c: f"[{s:5d}.{us:06d}] "), KIND_DMESG),
    "dmesg -r": (_each(lambda s, us, c: f"<4>[{s:5d}.{us:06d}] "), KIND_DMESG),
    "dmesg -x": (_each(lambda s, us, c: f"kern  :warn  : [{s:5d}.{us:06d}] "), KIND_DMESG),
    "dmesg, caller id": (_each(lambda s, us, c: f"[{s:5d}.{us:06d}] [{c:>7}] "), KIND_DMESG),
    "dmesg -T": (_each(lambda s, us, c: f"[{_ctime(s)}] "), KIND_DMESG),
    "dmesg -T, caller id": (_each(lambda s, us, c: f"[{_ctime(s)}] [{c:>7}] "), KIND_DMESG),
    "dmesg -d": (_with_delta(lambda s, us, d: f"[{s:5d}.{us:06d} <{d:12.6f}>] "), KIND_DMESG),
    "dmesg -T -d": (_with_delta(lambda s, us, d: f"[{_ctime(s)} <{d:12.6f}>] "), KIND_DMESG),
    "dmesg -e": (_relative, KIND_DMESG),
    "/dev/kmsg": (_kmsg, KIND_DMESG),
    "dmesg --time-format iso": (
        _each(lambda s, us, c: f"{_at(s):%Y-%m-%dT%H:%M:%S},{us:06d}+01:00 "),
        KIND_DMESG,
    ),
    "journalctl -o short-monotonic": (
        _each(lambda s, us, c: f"[{s:5d}.{us:06d}] vm1 kernel: "),
        KIND_JOURNAL,
    ),
    "journalctl -o short-delta": (
        _with_delta(lambda s, us, d: f"[{s:5d}.{us:06d} <{d:12.6f}>] vm1 kernel: "),
        KIND_JOURNAL,
    ),
    "journalctl -o short-precise": (
        _each(lambda s, us, c: f"{_at(s):%b %d %H:%M:%S}.{us:06d} vm1 kernel: "),
        KIND_JOURNAL,
    ),
    "journalctl -o short-full": (
        _each(lambda s, us, c: f"{_at(s):%a %Y-%m-%d %H:%M:%S} UTC vm1 kernel: "),
        KIND_JOURNAL,
    ),
    "journalctl -o short-unix": (
        _each(lambda s, us, c: f"{1709546400 + s}.{us:06d} vm1 kernel: "),
        KIND_JOURNAL,
    ),
    "journalctl -o short-iso-precise": (
        _each(lambda s, us, c: f"{_at(s):%Y-%m-%dT%H:%M:%S}.{us:06d}+01:00 vm1 kernel: "),
        KIND_SYSLOG_RFC3339,
    ),
    "RFC 5424": (
        _each(lambda s, us, c: f"<4>1 {_at(s):%Y-%m-%dT%H:%M:%S}.{us:06d}+01:00 vm1 kernel - - - "),
        KIND_SYSLOG_RFC3339,
    ),
}


def _kind_and_title(path: Path) -> tuple[str, str | None]:
    [src] = [s for s in sources.walk([str(path)], DEFAULT_LIMITS) if isinstance(s, SourceFile)]
    crashes = pipeline.process_source(src, [], None, "all").crashes
    titles = [c.title for c in crashes if c.record == "crash"]
    return src.kind, titles[0] if titles else None


def _logs(step: int = 8) -> list[tuple[str, list[Record]]]:
    """Every `step`th syzkaller log with a crash and enough timestamped lines to tell a kind."""
    out = []
    for path in syzkaller_logs()[::step]:
        golden = read_golden(path)
        recs = _records(golden.log)
        if golden.title and len(recs) >= 20:
            out.append((f"{path.parent.parent.name}/{path.name}", recs))
    return out


def test_every_form_gives_the_kind_and_title_of_plain_dmesg(tmp_path: Path) -> None:
    logs = _logs()
    assert len(logs) >= 30
    wrong, titled = [], 0
    for name, recs in logs:
        plain = tmp_path / "plain.log"
        plain.write_text("\n".join(FORMS["dmesg"][0](recs)) + "\n", errors="surrogateescape")
        _, want = _kind_and_title(plain)
        titled += want is not None
        # caller ids tell the crash stage which task printed each line, which the plain form
        # cannot: a form with them gives what the crash stage makes of raw `[ts] [T1] …` lines
        # (the path the corpus tests hold to syzkaller's answers), ids read from the text
        with_ids = _raw_title("\n".join(FORMS["dmesg, caller id"][0](recs)))
        for form, (render, kind) in FORMS.items():
            path = tmp_path / "form.log"
            path.write_text("\n".join(render(recs)) + "\n", errors="surrogateescape")
            got = _kind_and_title(path)
            expect = with_ids if "caller id" in form else want
            if got != (kind, expect):
                wrong.append((name, form, got, (kind, expect)))
    assert titled >= 0.9 * len(logs)  # the comparison is about real crashes
    assert wrong == []


def _raw_title(text: str) -> str | None:
    titles = [c.title for c in crashes_of(text) if c.record == "crash"]
    return titles[0] if titles else None


def test_messages_without_a_time_are_read_as_a_kernel_log_with_the_same_crash(
    tmp_path: Path,
) -> None:
    """`dmesg -t`, and the kernels of RHEL 4 and 5, which print no time: only the messages.
    Many are a driver's or subsystem's (`binder: …`, `PM: …`) or lockdep's held locks, which
    count once there is other kernel evidence; each log must be read as a kernel log (console
    or dmesg, which parse alike) and give the plain form's first crash. All of them: few are
    made mostly of such lines."""
    logs = _logs(step=1)
    assert len(logs) >= 300  # the corpus as it is: a test over few logs would prove little
    wrong = []
    for name, recs in logs:
        plain = tmp_path / "plain.log"
        plain.write_text("\n".join(FORMS["dmesg"][0](recs)) + "\n", errors="surrogateescape")
        _, want = _kind_and_title(plain)
        bare = tmp_path / "bare.log"
        bare.write_text("\n".join(text for *_, text in recs) + "\n", errors="surrogateescape")
        kind, title = _kind_and_title(bare)
        if kind not in (KIND_DMESG, KIND_CONSOLE) or title != want:
            wrong.append((name, kind, title, want))
    assert wrong == []
