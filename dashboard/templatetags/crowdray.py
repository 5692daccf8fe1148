"""Template filters for the public pages."""

from __future__ import annotations

from django import template

from dashboard import explain

register = template.Library()


@register.filter
def when(t_ns: int) -> str:
    """UTC epoch ns as '2026-11-22 23:37:50.712 UTC' (explain.when)."""
    return explain.when(int(t_ns))


@register.filter
def iso_when(iso: str) -> str:
    """An ISO 8601 UTC time ('...T...Z') in the pages' format."""
    return iso.replace("T", " ").replace("Z", " UTC")
