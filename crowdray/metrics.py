"""GET /metrics (CROWDRAY_METRICS_PATH) in Prometheus format, for addresses on an allow-list.

The counters of django-prometheus and api.metrics, plus each follower
consumer's lag, read at scrape time.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.problems import problem_response
from follow.follower import status


class FollowerLag(Collector):
    """Each follower consumer's rows not yet done and the age of the oldest, at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily(
            "crowdray_follower_lag_rows", "Rows not yet folded in", labels=["consumer"]
        )
        seconds = GaugeMetricFamily(
            "crowdray_follower_lag_seconds",
            "Age of the oldest row not yet folded in",
            labels=["consumer"],
        )
        for name, lag in status().items():
            rows.add_metric([name], lag["rows"])
            seconds.add_metric([name], lag["seconds"])
        yield rows
        yield seconds


LAG = FollowerLag()


def _registry() -> prometheus_client.CollectorRegistry:
    """Every worker's counts (multiprocess), or this process's, plus the follower's lag."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(LAG)
        return registry
    if LAG not in prometheus_client.REGISTRY._collector_to_names:
        prometheus_client.REGISTRY.register(LAG)
    return prometheus_client.REGISTRY


def _allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(net, strict=False) for net in settings.CROWDRAY_METRICS_ALLOW
    )


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        return problem_response("not_found", 404, f"no page at {request.path}")
    body = prometheus_client.generate_latest(_registry())
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
