"""atheris target: every parser (`triage.parsers.parse_bytes`, each kind) on arbitrary bytes.

Run by hand: python tests/security/fuzz_parsers.py -atheris_runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    import atheris

    sys.path[:0] = [str(Path(__file__).resolve().parent)]
    with atheris.instrument_imports():
        from security_helpers import PARSER_KINDS

        from triage import parsers

    def one_input(data: bytes) -> None:
        if not data:
            return
        kind = PARSER_KINDS[data[0] % len(PARSER_KINDS)]
        lines = parsers.parse_bytes(data[1:], kind=kind, source_id="fz")
        for text in lines.column("text").to_pylist():
            assert text is None or ("\x1b" not in text and "\x00" not in text), repr(text)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
