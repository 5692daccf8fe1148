"""Query-string parameters shared by the API and the pages, parsed with clear errors.

Parsers raise QueryError ({parameter: message}); the API answers it with 400
(api.problems) and the pages show the messages next to the form.
"""

from __future__ import annotations

from typing import Any

from vocab.times import TimeFormatError, parse_time_ns


class QueryError(ValueError):
    """Bad query parameters: one message per parameter."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class CursorError(QueryError):
    """A page cursor this API did not give: no such page (404, as DRF's cursors answer)."""


def refuse_empty(params: Any) -> None:
    """In the API a parameter given is a parameter checked: `since=` is an error, not no bound.

    (The pages' forms send empty fields for "any"; they do not call this.)
    """
    errors = {name: "is empty; leave it out for no filter" for name in params if not params[name]}
    if errors:
        raise QueryError(errors)


def query_time_ns(value: str, name: str) -> int:
    """The query parameter `name`: an ISO 8601 time or integer UTC epoch nanoseconds."""
    try:
        return parse_time_ns(value)
    except TimeFormatError:
        raise QueryError({name: "must be an ISO 8601 time or UTC epoch nanoseconds"}) from None


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """min_lon,min_lat,max_lon,max_lat in degrees."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in value.split(","))
    except ValueError:
        raise QueryError(
            {"bbox": "must be four numbers: min_lon,min_lat,max_lon,max_lat"}
        ) from None
    if not (-90 <= min_lat <= max_lat <= 90):
        raise QueryError({"bbox": "latitudes must satisfy -90 <= min_lat <= max_lat <= 90"})
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise QueryError({"bbox": "longitudes must be between -180 and 180"})
    return min_lon, min_lat, max_lon, max_lat


ROW_FILTERS = ("since", "until", "bbox", "device")
PAGING = ("cursor", "page_size")


def check_params(params: Any, allowed: tuple[str, ...], max_page: int) -> None:
    """Refuse unknown and empty parameters, an empty time range and a bad page size, at once."""
    refuse_empty(params)
    errors = {
        name: f"unknown parameter; expected one of {', '.join(allowed)}"
        for name in params
        if name not in allowed
    }
    if "since" in params and "until" in params:
        try:
            if query_time_ns(params["until"], "until") <= query_time_ns(params["since"], "since"):
                errors["until"] = "must be after since"
        except QueryError as exc:
            errors |= exc.errors
    try:
        page_size(params, max_page, 1)
    except QueryError as exc:
        errors |= exc.errors
    if errors:
        raise QueryError(errors)


def page_size(params: Any, most: int, default: int) -> int:
    """The page_size parameter, 1 to `most`; `default` when it is not given."""
    if "page_size" not in params:
        return default
    size = str(params["page_size"])
    if not (size.isdigit() and 1 <= int(size) <= most):
        raise QueryError({"page_size": f"must be a whole number from 1 to {most}"})
    return int(size)
