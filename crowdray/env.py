"""Typed reads of environment variables that fail loudly on bad values."""

from __future__ import annotations

import os
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

N = TypeVar("N", int, float)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def _env_number(name: str, parse: type[N], expected: str, minimum: N) -> N | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {expected}") from None
    if not value >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum:g}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = _env_number(name, int, "an integer", minimum)
    return default if value is None else value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = _env_number(name, float, "a number", minimum)
    return default if value is None else value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]
