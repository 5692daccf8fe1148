from django.urls import path

from dashboard import api, search, views

urlpatterns = [
    path("", views.network, name="network"),
    path("showers/", views.showers, name="showers"),
    path("showers/<str:shower_id>/", views.shower, name="shower"),
    path("teams/", views.teams, name="teams"),
    path("about/", views.about, name="about"),
]

api_urlpatterns = [
    path("status", api.StatusView.as_view(), name="status"),
    path("cells", api.CellsView.as_view(), name="cells-api"),
    path("showers", api.ShowerListView.as_view(), name="showers-api"),
    path("showers/search", search.ShowerSearchView.as_view(), name="showers-search-api"),
    path("showers/<str:shower_id>", api.ShowerDetailView.as_view(), name="shower-api"),
]
