from django.urls import path

from crayfis import views

urlpatterns = [path("submit", views.Submit.as_view(), name="crayfis-submit")]
