from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.problems import problem_page
from crowdray.metrics import metrics
from dashboard.urls import api_urlpatterns

# Swagger UI's page styles itself inline; its scripts are files (the split view), so the
# page needs only this exception to the site's Content-Security-Policy.
swagger = csp_update({"style-src": ["'self'", "'unsafe-inline'"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ingest.urls")),
    path("api/v1/", include("follow.urls")),
    path("api/v1/", include(api_urlpatterns)),
    path("api/v2/", include("credo.urls")),
    path("", include("crayfis.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/problems/<slug:code>", problem_page, name="problem"),
    path(f"{settings.CROWDRAY_METRICS_PATH}/", metrics, name="metrics"),
    path("api/docs/", swagger, name="api-docs"),
    path("", include("dashboard.urls")),
]

handler404 = "dashboard.errors.not_found"
handler500 = "dashboard.errors.server_error"
