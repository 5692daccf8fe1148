"""Settings, read from the environment once. Every variable is listed in .env.example.

Without DATABASE_URL the service runs on the embedded default: a SQLite file in
CROWDRAY_DATA_DIR, with a secret key generated once and kept there.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from crowdray import logs
from crowdray.datadir import SECRET_KEY_FILE, data_dir
from crowdray.env import env_bool, env_float, env_int, env_list, env_str
from follow.regions import Part
from vocab import limits
from vocab.shower import SENSOR_AREA_M2

# Lets classes the type checker sees as generic (ModelAdmin[Hit]) be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

_database_url = env_str("DATABASE_URL", "")
EMBEDDED = not _database_url


def _local_secret_key() -> str:
    """The embedded default's key, kept beside its database by `crowdray` (crowdray.datadir).

    Settings only read it: importing them writes nothing. A process that was not
    started through `crowdray` (a bare test run) gets a key of its own.
    """
    path = DATA_DIR / SECRET_KEY_FILE
    return path.read_text().strip() if path.exists() else secrets.token_urlsafe(50)


SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if EMBEDDED:
        SECRET_KEY = _local_secret_key()
    elif DEBUG:
        SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - DEBUG only, never in production
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL is set and DEBUG is off"
        )

MIN_SECRET_KEY_CHARS = 50
_weak_key = len(SECRET_KEY) < MIN_SECRET_KEY_CHARS or len(set(SECRET_KEY)) < 5
if _weak_key and not EMBEDDED and not DEBUG:
    raise ImproperlyConfigured(
        f"SECRET_KEY must be at least {MIN_SECRET_KEY_CHARS} random characters in production "
        "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

if EMBEDDED:
    _database_url = f"sqlite:///{DATA_DIR / 'crowdray.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ingest",
    "credo",
    "crayfis",
    "follow",
    "dashboard",
    "axes",
    "django_prometheus",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # it answers locked-out logins
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Prometheus metrics (api.metrics): the path, and who may read it.
CROWDRAY_METRICS_PATH = env_str("CROWDRAY_METRICS_PATH", "metrics").strip("/")
CROWDRAY_METRICS_ALLOW = env_list("CROWDRAY_METRICS_ALLOW", ["127.0.0.1/32", "::1/128"])

# The admin login: after CROWDRAY_LOGIN_FAILURES wrong passwords for one username
# from one address, that pair is locked out for CROWDRAY_LOGIN_COOLOFF_H hours.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CROWDRAY_LOGIN_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("CROWDRAY_LOGIN_COOLOFF_H", 1.0, minimum=0.01)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# Behind TLS (CROWDRAY_HTTPS=true): redirect http, HSTS, cookies sent only over
# https, and trust the proxy's X-Forwarded-Proto. Off by default so the embedded
# default works on http://127.0.0.1.
CROWDRAY_HTTPS = env_bool("CROWDRAY_HTTPS", False)
SECURE_SSL_REDIRECT = CROWDRAY_HTTPS
SECURE_HSTS_SECONDS = env_int("CROWDRAY_HSTS_SECONDS", 31_536_000) if CROWDRAY_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = CROWDRAY_HTTPS and env_bool("CROWDRAY_HSTS_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = CROWDRAY_HTTPS and env_bool("CROWDRAY_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = CROWDRAY_HTTPS
if CROWDRAY_HTTPS and env_bool("CROWDRAY_BEHIND_PROXY", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Every page and script comes from this server (the assets are vendored).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

ROOT_URLCONF = "crowdray.urls"
WSGI_APPLICATION = "crowdray.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Static files (vendored assets included) are served by WhiteNoise from the apps'
# folders, so `crowdray serve` needs no collectstatic step and no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Throttle counts, shared by every worker (ingest.throttle): in Redis when
# REDIS_URL is set (several machines), else in DATA_DIR/throttle.sqlite3.
REDIS_URL = env_str("REDIS_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "api.problems.handle",
    # The client address is X-Forwarded-For's entry this many proxies from the
    # right; 0 (the default) ignores the header, which any client can forge.
    "NUM_PROXIES": env_int("CROWDRAY_TRUSTED_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "crowdray API",
    "DESCRIPTION": "Upload API for volunteers' phones and read API for researchers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ingest.schema.live_examples",
    ],
}

# Upload limits (each configurable, see .env.example).
CROWDRAY_MAX_BATCH = env_int("CROWDRAY_MAX_BATCH", limits.MAX_BATCH, minimum=1)
CROWDRAY_MAX_BODY_BYTES = env_int("CROWDRAY_MAX_BODY_BYTES", limits.MAX_BODY_BYTES, minimum=1024)
# Seconds a request's body may take to arrive before a 408 (crowdray/asgi.py).
CROWDRAY_BODY_TIMEOUT_S = env_float("CROWDRAY_BODY_TIMEOUT_S", 10.0, minimum=0.1)
# Threads per serve worker that run Django (set by `crowdray serve --threads`).
CROWDRAY_THREADS = env_int("CROWDRAY_THREADS", 4, minimum=1)
# Good uploads skip Django's request machinery (ingest/fast.py); off sends every one through it.
CROWDRAY_FAST_UPLOADS = env_bool("CROWDRAY_FAST_UPLOADS", True)
CROWDRAY_MAX_AGE_S = env_int("CROWDRAY_MAX_AGE_S", limits.MAX_AGE_S, minimum=1)
CROWDRAY_MAX_FUTURE_S = env_int("CROWDRAY_MAX_FUTURE_S", limits.MAX_FUTURE_S)
CROWDRAY_REGISTER_RATE = env_str("CROWDRAY_REGISTER_RATE", "60/hour")
# The CRAYFIS app's upload (POST /submit) checks each body's Hash-code with this salt,
# the SECRET_SALT its build was made with; empty turns the endpoint off (404).
CROWDRAY_CRAYFIS_SALT = env_str("CROWDRAY_CRAYFIS_SALT", "")
CROWDRAY_HITS_PAGE_MAX = env_int("CROWDRAY_HITS_PAGE_MAX", 10000, minimum=1)
# Requests per client address to the public status API.
CROWDRAY_PUBLIC_RATE = env_str("CROWDRAY_PUBLIC_RATE", "600/minute")
# Seconds a device token is remembered after a lookup (a revoked device is refused after it).
CROWDRAY_TOKEN_CACHE_S = env_int("CROWDRAY_TOKEN_CACHE_S", 30)
# Hits one device counts per minute on the public counters, map and teams and in
# the live search (the rest are stored but not counted: a plausibility limit; the
# batch search's --max-hits-per-min has the same default).
CROWDRAY_MAX_HITS_PER_MIN = env_int("CROWDRAY_MAX_HITS_PER_MIN", limits.MAX_HITS_PER_MIN, minimum=1)
# Hits one device may send per UTC hour (0: no limit). A batch past it is refused
# with a 429 and Retry-After (the end of the hour), not stored and not counted.
CROWDRAY_DEVICE_HITS_PER_HOUR = env_int("CROWDRAY_DEVICE_HITS_PER_HOUR", 36_000)
# Distinct ~1 km cells one device may light on the public map per UTC hour (the
# first it reached); its hits elsewhere are stored and counted, not mapped.
CROWDRAY_MAX_CELLS_PER_HOUR = env_int("CROWDRAY_MAX_CELLS_PER_HOUR", 30, minimum=1)
# Longest exposure block accepted, in seconds.
CROWDRAY_MAX_BLOCK_S = env_int("CROWDRAY_MAX_BLOCK_S", limits.MAX_BLOCK_S, minimum=1)
# The follower: seconds between its looks for new rows (counters), and the lake export.
CROWDRAY_FOLLOW_INTERVAL_S = env_float("CROWDRAY_FOLLOW_INTERVAL_S", 1.0, minimum=0.05)
_lake = env_str("CROWDRAY_LAKE_DIR", "")
CROWDRAY_LAKE_DIR = Path(_lake).resolve() if _lake else None
CROWDRAY_EXPORT_INTERVAL_S = env_float("CROWDRAY_EXPORT_INTERVAL_S", 60.0, minimum=1.0)
# Days of hits and blocks PostgreSQL keeps (0: all). An older day leaves the
# database only once the follower's lake holds every row of it (follow.retention).
CROWDRAY_DB_RETENTION_DAYS = env_int("CROWDRAY_DB_RETENTION_DAYS", 0, minimum=0)
if CROWDRAY_DB_RETENTION_DAYS:
    # A dropped day must be older than anything an upload accepts: a retry of
    # its batch is then refused by the age check, never stored a second time.
    _least_days = -(-CROWDRAY_MAX_AGE_S // 86_400) + 1
    if "postgresql" not in DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("CROWDRAY_DB_RETENTION_DAYS needs PostgreSQL (DATABASE_URL)")
    if CROWDRAY_LAKE_DIR is None:
        raise ImproperlyConfigured(
            "CROWDRAY_DB_RETENTION_DAYS needs CROWDRAY_LAKE_DIR: a day leaves the database "
            "only once the follower's lake holds it"
        )
    if _least_days > CROWDRAY_DB_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"CROWDRAY_DB_RETENTION_DAYS={CROWDRAY_DB_RETENTION_DAYS} must be at least "
            f"{_least_days}: one day more than uploads may be old (CROWDRAY_MAX_AGE_S="
            f"{CROWDRAY_MAX_AGE_S})"
        )
# The live search (a consumer of the follower): seconds between passes (0: off),
# the trailing period its background rates are measured over, its threshold,
# and the phones' sensor area its energy fit assumes (docs/physics.md).
CROWDRAY_LIVE_INTERVAL_S = env_float("CROWDRAY_LIVE_INTERVAL_S", 15.0, minimum=0.0)
CROWDRAY_LIVE_RATE_WINDOW_S = env_float("CROWDRAY_LIVE_RATE_WINDOW_S", 3600.0, minimum=60.0)
CROWDRAY_LIVE_MIN_SIGMA = env_float("CROWDRAY_LIVE_MIN_SIGMA", 5.0, minimum=0.5)
# This process's part of the live search, k/n: the k-th of n longitude bands (follow.regions).
CROWDRAY_LIVE_PART = env_str("CROWDRAY_LIVE_PART", "1/1")
try:
    Part.parse(CROWDRAY_LIVE_PART)
except ValueError as _exc:
    raise ImproperlyConfigured(f"CROWDRAY_LIVE_PART={_exc}") from None
# The public pages count and list as showers only candidates at least this significant.
CROWDRAY_PUBLIC_MIN_SIGMA = env_float("CROWDRAY_PUBLIC_MIN_SIGMA", 5.0, minimum=0.0)
CROWDRAY_SENSOR_AREA_M2 = env_float("CROWDRAY_SENSOR_AREA_M2", SENSOR_AREA_M2, minimum=1e-9)
# Elasticsearch (optional): the search and aggregation layer. ELASTICSEARCH_COMPAT
# "plain-json" sends plain JSON media types, for OpenSearch-compatible servers.
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "")
ELASTICSEARCH_COMPAT = env_str("ELASTICSEARCH_COMPAT", "")
if ELASTICSEARCH_COMPAT not in ("", "plain-json"):
    raise ImproperlyConfigured(
        f"ELASTICSEARCH_COMPAT={ELASTICSEARCH_COMPAT!r}: expected empty or plain-json"
    )
CROWDRAY_INDEX_INTERVAL_S = env_float("CROWDRAY_INDEX_INTERVAL_S", 2.0, minimum=0.05)
# Seconds the public shower replies are reused (0: computed every time).
CROWDRAY_STATUS_CACHE_S = env_int("CROWDRAY_STATUS_CACHE_S", 5)
# Seconds between the follower's recomputations of the public status (0: per request).
CROWDRAY_STATUS_INTERVAL_S = env_float("CROWDRAY_STATUS_INTERVAL_S", 5.0)
# Seconds between the follower's recomputations of the teams page (0: per request).
CROWDRAY_TEAMS_INTERVAL_S = env_float("CROWDRAY_TEAMS_INTERVAL_S", 600.0)

for _name in ("CROWDRAY_REGISTER_RATE", "CROWDRAY_PUBLIC_RATE"):
    if not re.fullmatch(r"\d+/(second|minute|hour|day)", globals()[_name]):
        raise ImproperlyConfigured(
            f"{_name}={globals()[_name]!r}: expected N/second|minute|hour|day"
        )

# Django refuses larger bodies itself; ours answers 413 first with a clear message.
DATA_UPLOAD_MAX_MEMORY_SIZE = CROWDRAY_MAX_BODY_BYTES + 1

try:
    LOGGING = logs.django_config()
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
