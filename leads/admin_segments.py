"""The admin's segment editor: a saved filter over leads, with its live count."""

import re

from django import forms
from django.contrib import admin
from django.http import JsonResponse
from django.urls import path, reverse

from boztell.errors import BoztellError
from leads.models import ContactStatus, LeadStatus, Segment
from leads.selectors import lead_filters_clean, leads_matching

_OPS = {
    ">=": "gte",
    "<=": "lte",
    "!=": "ne",
    "=": "eq",
    ">": "gt",
    "<": "lt",
    "contains": "contains",
    "within next": "within_next_days",
    "within last": "within_last_days",
    "within": "within_next_days",
    "is set": "is_set",
    "is not set": "is_set",
}
_OP_WORDS = {v: k for k, v in reversed(_OPS.items())}
_CONDITION = re.compile(
    r"^\s*([A-Za-z0-9_]+)\s*(>=|<=|!=|=|>|<|contains|within next|within last|within|"
    r"is not set|is set)\s*(.*?)\s*(?:days?)?\s*$",
    re.IGNORECASE,
)


def parse_conditions(text: str) -> list[dict]:
    """`dpd >= 30`, `due_date within 7 days`, `branch = Jakarta`, one per line."""
    conditions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _CONDITION.match(line)
        if not match:
            raise forms.ValidationError(
                f"Line {number}: write a condition as 'dpd >= 30' or 'due_date within 7 days'."
            )
        key, word, value = match.groups()
        op = _OPS[word.lower()]
        if op == "is_set":
            value = "false" if "not" in word.lower() else "true"
        conditions.append({"key": key.lower(), "op": op, "value": value})
    return conditions


def format_conditions(conditions: list[dict]) -> str:
    lines = []
    for c in conditions or []:
        if c["op"] == "is_set":
            lines.append(f"{c['key']} {'is set' if c['value'] else 'is not set'}")
        elif c["op"] in ("within_next_days", "within_last_days"):
            lines.append(f"{c['key']} {_OP_WORDS[c['op']]} {c['value']} days")
        else:
            lines.append(f"{c['key']} {_OP_WORDS[c['op']]} {c['value']}")
    return "\n".join(lines)


class SegmentForm(forms.ModelForm):
    leads_status = forms.MultipleChoiceField(
        choices=LeadStatus.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    contact_status = forms.MultipleChoiceField(
        choices=ContactStatus.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    loan_type = forms.CharField(required=False, help_text="Any of these, comma-separated.")
    outstanding_min = forms.DecimalField(required=False, label="Outstanding at least (IDR)")
    outstanding_max = forms.DecimalField(required=False, label="Outstanding at most (IDR)")
    do_not_contact = forms.ChoiceField(
        choices=[("false", "Leave out do-not-contact leads"), ("", "Any"), ("true", "Only them")],
        required=False,
        initial="false",
        label="Do not contact",
    )
    last_customer_message_after = forms.DateField(
        required=False, help_text="The customer last wrote on or after this day (yyyy-mm-dd)."
    )
    last_customer_message_before = forms.DateField(
        required=False, help_text="The customer last wrote before this day."
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Attribute conditions",
        help_text="One per line: 'dpd >= 30', 'due_date within 7 days', 'due_date within "
        "last 30 days', 'installment > 1000000', 'branch = Jakarta', 'branch contains jak', "
        "'due_date is set'. Filters on room labels and teams come with those features "
        "(leads.selectors.register_lead_filter).",
    )

    FILTER_FIELDS = (
        "leads_status",
        "contact_status",
        "loan_type",
        "outstanding_min",
        "outstanding_max",
        "do_not_contact",
        "last_customer_message_after",
        "last_customer_message_before",
    )

    class Meta:
        model = Segment
        fields = ("name",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        filters = self.instance.filters if self.instance.pk else None
        if filters is not None:
            for name in self.FILTER_FIELDS:
                value = filters.get(name)
                if name == "loan_type" and value:
                    value = ", ".join(value)
                if name == "do_not_contact":
                    value = "" if value is None else str(value).lower()
                self.initial[name] = value
            self.initial["conditions"] = format_conditions(filters.get("attributes", []))

    def filters(self) -> dict:
        data = self.cleaned_data
        raw = {name: data.get(name) for name in self.FILTER_FIELDS}
        for name in ("last_customer_message_after", "last_customer_message_before"):
            raw[name] = raw[name].isoformat() if raw[name] else None
        for name in ("outstanding_min", "outstanding_max"):
            raw[name] = None if raw[name] is None else str(raw[name])
        raw["attributes"] = data.get("conditions_parsed") or []
        return lead_filters_clean({k: v for k, v in raw.items() if v not in (None, "", [])})

    def clean_conditions(self):
        self.cleaned_data["conditions_parsed"] = parse_conditions(
            self.cleaned_data.get("conditions", "")
        )
        return self.cleaned_data["conditions"]

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.instance.filters = self.filters()
            except BoztellError as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


class SegmentCountForm(SegmentForm):
    """The same fields without the name: the live count while editing."""

    class Meta:
        model = Segment
        fields = ()


class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ("name", "lead_count", "updated_at", "created_by")
    search_fields = ("name",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    change_form_template = "admin/leads/segment/change_form.html"

    class Media:
        js = ("leads/segment_count.js",)

    @admin.display(description="Leads now")
    def lead_count(self, obj):
        try:
            return leads_matching(lead_filters_clean(obj.filters or {})).count()
        except BoztellError as exc:
            return f"invalid: {exc.message}"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="leads_segment_count",
            ),
            *super().get_urls(),
        ]

    def count_view(self, request):
        form = SegmentCountForm(request.GET)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            return JsonResponse({"count": None, "error": " ".join(errors)}, status=400)
        return JsonResponse({"count": leads_matching(form.instance.filters).count()})

    def render_change_form(self, request, context, *args, **kwargs):
        context["segment_count_url"] = reverse("admin:leads_segment_count")
        obj = kwargs.get("obj")
        if obj is not None:
            context["segment_export_url"] = reverse("admin:leads_lead_export")
        return super().render_change_form(request, context, *args, **kwargs)
