"""atheris target: the dump readers (`triage.dumps.read_dump`) on arbitrary bytes and on
mutations of every fixture tests/dumpbuilder.py builds (ELF vmcore of three printk generations,
kdump-compressed, flattened, Xen dump-core).

Run by hand: python tests/security/fuzz_dumps.py -atheris_runs=100000
"""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path


def main() -> None:
    import atheris

    sys.path[:0] = [str(Path(__file__).resolve().parent)]
    with atheris.instrument_imports():
        from security_helpers import dump_fixtures, mutate

        from triage.dumps import read_dump
        from triage.model import SourceFile

    fixtures = list(dump_fixtures().values())
    src = SourceFile(disk_path="/fz/vmcore", path="vmcore")

    def one_input(data: bytes) -> None:
        if len(data) >= 5 and data[0] & 1:
            # a seeded mutation of a valid image reaches deep into the formats
            base = fixtures[data[1] % len(fixtures)]
            data = mutate(base, random.Random(data[2:]), 1 + data[1] % 24)
        r = read_dump(src, io.BytesIO(data))
        classes = [e.error_class for e in r.errors]
        assert "dump-invalid" not in classes, r.errors  # an unexpected exception inside

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
