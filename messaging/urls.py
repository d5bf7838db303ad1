"""The /messages/... API: the seed's endpoints and the ones beside them."""

from django.urls import path

from messaging import api, views

urlpatterns = [
    path("send", api.SendTextApi.as_view(), name="message-send"),
    path("send-template", api.SendTemplateApi.as_view(), name="message-send-template"),
    path("send-media-combined", api.SendMediaApi.as_view(), name="message-send-media"),
    path("test", api.TestApi.as_view(), name="message-test"),
    path("react", api.ReactApi.as_view(), name="message-react"),
    path("mark-read", api.MarkReadApi.as_view(), name="message-mark-read"),
    path("search", api.MessageSearchApi.as_view(), name="message-search"),
    path("templates", api.TemplateListApi.as_view(), name="message-templates"),
    path("<uuid:message_id>/forward", api.ForwardApi.as_view(), name="message-forward"),
    path("<uuid:message_id>/retry", api.RetryApi.as_view(), name="message-retry"),
    path("<uuid:message_id>/media", views.MessageMediaApi.as_view(), name="message-media"),
]
