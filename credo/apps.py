from django.apps import AppConfig


class CredoConfig(AppConfig):
    name = "credo"
    default_auto_field = "django.db.models.BigAutoField"
