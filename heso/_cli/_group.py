"""A click group that answers a mistyped command with the closest one, in one line."""

from __future__ import annotations

import difflib

import click

__all__ = ["SuggestingGroup"]


class SuggestingGroup(click.Group):
    """A group that suggests the closest command for a typo."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = (
                f"; did you mean `{close[0]}`?" if close else f"; see `{ctx.command_path} --help`"
            )
            raise click.UsageError(f"no such command `{name}`{hint}", ctx)
        return super().resolve_command(ctx, args)
