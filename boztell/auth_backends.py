"""Authentication backend: supervisors hold every permission on Boztell's own models."""

from django.contrib.auth.backends import ModelBackend

SUPERVISOR_APP_LABELS = frozenset(
    {
        "boztell",
        "leads",
        "rooms",
        "messaging",
        "webhooks",
        "campaigns",
        "authtoken",
        "django_tasks_db",
        "replies",
        "hours",
    }
)
# django-axes: a supervisor unlocks an account by deleting its access attempts, and reads
# the login logs, but cannot erase the logs.
SUPERVISOR_EXTRA_PERMS = frozenset(
    {
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    }
)


def _is_supervisor(user) -> bool:
    return bool(user.is_active and getattr(user, "is_supervisor", False))


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None):
        if _is_supervisor(user_obj) and (
            perm.split(".", 1)[0] in SUPERVISOR_APP_LABELS or perm in SUPERVISOR_EXTRA_PERMS
        ):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if _is_supervisor(user_obj) and (
            app_label in SUPERVISOR_APP_LABELS
            or any(perm.startswith(f"{app_label}.") for perm in SUPERVISOR_EXTRA_PERMS)
        ):
            return True
        return super().has_module_perms(user_obj, app_label)
