"""The agents' inbox pages: the page is rendered once with its first data; everything
after that arrives over the WebSocket and the REST API (the same doors clients use)."""

from asgiref.sync import async_to_sync
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from boztell.models import Event, User
from boztell.presence import online_user_ids
from boztell.realtime import to_wire
from boztell.selectors import events_pruned_through
from inbox.selectors import room_list
from messaging.models import MessageTemplate
from rooms.payloads import room_row
from rooms.selectors import labels_all
from rooms.serializers import LabelSerializer


@require_GET
def home(request):
    return redirect("inbox" if request.user.is_authenticated else "login")


@login_required
@require_GET
def inbox(request, room_id=None):
    user = request.user
    # The inbox opens on its Open tab (static/inbox: state.status).
    rooms = room_list(user=user, status="open", limit=50)
    team = list(User.objects.filter(is_active=True).order_by("username"))
    try:
        online = {str(uid) for uid in async_to_sync(online_user_ids)([u.pk for u in team])}
    except Exception:  # presence is a nicety: the inbox works without it
        online = set()
    # Where this page's catch-up starts: the log's end, or (all of it pruned) the cursor
    # it was pruned through, which GET /events accepts.
    last_event = max(
        Event.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        events_pruned_through(),
    )
    boot = {
        "me": {
            "id": user.pk,
            "name": user.name,
            "username": user.username,
            "role": user.role,
            "is_supervisor": user.is_supervisor,
        },
        "rooms": [room_row(r, user=user) for r in rooms],
        "next_cursor": None,
        "room_id": room_id,
        "cursor": last_event,
        # The server's clock: the page times server deadlines (window_closes_at) by it.
        "server_time": timezone.now(),
        "templates": [
            {"name": t.name, "language": t.language, "components": t.components}
            for t in MessageTemplate.objects.filter(status=MessageTemplate.Status.APPROVED)
        ],
        "team": [
            {
                "id": u.pk,
                "name": u.name,
                "username": u.username,
                "role": u.role,
                "online": str(u.pk) in online,
            }
            for u in team
        ],
        # What the label editor and the room list's label filter offer (GET /rooms/labels).
        "labels": LabelSerializer.render_many(labels_all()),
    }
    return render(request, "inbox/inbox.html", {"boot": to_wire(boot)})
