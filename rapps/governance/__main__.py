"""``python -m rapps.governance serve ...``: the same command as ``ricsdk governance serve``."""

from __future__ import annotations

from ricsdk.cli.governance import governance

if __name__ == "__main__":
    governance(prog_name="python -m rapps.governance")
