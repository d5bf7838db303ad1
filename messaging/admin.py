"""Admin for messages: read-only, filtered by type, status and who wrote them."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.defaultfilters import truncatechars
from django.urls import path

from messaging.models import Message, MessageTemplate
from messaging.services.templates import template_sync
from messaging.whatsapp import GraphError


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


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "status", "category", "synced_at")
    list_filter = ("status", "category", "language")
    search_fields = ("name",)
    readonly_fields = (
        "meta_id",
        "name",
        "language",
        "status",
        "category",
        "components",
        "synced_at",
    )
    change_list_template = "admin/messaging/messagetemplate/change_list.html"
    actions = ["sync_from_whatsapp"]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="template-sync"),
            *super().get_urls(),
        ]

    def sync_view(self, request):
        if request.method == "POST":
            self._sync(request)
        return redirect("admin:messaging_messagetemplate_changelist")

    @admin.action(description="Sync all templates from WhatsApp")
    def sync_from_whatsapp(self, request, queryset):
        self._sync(request)

    def _sync(self, request):
        try:
            result = template_sync()
        except GraphError as exc:
            self.message_user(request, f"WhatsApp refused the sync: {exc.message}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Synced {result['total']} templates ({result['created']} new, "
            f"{result['removed']} removed).",
            messages.SUCCESS,
        )
