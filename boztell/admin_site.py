"""The admin site: the supervisors' UI. Only supervisors and superusers may enter."""

from django.contrib import admin


class SupervisorAdminSite(admin.AdminSite):
    site_header = "Boztell supervisor"
    site_title = "Boztell"
    index_title = "Run the team"

    def has_permission(self, request):
        user = request.user
        return bool(
            user.is_authenticated and user.is_active and getattr(user, "is_supervisor", False)
        )
