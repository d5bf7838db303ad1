"""Authentication backend: supervisors hold every permission on Boztell's own models."""

from django.contrib.auth.backends import ModelBackend

SUPERVISOR_APP_LABELS = frozenset(
    {"boztell", "leads", "rooms", "messaging", "authtoken", "django_tasks_db"}
)


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None):
        if user_obj.is_active and getattr(user_obj, "is_supervisor", False):
            if perm.split(".", 1)[0] in SUPERVISOR_APP_LABELS:
                return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if user_obj.is_active and getattr(user_obj, "is_supervisor", False):
            if app_label in SUPERVISOR_APP_LABELS:
                return True
        return super().has_module_perms(user_obj, app_label)
