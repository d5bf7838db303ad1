"""Admin for rooms: participants inline, the last message, a read-only transcript.
Assignment and the lead link go through rooms.services, as the API's do, so their events
reach the inbox and a room keeps at most one assigned agent."""

from django import forms
from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html, format_html_join

from boztell.errors import BoztellError
from boztell.models import User
from rooms.models import Label, Room, RoomNote, RoomParticipant
from rooms.services import room_assign, room_lead_set, room_unassign

TRANSCRIPT_LIMIT = 200


class RoomParticipantInline(admin.TabularInline):
    """Who is on the room, read-only: assignment changes through the room form's "Assign
    to" field and the "Unassign" action (rooms.services)."""

    model = RoomParticipant
    fk_name = "room"
    extra = 0
    fields = ("user", "is_assigned", "assigned_at", "assigned_by", "last_read_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RoomAdminForm(forms.ModelForm):
    assign_to = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text="Make this user the room's one assigned agent (everyone hears it).",
    )
    unassign = forms.BooleanField(
        required=False, help_text="Put the room back in the unassigned queue."
    )

    class Meta:
        model = Room
        fields = ("title", "lead")

    def clean(self):
        data = super().clean()
        if data.get("assign_to") and data.get("unassign"):
            raise forms.ValidationError("Assign or unassign, not both.")
        return data


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "phone",
        "username",
        "lead",
        "last_message_preview",
        "last_message_type",
        "last_message_at",
        "message_count",
    )
    search_fields = ("phone", "user_id", "username", "title", "lead__name")
    list_select_related = ("lead",)
    readonly_fields = (
        "id",
        "phone",
        "user_id",
        "username",
        "last_message_text",
        "last_message_type",
        "last_message_at",
        "last_customer_message_at",
        "message_count",
        "created_at",
        "updated_at",
        "transcript",
    )
    form = RoomAdminForm
    fields = (
        "id",
        "phone",
        "user_id",
        "username",
        "title",
        "lead",
        "assign_to",
        "unassign",
        *readonly_fields[4:],
    )
    autocomplete_fields = ("lead",)
    inlines = [RoomParticipantInline]
    actions = ["unassign_rooms"]

    def save_model(self, request, obj, form, change):
        """A lead picked here, and an assignment, go through the services the API uses:
        their events reach the inbox."""
        super().save_model(request, obj, form, change)
        if change and "lead" in form.changed_data and obj.lead is not None:
            room_lead_set(room=obj, lead=obj.lead, by=request.user)
        try:
            if form.cleaned_data.get("assign_to"):
                room_assign(room=obj, agent=form.cleaned_data["assign_to"], by=request.user)
            elif form.cleaned_data.get("unassign"):
                room_unassign(room=obj, by=request.user)
        except BoztellError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="Unassign the selected rooms (back to the unassigned queue)")
    def unassign_rooms(self, request, queryset):
        for room in queryset:
            room_unassign(room=room, by=request.user)
        self.message_user(request, f"{queryset.count()} room(s) unassigned.", messages.SUCCESS)

    def has_add_permission(self, request):
        # Rooms come from customers' messages and agents' sends, never by hand.
        return False

    @admin.display(description="Last message")
    def last_message_preview(self, obj):
        return truncatechars(obj.last_message_text or "", 60)

    @admin.display(description=f"Transcript (latest {TRANSCRIPT_LIMIT})")
    def transcript(self, obj):
        messages = list(
            obj.messages.select_related("user").order_by("-created_at", "-id")[:TRANSCRIPT_LIMIT]
        )
        if not messages:
            return "No messages yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M"),
                    m.user.name if m.user else "Customer",
                    m.content_type,
                    m.content_text or "",
                    m.status or "",
                )
                for m in reversed(messages)
            ),
        )
        return format_html(
            "<table><thead><tr><th>Time</th><th>From</th><th>Type</th><th>Text</th>"
            "<th>Status</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """Supervisors define the labels agents put on rooms (PUT /rooms/{id}/labels)."""

    list_display = ("name", "colour", "rooms_count", "created_at")
    search_fields = ("name",)
    fields = ("name", "colour")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(rooms_total=Count("room_labels"))

    @admin.display(description="Rooms", ordering="rooms_total")
    def rooms_count(self, obj):
        return obj.rooms_total


@admin.register(RoomNote)
class RoomNoteAdmin(admin.ModelAdmin):
    """Private notes, read-only: agents write them in the inbox (POST /rooms/{id}/notes)."""

    list_display = ("created_at", "room", "author", "short_text")
    list_select_related = ("room", "room__lead", "author")
    search_fields = ("text", "author__username", "room__phone", "room__title")
    readonly_fields = ("room", "author", "text", "mentions", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Note")
    def short_text(self, obj):
        return truncatechars(obj.text, 80)
