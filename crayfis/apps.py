from django.apps import AppConfig


class CrayfisConfig(AppConfig):
    name = "crayfis"
    verbose_name = "CRAYFIS app uploads"
