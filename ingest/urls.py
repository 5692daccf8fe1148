from django.urls import path

from ingest import views

urlpatterns = [
    path("devices", views.DeviceRegisterView.as_view(), name="devices"),
    path("hits", views.HitsView.as_view(), name="hits"),
    path("exposures", views.ExposuresView.as_view(), name="exposures"),
    path("showers/<str:shower_id>/hits", views.ShowerHitsView.as_view(), name="shower-hits"),
]
