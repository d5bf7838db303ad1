from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"
    verbose_name = "Quick replies"
    default_auto_field = "django.db.models.BigAutoField"
