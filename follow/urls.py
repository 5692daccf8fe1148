from django.urls import path

from follow import health

urlpatterns = [
    path("health", health.HealthView.as_view(), name="health"),
]
