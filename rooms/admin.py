"""Admin for rooms: participants inline, the last message, a read-only transcript.
Assignment and the lead link go through rooms.services, as the API's do, so their events
reach the inbox and a room keeps at most one assigned agent."""

from django import forms
from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from boztell.errors import BoztellError
from boztell.models import User
from rooms.models import (
    Label,
    Room,
    RoomActivity,
    RoomNote,
    RoomParticipant,
    RoutingRule,
    Team,
    TeamMembership,
)
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
class RoomAdmin(SimpleHistoryAdmin):
    list_display = (
        "__str__",
        "phone",
        "username",
        "lead",
        "last_message_preview",
        "last_message_type",
        "last_message_at",
        "message_count",
        "status",
        "team",
    )
    list_filter = ("status", "team")
    search_fields = ("phone", "user_id", "username", "title", "lead__name")
    list_select_related = ("lead",)
    readonly_fields = (
        "id",
        "phone",
        "user_id",
        "username",
        # Set through the services (REST, the inbox), so events and the timeline follow.
        "status",
        "snoozed_until",
        "team",
        "last_message_text",
        "last_message_type",
        "last_message_at",
        "last_customer_message_at",
        "message_count",
        "created_at",
        "updated_at",
        "timeline",
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
    history_list_display = ("status", "team", "lead")
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

    @admin.display(description=f"Timeline (latest {TRANSCRIPT_LIMIT})")
    def timeline(self, obj):
        """Who changed the room's status, assignment, team or lead, and when."""
        rows = list(
            RoomActivity.objects.filter(room=obj)
            .select_related("actor")
            .order_by("-id")[:TRANSCRIPT_LIMIT]
        )
        if not rows:
            return "Nothing yet."
        return format_html(
            "<table><thead><tr><th>Time</th><th>Who</th><th>What</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        a.actor.name if a.actor else a.data.get("by", "system"),
                        a.text,
                    )
                    for a in reversed(rows)
                ),
            ),
        )

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


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    fields = ("user", "capacity", "open_rooms")
    readonly_fields = ("capacity", "open_rooms")
    autocomplete_fields = ("user",)

    @admin.display(description="Capacity (edit on the user)")
    def capacity(self, obj):
        return obj.user.max_open_rooms if obj.pk else "-"

    @admin.display(description="Open rooms now")
    def open_rooms(self, obj):
        from rooms.assignment import open_room_counts

        return open_room_counts([obj.user_id]).get(str(obj.user_id), 0) if obj.pk else "-"


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    fields = ("position", "loan_type", "leads_status")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "mode", "is_default", "member_count", "waiting")
    list_editable = ("mode",)
    search_fields = ("name",)
    fields = ("name", "mode", "is_default")
    inlines = [TeamMembershipInline, RoutingRuleInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_members=Count("memberships"))

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj):
        return obj.n_members

    @admin.display(description="Waiting (queue)")
    def waiting(self, obj):
        from django.db.models import Exists, OuterRef

        from rooms.selectors import assigned_participants

        assigned = assigned_participants().filter(room=OuterRef("pk"))
        return (
            Room.objects.filter(team=obj, status=Room.Status.OPEN).exclude(Exists(assigned)).count()
        )

    def save_related(self, request, form, formsets, change):
        """Members who joined or left hear another set of rooms: their sockets are closed
        and reconnect with the new teams; the team's queue is handed out at once."""
        from boztell.models import User
        from boztell.services import user_access_changed
        from rooms.assignment import team_hand_out

        before = set(TeamMembership.objects.filter(team=form.instance).values_list("user_id"))
        super().save_related(request, form, formsets, change)
        after = set(TeamMembership.objects.filter(team=form.instance).values_list("user_id"))
        for user in User.objects.filter(pk__in=[u for (u,) in before ^ after]):
            user_access_changed(user=user)
        team_id = form.instance.pk
        from django.db import transaction

        transaction.on_commit(lambda: team_hand_out(team_id=team_id))


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "loan_type", "leads_status", "team")
    list_editable = ("loan_type", "leads_status", "team")
    list_display_links = ("position",)
    ordering = ("position", "id")


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
