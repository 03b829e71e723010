"""Workaround prose → commands, and folding long commands without changing what the shell runs."""

from __future__ import annotations

import shlex

import pytest

from triage.report.steps import fold_command, split_steps

UUID = "0b6d4c51-7c1e-4a2e-9b53-5c1d8e0f2a11"


def test_bare_command_lines_prompts_indents_fences_and_code_spans() -> None:
    text = (
        "Lift the limit once the tools are installed:\n"
        f"xe vm-param-remove uuid={UUID} param-name=other-config param-key=machine-address-size\n"
        "Then check it:\n"
        "$ xe vm-param-get uuid=<vm_uuid> param-name=other-config\n"
        "    sysctl -w kernel.hung_task_timeout_secs=0\n"
        "```\n"
        "grubby --update-kernel=ALL --args=nohz=off\n"
        "```\n"
        "Or run `echo 1 > /proc/sys/kernel/sysrq` and press keys. Reboot afterwards."
    )
    steps = split_steps(text)
    kinds = [s.kind for s in steps]
    cmds = [s.text for s in steps if s.kind == "command"]
    assert cmds == [
        f"xe vm-param-remove uuid={UUID} param-name=other-config param-key=machine-address-size",
        "xe vm-param-get uuid=<vm_uuid> param-name=other-config",
        "sysctl -w kernel.hung_task_timeout_secs=0",
        "grubby --update-kernel=ALL --args=nohz=off",
        "echo 1 > /proc/sys/kernel/sysrq",
    ]
    assert kinds[0] == "text" and steps[0].text.startswith("Lift the limit")
    assert steps[-1] == type(steps[-1])("text", "and press keys. Reboot afterwards.")


def test_prose_that_starts_like_a_sentence_is_not_a_command() -> None:
    steps = split_steps("Mount xs-tools.iso and run the installer.\nReboot the guest.")
    assert [s.kind for s in steps] == ["text"]


def _as_shell_reads_it(lines: list[str]) -> list[str]:
    return shlex.split("\n".join(lines).replace("\\\n", ""))


@pytest.mark.parametrize(
    "cmd",
    [
        f"xe vm-param-remove uuid={UUID} param-name=other-config param-key=machine-address-size",
        'echo "kernel.hung_task_timeout_secs = 0   # set by triage" >> /etc/sysctl.conf',
        "grubby --update-kernel=/boot/vmlinuz-2.6.18-164.el5xen --args='nohz=off clocksource=jiffies'",
    ],
)
@pytest.mark.parametrize("width", [20, 40, 60, 96])
def test_folded_command_is_the_same_command(cmd: str, width: int) -> None:
    lines = fold_command(cmd, width)
    assert _as_shell_reads_it(lines) == shlex.split(cmd)
    for line in lines[:-1]:
        assert line.endswith(" \\")
    for line in lines:
        if len(line) > width:  # allowed only for a single word too long to fit anywhere
            assert len(shlex.split(line.removesuffix(" \\"))) == 1, line


def test_short_or_unbalanced_commands_are_left_alone() -> None:
    assert fold_command("xe vm-list", 100) == ["xe vm-list"]
    broken = "echo 'unbalanced quote " + "x " * 60
    assert fold_command(broken, 40) == [broken]
