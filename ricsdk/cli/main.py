"""The ``ricsdk`` command: one click group whose subcommand groups are imported when they are used.

Each area registers its group with one line in :data:`SUBCOMMANDS` (``name: "module:attribute"``); the module
is imported only when the group is invoked or listed in ``--help``, so ``ricsdk e2 ...`` never pays for the
imports of other areas and a broken optional dependency of one area does not take the others down.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["SUBCOMMANDS", "main"]

SUBCOMMANDS: dict[str, str] = {
    "e2": "ricsdk.cli.e2:e2",
    "governance": "ricsdk.cli.governance:governance",
    "lineage": "ricsdk.cli.lineage:lineage",
    "models": "ricsdk.cli.governance:models",
    "replay": "ricsdk.cli.trace:replay",
    "trace": "ricsdk.cli.trace:trace",
    "train": "ricsdk.cli.train:train",
    "xapp": "ricsdk.cli.xapp:xapp",
}


class _LazyGroup(click.Group):
    """A group that imports the commands named in :data:`SUBCOMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(SUBCOMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=_LazyGroup)
@click.version_option(package_name="ricsdk")
def main() -> None:
    """ricsdk: O-RAN xApp SDK and tools."""


if __name__ == "__main__":
    main()
