"""Every signature's own samples, through the real pipeline (one test per signature), and the
xen-pv family against the AWS EC2 excerpts it was written from."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.batch.selftest import run_tests
from triage.match import load_signatures

SIGSET = load_signatures()
CORPUS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "awsdocs-ec2" / "extracted"
)


@pytest.mark.parametrize("sig_id", SIGSET.ids)
def test_signature_own_samples(sig_id):
    results = run_tests(SIGSET, [sig_id])
    assert results
    failed = [str(r) for r in results if not r.passed]
    assert not failed, "\n".join(failed)


#: corpus file → signatures that may explain it (12 and 13 hold the same excerpt)
CORPUS_EXPECT = {
    "01-MemoryOOM.txt": {"xen-pv/out-of-memory"},
    "02-MemoryMMU.txt": {"xen-pv/mmu-update-failed"},
    "05-KernelLoop.txt": {"xen-pv/modprobe-runaway-loop"},
    "07-KernelMissing.txt": {"xen-pv/missing-kernel-modules"},
    "08-KernelInvalid.txt": {"xen-pv/invalid-kernel"},
    "09-FilesystemFschk.txt": {"xen-pv/fsck-device-not-found"},
    "10-FilesystemGeneral.txt": {"xen-pv/mount-failed"},
    "11-FilesystemKernel.txt": {"xen-pv/vfs-unable-to-mount-root"},
    "12-FilesystemError.txt": {"xen-pv/root-device-mismatch", "xen-pv/xenbus-device-no-driver"},
    "13-FilesystemXenbus.txt": {"xen-pv/xenbus-device-no-driver"},
    "14-FilesystemCheck.txt": {"xen-pv/fsck-check-forced"},
    "15-FilesystemFschkDied.txt": {"xen-pv/fsck-died"},
    "16-OpSystemGrub.txt": {"xen-pv/grub-prompt"},
    "17-OpSystemBringing.txt": {"xen-pv/hardcoded-mac"},
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECT))
def test_xen_pv_on_aws_excerpts(name):
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file absent: {path}")
    from triage.batch.selftest import scan_path

    findings, _ = scan_path(str(path), SIGSET)
    got = {f.signature_id for f in findings if f.signature_id.startswith("xen-pv/")}
    assert got & CORPUS_EXPECT[name], f"{name}: got {sorted(got)}"
