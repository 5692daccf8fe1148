"""The service's own Prometheus counters: upload outcomes and database errors.

django-prometheus counts requests, latencies and database calls; these add
what only crowdray knows. `GET /metrics` (crowdray.metrics) serves them with
the follower's lag. Under gunicorn every worker writes its counts to
PROMETHEUS_MULTIPROC_DIR (set by `crowdray serve`), and a scrape adds them up.
"""

from __future__ import annotations

from prometheus_client import Counter

UPLOADS = Counter(
    "crowdray_upload_items",
    "Uploaded items by kind (hits, blocks) and outcome",
    ["kind", "outcome"],
)
# Upload requests answered by ingest/fast.py; Django's request metrics do not see these.
FAST_UPLOADS = Counter("crowdray_fast_uploads", "Uploads answered without Django", ["kind"])
DATABASE_ERRORS = Counter("crowdray_database_errors", "Requests that found the database down")
