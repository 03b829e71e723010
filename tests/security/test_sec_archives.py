"""Archive attacks through the CLI: each hostile member is an errors row, the run completes,
good files beside (and inside) the hostile archives keep their rows, and nothing is written
outside the output folder."""

from __future__ import annotations

import bz2
import io
import lzma
import os
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers_sources import DMESG_HEAD, SYSLOG, tar_bytes, write, zip_bytes
from security_helpers import XFS_OOPS, tree_snapshot
from typer.testing import CliRunner

import triage
from triage.cli import app

BOMB = 16 * 1024 * 1024  # inflated size of each bomb; the ratio floor is lowered to 1 MiB
#: and the file cap to 12 MiB, under a bomb's size (a tar member whose header states a size
#: within the caps is bounded by them, not by the ratio: a kdump tarball's vmcore) and over
#: what a loose bomb inflates before the ratio stops it (9.4 MiB for messages.gz)
LIMITS = ["--limit", "ratio_floor_bytes=1048576", "--limit", "max_members=10000"]
LIMITS += ["--limit", "max_file_bytes=12582912"]
EVIL_NAMES = ("sec-evil-traversal", "sec-evil-abs", "sec-evil-win", "sec-evil-zip")


def _zeros_gzip(n: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(_log_flood(n)) + comp.flush()


def _log_flood(n: int) -> bytes:
    """n bytes of one syslog line: a log (so it is read, not skipped) that inflates ~1000x."""
    line = b"Mar  4 10:00:01 web07 kernel: flood\n"
    return SYSLOG + line * (n // len(line))


def _tar_with_many_members(n: int) -> bytes:
    """n empty members, built from one header template (fast: no tarfile per member)."""
    template = tarfile.TarInfo("m/000000.log")
    template.mtime = 0
    head = bytearray(template.tobuf(format=tarfile.USTAR_FORMAT))
    name_at = head.index(b"000000.log")
    out = io.BytesIO()
    for i in range(n):
        h = bytearray(head)
        h[name_at : name_at + 6] = b"%06d" % i
        h[148:156] = b"        "
        h[148:155] = b"%06o\0" % sum(h)
        out.write(h)
    out.write(b"\0" * 1024)
    return out.getvalue()


def _overlapping_zip() -> bytes:
    data = bytearray(zip_bytes({"a.log": SYSLOG * 50, "b.log": SYSLOG * 50}))
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 42 : cd + 46] = (0).to_bytes(4, "little")  # b.log's local header := a.log's
    return bytes(data)


def _selfish_tar() -> bytes:
    stamp = 1709546400  # one mtime for both: the inner copy must equal the outer head
    files = {"etc/hostname": b"web07\n" * 200, "var/log/messages": SYSLOG}
    first = tar_bytes(files, mtime=stamp)
    body = first[: first.index(b"\0" * 1024, 2048)]
    return tar_bytes({**files, "b.tar": body}, mtime=stamp)


def _nested(levels: int) -> bytes:
    data = tar_bytes({"deep/messages": SYSLOG})
    for level in range(levels):
        data = (
            zip_bytes({f"level{level}.zip": data})
            if level % 2
            else tar_bytes({f"level{level}.tar": data})
        )
    return data


def build_attacks(root: Path) -> dict[str, tuple[Path, set[str]]]:
    """Each hostile input (beside a good member where the format allows) and the error
    classes it must produce."""
    d = root / "in"
    fifo, dev, chr_ = (
        tarfile.TarInfo("dev/fifo"),
        tarfile.TarInfo("dev/sda"),
        tarfile.TarInfo("dev/mem"),
    )
    fifo.type, dev.type, chr_.type = tarfile.FIFOTYPE, tarfile.BLKTYPE, tarfile.CHRTYPE
    traversal = [
        tarfile.TarInfo(n)
        for n in ("../../" + EVIL_NAMES[0], "/tmp/" + EVIL_NAMES[1], "..\\..\\" + EVIL_NAMES[2])
    ]
    for ti in traversal:
        ti.size = 0
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.log", SYSLOG)
        with zf.open("zeros.log", "w") as fh:
            fh.write(SYSLOG)
            for _ in range(BOMB // (4 << 20)):
                fh.write(bytes(4 << 20))
    cases = {
        "traversal.tar": (
            tar_bytes({"ok/messages": SYSLOG}, extra=traversal),
            {"path-traversal"},
        ),
        "traversal.zip": (
            zip_bytes({"../" + EVIL_NAMES[3]: SYSLOG, "ok.log": SYSLOG}),
            {"path-traversal"},
        ),
        "links.tar": (
            tar_bytes(
                {"logs/messages": SYSLOG},
                links={"logs/shadow": "/etc/shadow", "logs/up": "../../../etc/passwd"},
                hardlinks={"logs/hard": "../etc/passwd"},
            ),
            {"link-outside-bundle"},
        ),
        "devices.tar": (tar_bytes({"ok.log": SYSLOG}, extra=[fifo, dev, chr_]), {"special-file"}),
        "messages.gz": (_zeros_gzip(BOMB), {"decompression-bomb"}),
        "messages.xz": (lzma.compress(_log_flood(BOMB), preset=1), {"decompression-bomb"}),
        "messages.bz2": (bz2.compress(_log_flood(BOMB), 9), {"decompression-bomb"}),
        "bomb.zip": (zbuf.getvalue(), {"decompression-bomb"}),
        "bomb.tar.gz": (
            tar_bytes({"a/messages": SYSLOG, "b/zeros": bytes(BOMB)}, compression="gz"),
            {"decompression-bomb"},
        ),
        "overlap.zip": (_overlapping_zip(), {"bad-zip"}),
        "many.tar": (_tar_with_many_members(100_000), {"too-many-members"}),
        "backup.tar": (_selfish_tar(), {"archive-contains-itself"}),
        "nest.tar": (_nested(6), {"max-depth"}),
    }
    out = {name: (write(d / name, data), classes) for name, (data, classes) in cases.items()}
    out["good.log"] = (write(d / "good.log", XFS_OOPS), set())
    out["dmesg.txt"] = (write(d / "dmesg.txt", DMESG_HEAD), set())
    return out


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("attacks")
    cases = build_attacks(root)
    cwd = root / "cwd"
    cwd.mkdir()
    out = root / "ds"
    before = tree_snapshot(root)
    old = os.getcwd()
    os.chdir(cwd)  # a relative write would land here
    try:
        res = CliRunner().invoke(
            app, ["scan", str(root / "in"), "--out", str(out), "--format", "json", *LIMITS]
        )
    finally:
        os.chdir(old)
    after = tree_snapshot(root, exclude=out)
    return root, cases, res, before, after, triage.open_dataset(str(out))


def test_the_run_completes_with_findings(attacked) -> None:  # type: ignore[no-untyped-def]
    _, _, res, _, _, ds = attacked
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 1, res.output  # 1: a finding (the good oops), not 2
    assert "xen-rhel/xfs-panic" in set(ds.findings["signature_id"].astype(str))


@pytest.mark.parametrize(
    "name",
    [
        "traversal.tar",
        "traversal.zip",
        "links.tar",
        "devices.tar",
        "messages.gz",
        "messages.xz",
        "messages.bz2",
        "bomb.zip",
        "bomb.tar.gz",
        "overlap.zip",
        "many.tar",
        "backup.tar",
        "nest.tar",
    ],
)
def test_each_attack_is_an_errors_row(attacked, name: str) -> None:  # type: ignore[no-untyped-def]
    _, cases, _, _, _, ds = attacked
    _, classes = cases[name]
    errs = ds.errors
    # a loose compressed file in a folder shows as folder!name
    mine = errs[errs["path"].astype(str).str.contains(name, regex=False)]
    assert classes <= set(mine["error_class"].astype(str)), mine[["error_class", "message"]]
    assert all(name in str(m) and "\n" not in str(m) for m in mine["message"])


def test_nothing_is_lost(attacked) -> None:  # type: ignore[no-untyped-def]
    _, cases, _, _, _, ds = attacked
    src = ds.sources
    seen = {(str(b), str(p)) for b, p in zip(src["bundle"], src["path"], strict=True)}
    shown = set(src["display"].astype(str))

    def has(archive: str, member: str) -> bool:
        return (str(cases[archive][0]), member) in seen or any(
            s.endswith(f"{archive}!{member}") for s in shown
        )

    for archive, member in [
        ("traversal.tar", "ok/messages"),
        ("traversal.zip", "ok.log"),
        ("links.tar", "logs/messages"),
        ("devices.tar", "ok.log"),
        ("bomb.zip", "ok.log"),
        ("bomb.tar.gz", "a/messages"),
        ("backup.tar", "var/log/messages"),
    ]:
        assert has(archive, member), (archive, member)
    assert any(s.endswith("good.log") for s in shown) and any(
        s.endswith("dmesg.txt") for s in shown
    )
    # the good oops kept its crash and its lines
    assert (ds.crashes["record"].astype(str) == "crash").sum() >= 1
    many = src[src["display"].astype(str).str.contains("many.tar")]
    assert len(many) == 10_000  # listed up to the limit, the rest is one errors row


def test_nothing_written_outside_the_output_dir(attacked) -> None:  # type: ignore[no-untyped-def]
    root, _, _, before, after, _ = attacked
    assert after == before  # inputs untouched, cwd empty, no stray file beside them
    assert not any((root / "cwd").iterdir())
    for base in (root, root.parent, Path("/tmp"), Path.cwd()):
        for name in EVIL_NAMES:
            assert not (base / name).exists(), base / name
