from django.urls import path

from ingest import health, views

urlpatterns = [
    path("devices", views.DeviceRegisterView.as_view(), name="devices"),
    path("hits", views.HitsView.as_view(), name="hits"),
    path("health", health.HealthView.as_view(), name="health"),
    path("exposures", views.ExposuresView.as_view(), name="exposures"),
    path("showers/<str:shower_id>/hits", views.ShowerHitsView.as_view(), name="shower-hits"),
]
