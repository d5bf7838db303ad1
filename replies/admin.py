"""Supervisors keep the team's quick replies here."""

from django.contrib import admin
from django.template.defaultfilters import truncatechars

from replies.models import QuickReply
from replies.placeholders import placeholder_names


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    list_display = ("shortcut", "title", "short_text", "placeholders", "updated_at")
    search_fields = ("shortcut", "title", "text")
    fields = ("shortcut", "title", "text")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Text")
    def short_text(self, obj):
        return truncatechars(obj.text, 80)

    @admin.display(description="Placeholders")
    def placeholders(self, obj):
        return ", ".join(placeholder_names(obj.text))
