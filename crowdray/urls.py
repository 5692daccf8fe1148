from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crowdray.api_errors import problem_page
from dashboard.urls import api_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ingest.urls")),
    path("api/v1/", include(api_urlpatterns)),
    path("api/v2/", include("credo.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/problems/<slug:code>", problem_page, name="problem"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("dashboard.urls")),
]

handler404 = "dashboard.errors.not_found"
handler500 = "dashboard.errors.server_error"
