"""The one place where ricsdk configures logging: called by the CLI and demos, never by library code.

Library modules only call ``structlog.get_logger(__name__)``. ``configure`` sets JSON (production) or console
rendering and a level, writing to stderr; ``reset`` restores structlog's defaults (for tests).
"""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure", "reset"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(*, json: bool = True, level: str = "info") -> None:
    """Render structlog events as JSON lines (or for a console) on stderr, from ``level`` up."""
    lvl = _LEVELS.get(level.lower())
    if lvl is None:
        raise ValueError(f"log level must be one of {sorted(_LEVELS)}, not {level!r}")
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        processors += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=False)]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def reset() -> None:
    structlog.reset_defaults()
