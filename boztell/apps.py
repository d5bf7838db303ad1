"""App configs for the core app and for the admin site the supervisors use."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BoztellConfig(AppConfig):
    name = "boztell"
    verbose_name = "Team"
    default_auto_field = "django.db.models.BigAutoField"


class BoztellAdminConfig(AdminConfig):
    default_site = "boztell.admin_site.SupervisorAdminSite"
