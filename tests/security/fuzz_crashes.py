"""atheris target: the crash extractor (`triage.crashes.extract_text`) on arbitrary text.

Run by hand: python tests/security/fuzz_crashes.py -atheris_runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    import atheris

    sys.path[:0] = [str(Path(__file__).resolve().parent)]
    with atheris.instrument_imports():
        from security_helpers import XFS_OOPS

        from triage import crashes

    def one_input(data: bytes) -> None:
        # half the inputs are spliced into a real oops so the report paths are exercised
        if data[:1] == b"\x01":
            half = len(XFS_OOPS) // 2
            data = XFS_OOPS[:half] + data[1:] + XFS_OOPS[half:]
        for c in crashes.extract_text(data.decode("utf-8", "surrogateescape"), source_id="fz"):
            assert c.first_line <= c.last_line

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
