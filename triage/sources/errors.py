"""Failures while opening inputs, as exceptions that carry their `errors`-table class.

Inside the package an exception is the simplest way to abandon a member or an archive from deep
in a decompressor; the public functions catch `SourceError` and turn it into an `ErrorRecord`,
so the class name travels with the failure instead of being re-guessed from a message.
"""

from __future__ import annotations

from triage.model import ErrorRecord

STAGE = "sources"


class SourceError(OSError):
    """A named reason why one input, member or archive could not be (fully) read."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message

    def record(self, path: str, source_id: str = "") -> ErrorRecord:
        return make_error(path, self.error_class, self.message, source_id)


class DecompressionBomb(SourceError):
    def __init__(self, message: str) -> None:
        super().__init__("decompression-bomb", message)


def make_error(path: str, error_class: str, message: str, source_id: str = "") -> ErrorRecord:
    """One human line that names the file first, as the CLI prints it verbatim."""
    text = message if message.startswith(path) else f"{path}: {message}"
    return ErrorRecord(
        path=path,
        stage=STAGE,
        error_class=error_class,
        message=" ".join(text.split()),
        source_id=source_id,
    )
