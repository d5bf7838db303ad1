"""The inbox pages and login."""

from django.contrib.auth import views as auth_views
from django.urls import path

from inbox import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", pages.inbox, name="inbox"),
    path("inbox/<uuid:room_id>", pages.inbox, name="inbox-room"),
]
