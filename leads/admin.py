"""Admin for leads: search by name or phone, filter by status and loan type."""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from boztell.phones import InvalidPhone, normalize_phone
from leads.models import Lead
from leads.selectors import format_idr


class LeadForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = (
            "name",
            "phone",
            "outstanding",
            "loan_type",
            "leads_status",
            "contact_status",
        )

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    """The History button lists who changed which field, when (django-simple-history)."""

    form = LeadForm
    list_display = (
        "name",
        "phone",
        "outstanding_idr",
        "loan_type",
        "leads_status",
        "contact_status",
        "updated_at",
    )
    search_fields = ("name", "phone")
    list_filter = ("leads_status", "contact_status", "loan_type")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("name",)

    @admin.display(description="Outstanding", ordering="outstanding")
    def outstanding_idr(self, obj):
        return format_idr(obj.outstanding)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = normalize_phone(search_term)
        except InvalidPhone:
            return queryset, may_have_duplicates
        return queryset | self.model.objects.filter(phone=phone), may_have_duplicates
