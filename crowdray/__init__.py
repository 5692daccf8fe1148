"""crowdray: the Django project (settings, urls, wsgi) and the `crowdray` command."""
