"""The command registry lists every built-in command even before a message was routed."""

from __future__ import annotations

import subprocess
import sys

from chatbot.commands import COMMANDS, command, list_commands


def test_list_commands_registers_the_builtins_in_a_fresh_interpreter():
    # A fresh process: in this one another test may already have routed a command and filled COMMANDS.
    code = ("from chatbot.commands import COMMANDS, list_commands; before = len(COMMANDS); "
            "print(before, ' '.join(c.name for c in list_commands()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "0", "importing chatbot.commands alone registers nothing"
    assert out[1:] == ["forecast", "help", "image"]


def test_list_commands_is_sorted_and_includes_later_registrations():
    @command("zz-test", "시험용 명령어예요", "/zz-test 인자")
    def handler(args, bot, context):  # pragma: no cover - never run
        raise AssertionError

    try:
        listed = list_commands()
        names = [c.name for c in listed]
        assert names == sorted(names)
        assert {"help", "image", "forecast", "zz-test"} <= set(names)
        assert listed[names.index("zz-test")].usage == "/zz-test 인자"
    finally:
        del COMMANDS["zz-test"]
