"""Logging, configured in one place: one line per event, with the figures an operator needs.

Django processes get it through settings.LOGGING; the Django-free commands
(coincidence, simulate) call configure(). Library code only ever does
`logging.getLogger(__name__)`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level() -> str:
    """LOG_LEVEL from the environment (default INFO), checked."""
    name = os.environ.get("LOG_LEVEL", "INFO").upper()
    if name not in logging.getLevelNamesMapping():
        raise ValueError(f"LOG_LEVEL={name!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return name


def django_config() -> dict[str, Any]:
    """settings.LOGGING: everything to stderr in FORMAT."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": FORMAT}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
        "root": {"handlers": ["console"], "level": level()},
    }


def configure() -> None:
    """For commands that run without Django."""
    logging.basicConfig(format=FORMAT, level=level())
