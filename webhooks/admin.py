"""Queued webhook bodies (WEBHOOK_QUEUE=true): what waits, and what failed for good."""

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars

from webhooks.models import Delivery
from webhooks.services import delivery_retry


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting"), ("failed", "Failed for good")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(failed_at__isnull=True)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "received_at", "attempts", "failed_at", "error")
    list_filter = (StateFilter,)
    readonly_fields = ("id", "received_at", "attempts", "failed_at", "last_error", "body")
    actions = ["process_again"]

    @admin.display(description="last error")
    def error(self, obj):
        return truncatechars(obj.last_error, 80)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Process the selected bodies again")
    def process_again(self, request, queryset):
        count = delivery_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} bodies are back in the queue.", messages.SUCCESS)
