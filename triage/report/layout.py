"""How the terminal table is laid out for where it goes: its width and its colours.

Apart from the renderer because the command line needs the same answer without it: a kept
table (report/cache.py) is served only to a destination it was laid out for, and deciding that
must not load the report's content model and its renderers.
"""

from __future__ import annotations

import os
from typing import TextIO

from rich.console import Console

DEFAULT_WIDTH = 100


def want_color(out: TextIO, color: bool | None) -> bool:
    """Colour only when asked, or by default when writing to a terminal and NO_COLOR is unset."""
    if color is not None:
        return color
    return _is_tty(out) and not os.environ.get("NO_COLOR")


def table_width(out: TextIO, width: int | None) -> int:
    """The width asked for, else the terminal's, else DEFAULT_WIDTH (a file, a pipe)."""
    if width is None and _is_tty(out):
        width = Console(file=out).width
    return width or DEFAULT_WIDTH


def make_console(out: TextIO, width: int | None, color: bool) -> Console:
    return Console(
        file=out,
        width=width or DEFAULT_WIDTH,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
        record=False,
    )


def table_key(out: TextIO, width: int | None = None, color: bool | None = None) -> str:
    """The name a table laid out for `out` is kept under: its width and colour system (which
    rich takes from the environment)."""
    import io

    colors = want_color(out, color)
    system = make_console(io.StringIO(), None, colors).color_system if colors else None
    return f"table-{table_width(out, width)}-{system or 'plain'}"


def _is_tty(out: TextIO) -> bool:
    return bool(getattr(out, "isatty", None) and out.isatty())
