"""The /rooms/... API."""

from django.urls import path

from inbox import api

urlpatterns = [
    path("", api.RoomListApi.as_view(), name="room-list"),
    path("labels", api.LabelListApi.as_view(), name="label-list"),
    path("counts", api.RoomCountsApi.as_view(), name="room-counts"),
    path("<uuid:room_id>", api.RoomDetailApi.as_view(), name="room-detail"),
    path("<uuid:room_id>/messages", api.RoomMessagesApi.as_view(), name="room-messages"),
    path("<uuid:room_id>/assign", api.RoomAssignApi.as_view(), name="room-assign"),
    path("<uuid:room_id>/unassign", api.RoomUnassignApi.as_view(), name="room-unassign"),
    path("<uuid:room_id>/lead", api.RoomLeadApi.as_view(), name="room-lead"),
    path("<uuid:room_id>/status", api.RoomStatusApi.as_view(), name="room-status"),
    path("<uuid:room_id>/activity", api.RoomActivityApi.as_view(), name="room-activity"),
    path("<uuid:room_id>/labels", api.RoomLabelsApi.as_view(), name="room-labels"),
    path("<uuid:room_id>/notes", api.RoomNotesApi.as_view(), name="room-notes"),
]
