from django.urls import path

from ingest import views

urlpatterns = [
    path("devices", views.DeviceRegisterView.as_view(), name="devices"),
    path("hits", views.HitsView.as_view(), name="hits"),
    path("exposures", views.ExposuresView.as_view(), name="exposures"),
]
