"""Crash-extraction accuracy on the external corpora, one function per corpus.

    python bench/corpus_accuracy.py              # every corpus found under ../shared/corpora
    python bench/corpus_accuracy.py --misses     # also list what disagrees

Each `score_<corpus>()` returns {metric: value}; `CORPORA` maps a corpus name to its function,
so a corpus is added by writing one function and one entry (satyr and abrt join here).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import helpers_crashes as h  # noqa: E402


def score_syzkaller(misses: bool = False) -> dict[str, object]:
    """Crash/no-crash, first title (TITLE or ALT) and CORRUPTED agreement on syzkaller's logs."""
    if not h.SYZKALLER.is_dir():
        return {"skipped": f"no corpus at {h.SYZKALLER}"}
    start = time.perf_counter()
    s = h.score_syzkaller()
    out: dict[str, object] = {
        "files": s.files,
        "crash agreement": f"{s.crash_rate:.1%} (floor 98%)",
        "title = TITLE or ALT": f"{s.title_rate:.1%} of {s.with_title} (floor 90%)",
        "CORRUPTED agreement": f"{s.corrupted_rate:.1%} (floor 90%)",
        "noise false positives": f"{len(s.noise_false_positives)} of {s.noise_files}",
        "seconds": round(time.perf_counter() - start, 2),
    }
    if misses:
        out["title misses"] = [f"{n}: want {w!r} got {g!r}" for n, w, g in s.title_misses]
        out["corrupted misses"] = [f"{n}: want {w} ({r})" for n, w, r in s.corrupted_misses]
        out["crash misses"] = s.crash_misses + s.noise_false_positives
    return out


def score_satyr(misses: bool = False) -> dict[str, object]:
    """First and last function, and frame count within ±1, on satyr's single oopses."""
    import helpers_crashes_frames as hf

    if not (h.CORPORA / "satyr").is_dir():
        return {"skipped": "no satyr corpus"}
    n, ends_ok, count_ok, wrong = hf.score_satyr()
    out: dict[str, object] = {
        "files": n,
        "first and last function right": f"{ends_ok / n:.1%} (floor 90%)",
        "frame count within ±1": f"{count_ok / n:.1%} (floor 90%)",
    }
    if misses:
        out["misses"] = [f"{f}: first {a!r} last {b!r} frames {c}" for f, a, b, c, _ in wrong]
    return out


def score_abrt(misses: bool = False) -> dict[str, object]:
    """Exact oops counts on abrt's keyed examples (release, taint and pairs: tests)."""
    import helpers_crashes_frames as hf

    if not (h.CORPORA / "abrt").is_dir():
        return {"skipped": "no abrt corpus"}
    n, good, wrong = hf.score_abrt_counts()
    out: dict[str, object] = {"files": n, "oops count exact": f"{good / n:.1%} (floor 95%)"}
    if misses:
        out["misses"] = [f"{f}: got {g}, abrt {w}" for f, g, w in wrong]
    return out


CORPORA: dict[str, Callable[..., dict[str, object]]] = {
    "syzkaller": score_syzkaller,
    "satyr": score_satyr,
    "abrt": score_abrt,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list disagreements")
    parser.add_argument("--only", default="", help="comma-separated corpus names")
    args = parser.parse_args()
    wanted = [n for n in args.only.split(",") if n] or list(CORPORA)
    for name in wanted:
        print(f"== {name}")
        for key, value in CORPORA[name](misses=args.misses).items():
            if isinstance(value, list):
                print(f"  {key}:")
                for item in value:
                    print(f"    {item}")
            else:
                print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
