"""Admin for messages: read-only, filtered by type, status and who wrote them."""

from django.contrib import admin
from django.template.defaultfilters import truncatechars

from messaging.models import Message


class AuthorFilter(admin.SimpleListFilter):
    title = "from"
    parameter_name = "from"

    def lookups(self, request, model_admin):
        return (("customer", "Customer"), ("agent", "Agent"))

    def queryset(self, request, queryset):
        if self.value() == "customer":
            return queryset.filter(user__isnull=True)
        if self.value() == "agent":
            return queryset.filter(user__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "room", "author", "content_type", "preview", "status")
    list_filter = ("content_type", "status", AuthorFilter)
    search_fields = ("wa_message_id", "content_text", "room__phone")
    list_select_related = ("room", "user")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="From")
    def author(self, obj):
        return obj.user.name if obj.user else "Customer"

    @admin.display(description="Text")
    def preview(self, obj):
        return truncatechars(obj.content_text or "", 80)
