"""GET /metrics (CROWDRAY_METRICS_PATH) in Prometheus format, for addresses on an allow-list.

django-prometheus counts requests, latencies and database calls; crowdray adds
the upload outcomes, database errors and the follower's lag (read at scrape
time). Under gunicorn every worker writes its counts to
PROMETHEUS_MULTIPROC_DIR (set by `crowdray serve`), and a scrape adds them up.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

UPLOADS = Counter(
    "crowdray_upload_items", "Uploaded items by kind (hits, blocks) and outcome",
    ["kind", "outcome"],
)  # fmt: skip
# Upload requests answered by ingest/fast.py; Django's request metrics do not see these.
FAST_UPLOADS = Counter("crowdray_fast_uploads", "Uploads answered without Django", ["kind"])
DATABASE_ERRORS = Counter("crowdray_database_errors", "Requests that found the database down")


class FollowerLag(Collector):
    """Each follower consumer's rows not yet done and the age of the oldest, at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ingest.follower import status

        rows = GaugeMetricFamily("crowdray_follower_lag_rows", "Rows not yet folded in",
                                 labels=["consumer"])  # fmt: skip
        seconds = GaugeMetricFamily(
            "crowdray_follower_lag_seconds", "Age of the oldest row not yet folded in",
            labels=["consumer"],
        )  # fmt: skip
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
    return any(ip in ipaddress.ip_network(net, strict=False)
               for net in settings.CROWDRAY_METRICS_ALLOW)  # fmt: skip


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        from crowdray.api_errors import problem_response  # it counts into this module

        return problem_response("not_found", 404, f"no page at {request.path}")
    body = prometheus_client.generate_latest(_registry())
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
