"""atheris target: the matcher (`triage.match.evaluate`, built-in signatures) on the context
built from fuzzed lines (parse → boots → crashes → evaluate, as the pipeline does).

Run by hand: python tests/security/fuzz_match.py -atheris_runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    import atheris

    sys.path[:0] = [str(Path(__file__).resolve().parent)]
    with atheris.instrument_imports():
        from security_helpers import SEED_LINES, XFS_OOPS

        from triage import crashes, kernel, match, parsers
        from triage.model import SourceFile

    sigset = match.load_signatures()
    src = SourceFile(disk_path="", path="fz.log", kind="console")
    sid = src.source_id

    def one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        parts = []
        for _ in range(fdp.ConsumeIntInRange(0, 40)):
            if fdp.ConsumeBool():
                parts.append(SEED_LINES[fdp.ConsumeIntInRange(0, len(SEED_LINES) - 1)])
            else:
                parts.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)))
        body = b"\n".join(parts)
        if fdp.ConsumeBool():
            body = XFS_OOPS + body
        lines = parsers.parse(src, body).lines
        boots, ids = kernel.segment_boots(lines, sid)
        lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", ids)
        ctx = match.SourceContext(
            source=src, lines=lines, boots=boots, crashes=crashes.extract(lines, sid, boots)
        )
        _, errors = match.evaluate(sigset, ctx)
        assert not errors, [e.message for e in errors]

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
