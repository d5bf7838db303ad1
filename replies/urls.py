"""The /quick-replies/ API."""

from django.urls import path

from replies import api

urlpatterns = [
    path("", api.QuickReplyListApi.as_view(), name="quick-reply-list"),
    path("<int:reply_id>/render", api.QuickReplyRenderApi.as_view(), name="quick-reply-render"),
]
