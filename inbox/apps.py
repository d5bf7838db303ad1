from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The doors people use on rooms and their messages together: the rooms API
    (/rooms/...), the inbox page, and their reads (selectors.py). Above messaging: it
    imports rooms and messaging, and nothing below imports it."""

    name = "inbox"
    verbose_name = "Inbox"
