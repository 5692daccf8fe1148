from django.apps import AppConfig


class FollowConfig(AppConfig):
    """The follower and its consumers; it owns no tables (every table is ingest's)."""

    name = "follow"
