"""The help the CLI prints: every text as written, and flags without a type placeholder.

Typer renders help with Rich, which reads ``[...]`` in a help text as markup and drops it
(``Server URL [env METAGENX_SERVER; config file; …]`` printed as ``Server URL .``). The
command tree is walked once before it runs: each help text is escaped, so that it prints as
written, and on/off flags lose Typer's ``<bool>`` placeholder.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape


def complete_help(command: Any) -> Any:
    """Make ``command`` (a click command, as Typer builds it) and its subcommands print their help
    texts as written; returns it."""
    for text in ("help", "short_help", "epilog"):
        value = getattr(command, text, None)
        if value:
            setattr(command, text, escape(value))
    for param in command.params:
        if getattr(param, "help", None):
            param.help = escape(param.help)
        if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        complete_help(sub)
    make_help_option_plain(command)
    return command


def make_help_option_plain(command: Any) -> None:
    """Give ``--help`` (made by click when help is shown) no type placeholder either."""
    made = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = made(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
