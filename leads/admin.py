"""Admin for leads' attributes, imports and segments. The leads' own page (search by name
or phone, filters, import, export) is inbox/admin.py: its saves link rooms and its export
carries the rooms' facts."""

from django.contrib import admin

from leads.admin_segments import SegmentAdmin
from leads.models import LeadAttribute, LeadImport, Segment


@admin.register(LeadAttribute)
class LeadAttributeAdmin(admin.ModelAdmin):
    """Attributes come from imports; a supervisor can rename their labels. The type is
    fixed once values are stored (changing it would misread them)."""

    list_display = ("key", "label", "type", "created_at")
    readonly_fields = ("key", "type", "created_at")
    search_fields = ("key", "label")

    def has_add_permission(self, request):
        return False


@admin.register(LeadImport)
class LeadImportAdmin(admin.ModelAdmin):
    list_display = ("original_name", "status", "rows_read", "counts", "created_by", "created_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in LeadImport._meta.fields]
    exclude = ("issues",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.shortcuts import redirect

        return redirect("admin:leads_lead_import_preview", object_id)


admin.site.register(Segment, SegmentAdmin)
