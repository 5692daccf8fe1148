from django.urls import path

from credo import views

urlpatterns = [
    path("user/register", views.Register.as_view()),
    path("user/login", views.Login.as_view()),
    path("user/info", views.Info.as_view()),
    path("user/id", views.UserId.as_view()),
    path("detection", views.Detections.as_view()),
    path("ping", views.Ping.as_view()),
]
