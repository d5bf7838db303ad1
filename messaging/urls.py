"""The /messages/... API."""

from django.urls import path

from messaging import views

urlpatterns = [
    path("<uuid:message_id>/media", views.MessageMediaApi.as_view(), name="message-media"),
]
