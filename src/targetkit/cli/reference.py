"""The CLI reference in the README, generated from `--help` (by cog) so it never drifts."""

from __future__ import annotations

import click


def cli_reference() -> str:
    """Markdown: one section per command with its --help text."""
    from targetkit.cli import main

    parts = []
    for name in ["", *sorted(main.commands)]:
        command = main if not name else main.commands[name]
        title = "targetkit" if not name else f"targetkit {name}"
        with click.Context(command, info_name=title, terminal_width=100) as context:
            text = command.get_help(context)
        parts.append(f"### `{title}`\n\n```\n{text}\n```\n")
    return "\n" + "\n".join(parts)
