"""Split a signature's workaround prose into text and ready-to-paste shell commands.

Signature authors write workarounds as prose for people; the reports must nevertheless present
the commands so that an engineer can paste them into a shell as they are (no prompt, no box
characters, no quotes around them). A workaround marks a command in any of the usual ways:
a line starting with a `$ ` prompt, a line indented by four spaces or a tab, a fenced ``` block,
an inline `code span` — or simply a line that starts with a known administration command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: first words that make a bare line a command (case-sensitive: prose starts with a capital).
COMMAND_WORDS = frozenset(
    {
        "xe",
        "xl",
        "xm",
        "virsh",
        "echo",
        "sysctl",
        "grubby",
        "modprobe",
        "rmmod",
        "rpm",
        "yum",
        "dnf",
        "up2date",
        "mount",
        "umount",
        "sh",
        "bash",
        "reboot",
        "shutdown",
        "service",
        "systemctl",
        "chkconfig",
        "sed",
        "cat",
        "dmesg",
        "mkinitrd",
        "dracut",
        "sudo",
        "tee",
        "kill",
    }
)

_PROMPT = re.compile(r"^\s*\$\s+(?P<cmd>\S.*)$")
_INDENTED = re.compile(r"^(?: {4}|\t)(?P<cmd>\S.*)$")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Step:
    kind: str  # "text" | "command"
    text: str


def _looks_like_command(line: str) -> bool:
    word = line.strip().split(" ", 1)[0]
    return word in COMMAND_WORDS or (word.startswith(("/", "./")) and len(line.split()) <= 6)


def split_steps(workaround: str) -> list[Step]:
    """Cut `workaround` into ordered text and command steps; adjacent text lines are joined."""
    steps: list[Step] = []
    in_fence = False
    for raw in (workaround or "").replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if not line.strip():
            _add_text(steps, "")
            continue
        if in_fence:
            steps.append(Step("command", line.strip()))
            continue
        m = _PROMPT.match(line) or _INDENTED.match(line)
        if m:
            steps.append(Step("command", m.group("cmd").strip()))
        elif _looks_like_command(line) and not line.rstrip().endswith("."):
            steps.append(Step("command", line.strip()))
        else:
            _split_inline(steps, line.strip())
    return [s for s in steps if s.text or s.kind == "command"]


def _split_inline(steps: list[Step], line: str) -> None:
    """A prose line may carry commands in `code spans`: lift those that look like commands."""
    pos = 0
    for m in _CODE_SPAN.finditer(line):
        if not _looks_like_command(m.group(1)):
            continue
        before = line[pos : m.start()].strip()
        if before:
            _add_text(steps, before)
        steps.append(Step("command", m.group(1).strip()))
        pos = m.end()
    rest = line[pos:].strip()
    if rest and rest not in {".", ",", ":", ";"}:
        _add_text(steps, rest.lstrip(".,;: ") if pos else rest)


def _add_text(steps: list[Step], text: str) -> None:
    if steps and steps[-1].kind == "text":
        joined = f"{steps[-1].text} {text}".strip() if text else steps[-1].text
        if text:
            steps[-1] = Step("text", joined)
        return
    if text:
        steps.append(Step("text", text))


def commands(workaround: str) -> list[str]:
    return [s.text for s in split_steps(workaround) if s.kind == "command"]


def fold_command(cmd: str, width: int, indent: str = "  ") -> list[str]:
    """Break a long command into lines joined by ` \\` so it stays one pasteable command.

    Breaks happen only between shell words (never inside quotes), so the shell rebuilds exactly
    the original command; a single word longer than the width is left whole rather than cut.
    """
    if len(cmd) <= width:
        return [cmd]
    words = _raw_words(cmd)
    if words is None:
        return [cmd]
    lines: list[str] = []
    current = ""
    for word in words:
        prefix = indent if lines else ""
        candidate = f"{current} {word}" if current else f"{prefix}{word}"
        if current and len(candidate) + 2 > width:
            lines.append(current + " \\")
            current = f"{indent}{word}"
        else:
            current = candidate
    lines.append(current)
    return lines


def _raw_words(cmd: str) -> list[str] | None:
    """Split at unquoted whitespace, keeping each word's original quoting."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    escaped = False
    for ch in cmd:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\" and quote != "'":
            buf.append(ch)
            escaped = True
        elif quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            buf.append(ch)
            quote = ch
        elif ch.isspace():
            if buf:
                words.append("".join(buf))
                buf = []
        else:
            buf.append(ch)
    if quote or escaped:
        return None
    if buf:
        words.append("".join(buf))
    return words
