"""Resource limits applied to untrusted input, with documented defaults.

Bundles come from broken machines and occasionally from attackers; every cap here turns a
would-be exhaustion into an `errors` row. All are overridable (API argument, `--limit KEY=VALUE`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 64 * 1024  # longer lines are capped and flagged
    max_file_bytes: int = 4 * GiB  # uncompressed bytes read from one text member
    max_total_bytes: int = 64 * GiB  # uncompressed bytes read from one input path
    max_members: int = 200_000  # members listed in one archive
    max_depth: int = 4  # archives inside archives
    max_ratio: int = 200  # decompressed/compressed ratio above which a stream is a bomb,
    # not counting tar members whose header states a size within the two byte caps above
    ratio_floor_bytes: int = 64 * MiB  # the ratio check applies once this much was inflated
    max_seconds_per_file: float = 600.0
    regex_timeout: float = 1.0  # seconds per user-signature regex match

    def override(self, **kw: int | float) -> Limits:
        known = {f.name for f in fields(self)}
        bad = set(kw) - known
        if bad:
            raise ValueError(
                f"unknown limit(s): {', '.join(sorted(bad))}; known: {', '.join(sorted(known))}"
            )
        return replace(self, **kw)


DEFAULT_LIMITS = Limits()
