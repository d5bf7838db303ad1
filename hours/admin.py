"""Supervisors set opening hours, closed dates and the away message here."""

from django.contrib import admin

from hours.models import AwayMessage, AwayMessageSent, BusinessHours, ClosedDate


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")
    list_filter = ("weekday",)


@admin.register(ClosedDate)
class ClosedDateAdmin(admin.ModelAdmin):
    list_display = ("date", "reason")
    date_hierarchy = "date"


@admin.register(AwayMessage)
class AwayMessageAdmin(admin.ModelAdmin):
    """One away message: add it once, then change it."""

    list_display = ("__str__", "enabled", "quiet_minutes", "updated_at")
    fields = ("enabled", "text", "quiet_minutes")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not AwayMessage.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AwayMessageSent)
class AwayMessageSentAdmin(admin.ModelAdmin):
    """Which rooms got the away message, for which closed period (read-only)."""

    list_display = ("created_at", "room", "period_start", "message")
    list_select_related = ("room", "room__lead", "message")
    readonly_fields = ("room", "period_start", "message", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
